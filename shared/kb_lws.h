/* kb_lws: the libwebsockets side of accepting connections, shared by both
 * daemons' transports (searchd/http.c, chatdesk/ws.c). A daemon listens
 * itself (kb_net_listen) and hands the listening socket to lws as a raw
 * file descriptor, so that accept() is ours: lws 4.1 only logs an
 * accept() failing with EMFILE and polls the still readable socket again,
 * spinning at 100% CPU. Each accepted connection is admitted against the
 * caps (kb_admit: in all, per client address, and what the descriptors
 * allow) and handed to the daemon's adopt hook, refused or not, so the
 * daemon can tell a refused client why (at most KB_LWS_REFUSING_MAX of
 * them at a time; beyond that KB_NET_REFUSAL is written at once and the
 * socket closed). Out of descriptors, kb_net_accept sheds waiting
 * connections with a spare descriptor, and if even that fails the
 * listening socket is left out of the poll set for a back-off period
 * (doubling from KB_LWS_BACKOFF_MIN_MS up to KB_LWS_BACKOFF_MAX_MS).
 * Also: RLIMIT_NOFILE raised at start, and lws's log lines routed into
 * kb_log, and the service loop until a signal. Everything here runs on the
 * lws service thread. */
#ifndef KB_LWS_H
#define KB_LWS_H

#include "kb_log.h"
#include "kb_net.h"

#include <libwebsockets.h>
#include <stddef.h>

#define KB_LWS_ACCEPT_BATCH 64     /* accepts per wake-up of the listening socket */
#define KB_LWS_REFUSING_MAX 32     /* refused connections being answered at one time */
#define KB_LWS_BACKOFF_MIN_MS 20   /* accept() paused for lack of descriptors: first pause */
#define KB_LWS_BACKOFF_MAX_MS 1000 /* ... doubling up to this */

/* What a daemon plugs in: its metrics and how it adopts a connection. */
struct kb_lws_ops {
    void *ud; /* handed to adopt */
    /* Hands fd (accepted from peer; refused: why, or KB_REFUSE_NONE) to
     * lws. The hook owns fd. When the connection is gone (or was never
     * adopted), the daemon calls kb_lws_release with the same refused and
     * peer, exactly once. */
    void (*adopt)(void *ud, int fd, const struct kb_addr *peer, enum kb_refusal refused);
    /* the daemon's /metrics gauges and counters */
    void (*limits)(int max_total, int max_per_address, int fd_budget, long open_files);
    void (*conn_open)(int n);
    void (*refused)(int reason);
    void (*accept_paused)(void);
};

/* The accepting side of a daemon, embedded in its server struct. */
struct kb_lws {
    const struct kb_lws_ops *ops;
    struct lws_context *ctx;
    struct lws_vhost *vh;
    int lfd;            /* the listening socket, -1 when none (lws owns it once adopted) */
    int port;           /* the port it is bound to */
    struct lws *lwsi;   /* its wsi, NULL until adopted or after close */
    int adopted;        /* lws took lfd (and closes it) */
    int spare;          /* reserved descriptor for kb_net_accept, or -1 */
    kb_admit *admit;    /* the caps and the connections they count; NULL until watching */
    int refusing;       /* refused connections being answered */
    long nofile;        /* RLIMIT_NOFILE (soft) in force */
    int backoff_ms;     /* current pause of accept(), 0 when accepting */
    lws_sorted_usec_list_t sul_backoff;
    unsigned long long no_fd; /* connections shed for lack of descriptors */
    int epoll;          /* set before kb_lws_start: lws runs on a libev loop of
                           ours (epoll: a wake-up costs the ready descriptors,
                           not a poll() over every connection) */
    void *evloop;       /* that loop (struct ev_loop *), owned; NULL: lws's poll() */
};

/* Routes lws's log lines into kb_log (errors, warnings; notices too at
 * log_level debug). */
