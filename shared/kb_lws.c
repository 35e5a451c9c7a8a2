/* kb_lws: accepting connections for an lws service loop (see kb_lws.h):
 * the listening socket watched as a raw file descriptor, the accept loop
 * with its admission, refusal slots, shedding and back-off, the
 * descriptor limit and budget, lws's logging into kb_log, and the
 * service loop until SIGTERM/SIGINT, and the static-file folder's path. */
#define _XOPEN_SOURCE 700 /* realpath */
#include "kb_lws.h"
#include "kb_util.h"

#include <ev.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* written at once, without lws, when even a polite refusal is too much */
static const char refusal_now[] = KB_NET_REFUSAL;

static void lws_logger(int level, const char *line)
{
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    enum kb_log_level l = level == LLL_ERR    ? KB_LOG_ERROR
                          : level == LLL_WARN ? KB_LOG_WARN
                                              : KB_LOG_DEBUG;
    KB_LOG(l, "lws: %.*s", (int)n, line);
}

void kb_lws_log_setup(enum kb_log_level log_level)
{
    int lws_levels = LLL_ERR | LLL_WARN;
    if (log_level >= KB_LOG_DEBUG)
        lws_levels |= LLL_NOTICE;
    lws_set_log_level(lws_levels, lws_logger);
}

void kb_lws_init(struct kb_lws *l, const struct kb_lws_ops *ops, const struct kb_net_config *nc,
                 long extra_fds)
{
    memset(l, 0, sizeof *l);
    l->ops = ops;
    l->lfd = -1;
    l->spare = -1;
    int in_use = kb_net_count_open_fds();
    long want = nc->max_open_files ? nc->max_open_files
                                   : (long)nc->max_connections + KB_NET_FD_RESERVE +
                                         (in_use > 0 ? in_use : 0) + extra_fds;
    long got = 0, hard = 0;
    if (kb_net_set_nofile(want, nc->max_open_files != 0, &got, &hard)) {
        kb_warn("cannot read RLIMIT_NOFILE; assuming 1024 descriptors");
        l->nofile = 1024;
        return;
    }
    l->nofile = got;
    if (got < want)
        kb_warn("RLIMIT_NOFILE: asked for %ld descriptors, got %ld (hard limit %ld)", want, got,
                hard);
    else
        kb_info("RLIMIT_NOFILE: %ld descriptors (asked for %ld)", got, want);
}

int kb_lws_listen(struct kb_lws *l, const char *host, int port, char *err, size_t errlen)
{
    if (kb_net_listen(host, port, &l->lfd, &l->port, err, errlen)) {
        l->lfd = -1;
        return -1;
    }
    return 0;
}

int kb_lws_start(struct kb_lws *l, void *user, int pt_serv_buf_size,
                 struct lws_context_creation_info *vh, const char *listen_protocol,
                 const struct kb_net_config *nc, char *err, size_t errlen)
{
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
    info.user = user;
    if (l->epoll) {
        /* a foreign loop: lws installs no signal watcher of its own, and
         * kb_lws_serve runs it */
        l->evloop = ev_loop_new(EVBACKEND_EPOLL);
        if (!l->evloop) {
            kb_seterr(err, errlen, "cannot create the libev loop (epoll)");
            return -1;
        }
        info.options |= LWS_SERVER_OPTION_LIBEV;
        info.foreign_loops = &l->evloop;
    }
    info.pt_serv_buf_size = (unsigned)pt_serv_buf_size;
    l->ctx = lws_create_context(&info); /* sizes its tables from RLIMIT_NOFILE */
    if (!l->ctx) {
        kb_seterr(err, errlen, "cannot create the libwebsockets context");
        return -1;
    }
    vh->port = CONTEXT_PORT_NO_LISTEN_SERVER;
    l->vh = lws_create_vhost(l->ctx, vh);
    if (!l->vh) {
        kb_seterr(err, errlen, "cannot create the libwebsockets vhost");
        return -1;
    }
    /* lws runs the vhost's protocol init (PROTOCOL_INIT, and the "default"
     * pvo that makes the WebSocket protocol the vhost's default) from a
     * timer it schedules at context creation. Its poll() loop runs that
     * timer before its first wait, but its libev loop only after a first
     * I/O event: a connection accepted on that event was bound to
     * protocols[0] and its frames were dropped. So it is done here, before
     * the listening socket is watched. */
    lws_state_manager_t *mgr = lws_system_get_state_manager(l->ctx);
    if (!mgr || lws_state_transition_steps(mgr, LWS_SYSTATE_OPERATIONAL) ||
        mgr->state != LWS_SYSTATE_OPERATIONAL) {
        kb_seterr(err, errlen, "cannot bring the libwebsockets context up (protocol init)");
        return -1;
    }
    lws_sock_file_fd_type lfd;
    lfd.filefd = l->lfd;
    l->lwsi = lws_adopt_descriptor_vhost(l->vh, LWS_ADOPT_RAW_FILE_DESC, lfd, listen_protocol,
                                         NULL);
    l->adopted = 1; /* adopted, or closed by lws on failure */
    if (!l->lwsi) {
        kb_seterr(err, errlen, "cannot watch the listening socket");
        return -1;
    }
    l->spare = kb_net_spare_open();
    /* what the descriptors leave for connections, now that the daemon
     * holds everything else it keeps open */
    int in_use = kb_net_count_open_fds();
    long budget = l->nofile - (in_use > 0 ? in_use : 64) - KB_NET_FD_RESERVE;
    if (budget < 1)
        budget = 1;
    if (budget > INT_MAX)
        budget = INT_MAX;
    l->admit = kb_admit_new(nc->max_connections, nc->max_per_address, (int)budget);
    l->ops->limits(nc->max_connections, nc->max_per_address, (int)budget, l->nofile);
    if (budget < nc->max_connections)
        kb_warn("the descriptor limit (%ld) leaves room for %ld connections, fewer than "
                "max_connections (%d): more are refused (no_fd)",
                l->nofile, budget, nc->max_connections);
    return 0;
}

