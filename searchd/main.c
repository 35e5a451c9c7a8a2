/* searchd: the kbdesk search daemon. Options and config, the server (lws
 * context, workers), the service loop until SIGTERM/SIGINT, a clean
 * shutdown. See `searchd --help`. */
#include "config.h"
#include "http.h"
#include "kb_blockmap.h"
#include "kb_log.h"
#include "kb_lws.h"
#include "kb_util.h"

#include <signal.h>
#include <stdio.h>

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
    kb_blockmap_set(cfg.block_map); /* before the index is opened */

    sd_http *h;
    if (http_new(&cfg, &h, err, sizeof err)) {
        kb_err("%s", err);
        sd_config_fin(&cfg);
        return 1;
    }
    kb_info("serving %s with %d worker threads", cfg.index, cfg.threads);
    rc = kb_lws_serve(cfg.host, http_net(h));
    kb_info("shutting down");
    http_free(h);
    sd_config_fin(&cfg);
    return rc;
}