void kb_lws_log_setup(enum kb_log_level log_level);

/* Initialises l (nothing open) with ops, which must outlive it, then sets
 * RLIMIT_NOFILE to what nc asks (max_open_files, or enough for
 * max_connections plus what is open now plus extra_fds) and logs the
 * outcome. Cannot fail (an unreadable limit is taken as 1024). */
void kb_lws_init(struct kb_lws *l, const struct kb_lws_ops *ops, const struct kb_net_config *nc,
                 long extra_fds);

/* Binds host:port (kb_net_listen; port 0: the kernel picks), the port
 * bound into l->port. Returns 0, or -1 with a message in err. */
int kb_lws_listen(struct kb_lws *l, const char *host, int port, char *err, size_t errlen);

/* Creates the lws context (explicit vhosts; user as its user data;
 * with l->epoll set, on a libev loop l owns (epoll, not poll());
 * pt_serv_buf_size bytes per read, 0: lws's default) into l->ctx and the
 * one vhost vh describes (its port set to no listening: connections come
 * from the accept loop) into l->vh, runs the vhost's protocol init (the
 * protocols' PROTOCOL_INIT, the "default" pvo) at once, then adopts the
 * listening socket under
 * listen_protocol (whose callback calls kb_lws_listen_event), opens the
 * spare descriptor and sets the caps from nc and the descriptors left now
 * (logged when they allow fewer than max_connections). Call once
 * everything else the daemon keeps open is open. Returns 0, or -1 with a
 * message in err; either way the caller ends l with kb_lws_fin. */
int kb_lws_start(struct kb_lws *l, void *user, int pt_serv_buf_size,
                 struct lws_context_creation_info *vh, const char *listen_protocol,
                 const struct kb_net_config *nc, char *err, size_t errlen);

/* The listening socket's protocol callback: accepts on
 * LWS_CALLBACK_RAW_RX_FILE, forgets the wsi on LWS_CALLBACK_RAW_CLOSE_FILE.
 * Returns 0. */
int kb_lws_listen_event(struct kb_lws *l, enum lws_callback_reasons reason);

/* For an adopt hook: lws_adopt_descriptor_vhost_via_info on l's vhost with
 * type, protocol (NULL: the vhost's default) and opaque user data.
 * Returns the wsi, or NULL (lws then closed fd). */
struct lws *kb_lws_adopt(struct kb_lws *l, int fd, int type, const char *protocol, void *opaque);

/* A connection handed to the adopt hook is gone: its place (refused: its
 * refusal slot) is free again. */
void kb_lws_release(struct kb_lws *l, enum kb_refusal refused, const struct kb_addr *peer);

/* Ends l: cancels the back-off timer and destroys l->ctx (when there is
 * one: every connection's close callback runs, on this thread) and the
 * libev loop, then
 * closes the listening socket if lws never took it and the spare, and
 * frees the caps. The daemon cancels its own timers first. */
void kb_lws_fin(struct kb_lws *l);

/* A daemon's main loop over l (started): installs SIGTERM/SIGINT handlers
 * (they only set a flag and wake the loop with lws_cancel_service), prints
 * "listening on http://HOST:PORT" on stdout (host as configured, the port
 * bound), then runs lws_service (or the libev loop, see kb_lws_start,
 * with a timer of ours that wakes lws every 0.1 s so that no lws timer
 * runs later than that past its time) until a signal came. Returns 0, or 1 when
 * the loop failed (logged). One at a time per process. */
int kb_lws_serve(const char *host, struct kb_lws *l);

/* The real path of a daemon's static-file folder www (may be NULL; caller
 * frees), or NULL after the warning "WHAT: WWW is not there (WITHOUT)". */
char *kb_lws_www_root(const char *www, const char *what, const char *without);

/* The message of a 403 for /metrics under nc's metrics_access. Static. */
const char *kb_lws_metrics_forbidden(const struct kb_net_config *nc);

#endif