void kb_lws_release(struct kb_lws *l, enum kb_refusal refused, const struct kb_addr *peer)
{
    if (refused) {
        l->refusing--;
        return;
    }
    kb_admit_release(l->admit, peer);
    l->ops->conn_open(kb_admit_open(l->admit));
}

/* A connection shed for lack of descriptors: counted, and logged for the
 * first and then every 1000th (not a line per refusal). */
static void count_no_fd(struct kb_lws *l)
{
    l->ops->refused(KB_REFUSE_NO_FD);
    if (l->no_fd++ % 1000 == 0)
        kb_warn("out of file descriptors: %llu connection(s) refused so far (see "
                "max_open_files)",
                l->no_fd);
}

/* Admits fd (accepted from peer) or refuses it, and hands it to the
 * daemon. */
static void admit(struct kb_lws *l, int fd, const struct kb_addr *peer)
{
    enum kb_refusal why = kb_admit_take(l->admit, peer);
    if (why) {
        l->ops->refused(why);
        if (l->refusing >= KB_LWS_REFUSING_MAX) {
            kb_net_refuse_now(fd, refusal_now, sizeof refusal_now - 1);
            return;
        }
        l->refusing++;
        if (KB_LOG_DEBUG <= kb_log_level) {
            char a[KB_ADDR_STRLEN];
            kb_addr_format(peer, a, sizeof a);
            kb_debug("refusing a connection from %s (%s)", a, kb_refusal_name(why));
        }
    } else {
        l->ops->conn_open(kb_admit_open(l->admit));
    }
    l->ops->adopt(l->ops->ud, fd, peer, why);
}

struct lws *kb_lws_adopt(struct kb_lws *l, int fd, int type, const char *protocol, void *opaque)
{
    lws_adopt_desc_t info;
    memset(&info, 0, sizeof info);
    info.vh = l->vh;
    info.type = (lws_adoption_type)type;
    info.fd.sockfd = fd;
    info.vh_prot_name = protocol;
    info.opaque = opaque;
    return lws_adopt_descriptor_vhost_via_info(&info);
}

static void accept_resume(lws_sorted_usec_list_t *sul)
{
    struct kb_lws *l = lws_container_of(sul, struct kb_lws, sul_backoff);
    if (l->spare < 0)
        l->spare = kb_net_spare_open();
    if (l->lwsi)
        lws_rx_flow_control(l->lwsi, 1);
}

/* Out of descriptors with nothing to shed with: stop polling the listening
 * socket for a while (doubling while it lasts), instead of spinning on it. */
static void accept_pause(struct kb_lws *l)
{
    l->backoff_ms = l->backoff_ms ? l->backoff_ms * 2 : KB_LWS_BACKOFF_MIN_MS;
    if (l->backoff_ms > KB_LWS_BACKOFF_MAX_MS)
        l->backoff_ms = KB_LWS_BACKOFF_MAX_MS;
    l->ops->accept_paused();
    if (l->backoff_ms == KB_LWS_BACKOFF_MIN_MS)
        kb_warn("out of file descriptors: accepting paused (see max_open_files)");
    lws_rx_flow_control(l->lwsi, 0);
    lws_sul_schedule(l->ctx, 0, &l->sul_backoff, accept_resume,
                     (lws_usec_t)l->backoff_ms * LWS_US_PER_MS);
}

