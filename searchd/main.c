/* searchd: the kbdesk search daemon. Options and config, the server (lws
 * context, workers), the service loop until SIGTERM/SIGINT, a clean
 * shutdown. See `searchd --help`. */
#include "config.h"
#include "http.h"
#include "kb_log.h"
#include "kb_util.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static volatile sig_atomic_t stop;
static sd_http *volatile server; /* for the signal handler */

/* Only sets the flag and writes to lws's wake-up pipe. */
static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
    sd_http *h = server;
    if (h)
        http_wake(h);
}

int main(int argc, char **argv)
{
    struct sd_config cfg;
    char err[KB_ERR_MAX];
    int rc = sd_config_load(&cfg, argc, argv, err, sizeof err);
    if (rc == 1)
        return 0;
    if (rc) {
        fprintf(stderr, "searchd: %s\n", err);
        return 2;
    }
    kb_log_setup("searchd", cfg.log_level);
    signal(SIGPIPE, SIG_IGN);

    sd_http *h;
    if (http_new(&cfg, &h, err, sizeof err)) {
        kb_err("%s", err);
        sd_config_fin(&cfg);
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    server = h;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    int v6 = strchr(cfg.host, ':') != NULL;
    printf("listening on http://%s%s%s:%d\n", v6 ? "[" : "", cfg.host, v6 ? "]" : "",
           http_port(h));
    fflush(stdout);
    kb_info("serving %s with %d worker threads", cfg.index, cfg.threads);

    rc = 0;
    while (!stop)
        if (http_service(h)) {
            kb_err("the service loop failed");
            rc = 1;
            break;
        }
    kb_info("shutting down");
    server = NULL;
    http_free(h);
    sd_config_fin(&cfg);
    return rc;
}