static void accept_ready(struct kb_lws *l)
{
    for (int i = 0; i < KB_LWS_ACCEPT_BATCH; i++) {
        int fd;
        struct kb_addr peer;
        enum kb_accept_result r =
            kb_net_accept(l->lfd, &l->spare, refusal_now, sizeof refusal_now - 1, &fd, &peer);
        switch (r) {
        case KB_ACCEPT_OK:
            l->backoff_ms = 0;
            admit(l, fd, &peer);
            continue;
        case KB_ACCEPT_SHED:
            count_no_fd(l);
            continue;
        case KB_ACCEPT_AGAIN:
            return;
        case KB_ACCEPT_NOFD:
        case KB_ACCEPT_ERROR:
        default:
            accept_pause(l);
            return;
        }
    }
}

int kb_lws_listen_event(struct kb_lws *l, enum lws_callback_reasons reason)
{
    switch (reason) {
    case LWS_CALLBACK_RAW_RX_FILE:
        accept_ready(l);
        return 0;
    case LWS_CALLBACK_RAW_CLOSE_FILE:
        l->lwsi = NULL;
        return 0;
    default:
        return 0;
    }
}

void kb_lws_fin(struct kb_lws *l)
{
    if (l->ctx) {
        lws_sul_cancel(&l->sul_backoff);
        /* closes every connection (their CLOSED / RAW_CLOSE callbacks) and
         * the listening socket once lws adopted it */
        lws_context_destroy(l->ctx);
        l->ctx = NULL;
        l->vh = NULL;
    }
    if (l->evloop)
        ev_loop_destroy(l->evloop);
    l->evloop = NULL;
    if (!l->adopted && l->lfd >= 0)
        close(l->lfd);
    l->lfd = -1;
    if (l->spare >= 0)
        close(l->spare);
    l->spare = -1;
    kb_admit_free(l->admit);
    l->admit = NULL;
}

const char *kb_lws_metrics_forbidden(const struct kb_net_config *nc)
{
    return nc->metrics_access == KB_METRICS_TOKEN
               ? "/metrics is not served to this client without its token"
               : "/metrics is not served to this client";
}

/* the loop kb_lws_serve runs, for its signal handler */
static volatile sig_atomic_t serve_stop;
static struct lws_context *volatile serve_ctx;

/* Only sets the flag and writes to lws's wake-up pipe. */
static void on_signal(int sig)
{
    (void)sig;
    serve_stop = 1;
    struct lws_context *ctx = serve_ctx;
    if (ctx)
        lws_cancel_service(ctx);
}

/* lws 4.1's libev plugin re-arms its one timer with ev_timer_set on the
 * watcher while it is still armed, which libev ignores: a timer lws
 * schedules from an I/O callback (a connection's timeout, the accept
 * back-off) earlier than the one armed ran only when the armed one came
 * due (seconds later). Waking lws through its wake-up pipe makes it run
 * what is due after the wake-up; this does so every KB_LWS_NUDGE_S. */
#define KB_LWS_NUDGE_S 0.1
static void nudge(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    lws_cancel_service(w->data);
}

int kb_lws_serve(const char *host, struct kb_lws *l)
{
    serve_stop = 0;
    serve_ctx = l->ctx;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    int v6 = strchr(host, ':') != NULL;
    printf("listening on http://%s%s%s:%d\n", v6 ? "[" : "", host, v6 ? "]" : "", l->port);
    fflush(stdout);
    int rc = 0;
    if (l->evloop) {
        ev_timer nudger;
        ev_timer_init(&nudger, nudge, KB_LWS_NUDGE_S, KB_LWS_NUDGE_S);
        nudger.data = l->ctx;
        ev_timer_start(l->evloop, &nudger);
        while (!serve_stop) /* the wake-up pipe is one of its watchers */
            ev_run(l->evloop, EVRUN_ONCE);
        ev_timer_stop(l->evloop, &nudger);
    }
    while (!serve_stop)
        if (lws_service(l->ctx, 0) < 0) {
            kb_err("the service loop failed");
            rc = 1;
            break;
        }
    serve_ctx = NULL;
    return rc;
}

char *kb_lws_www_root(const char *www, const char *what, const char *without)
{
    char real[PATH_MAX];
    if (www && realpath(www, real))
        return kb_xstrdup(real);
    kb_warn("%s: %s is not there (%s)", what, www ? www : "(null)", without);
    return NULL;
}
