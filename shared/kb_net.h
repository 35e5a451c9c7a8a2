/* kb_net: the network pieces both daemons share, with no event loop in
 * them: the listening socket, an accept() that copes with running out of
 * file descriptors (a reserved spare descriptor is given up to accept and
 * refuse one connection, so the listening socket does not stay readable
 * with nothing able to take it), peer addresses (IPv4 / IPv6, loopback
 * test, text form), connection admission (a cap in total, per peer address
 * and from the descriptors left), raising RLIMIT_NOFILE, and the settings
 * of all this together with the /metrics exposure rule (config keys parsed
 * the same way by searchd and chatdesk). Pure functions and a counting
 * table: errors go to the caller's buffer, nothing prints. */
#ifndef KB_NET_H
#define KB_NET_H

#include <stddef.h>
#include <sys/socket.h>

/* ---- peer addresses ---------------------------------------------------------- */

/* An IPv4 or IPv6 address without port. An IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d) is stored as the IPv4 address it carries. */
struct kb_addr {
    int family;          /* AF_INET, AF_INET6, or 0 (unknown, e.g. a Unix socket) */
    unsigned char a[16]; /* network byte order; 4 bytes used for AF_INET */
};

#define KB_ADDR_STRLEN 48

/* From a sockaddr of len bytes; anything but AF_INET / AF_INET6 gives
 * family 0. */
void kb_addr_from_sockaddr(struct kb_addr *out, const struct sockaddr *sa, socklen_t len);
/* From text ("127.0.0.2", "::1", "::ffff:10.0.0.1"). Returns 0, or -1. */
int kb_addr_parse(const char *text, struct kb_addr *out);
/* Is a a loopback address: 127.0.0.0/8 or ::1? (family 0: no.) */
int kb_addr_is_loopback(const struct kb_addr *a);
/* Text form into buf (at least KB_ADDR_STRLEN bytes); "?" for family 0. */
void kb_addr_format(const struct kb_addr *a, char *buf, size_t size);

/* ---- settings --------------------------------------------------------------- */

enum kb_metrics_access {
    KB_METRICS_LOOPBACK = 0, /* peers on 127.0.0.0/8 or ::1 only (the default) */
    KB_METRICS_TOKEN,        /* any peer with `Authorization: Bearer <metrics_token>` */
    KB_METRICS_PUBLIC,       /* anybody */
};

#define KB_NET_DEFAULT_MAX_CONNECTIONS 10000
#define KB_NET_MAX_CONNECTIONS_LIMIT 1000000
/* descriptors kept back from connections for everything else a daemon
 * opens (index files, PostgreSQL, pages being sent) and for answering
 * refused connections politely */
#define KB_NET_FD_RESERVE 64
#define KB_NET_MAX_TOKEN 256

struct kb_net_config {
    int max_connections;          /* open connections in all */
    int max_per_address;          /* open connections from one address; 0: no cap */
    long max_open_files;          /* RLIMIT_NOFILE asked for at start; 0: max_connections
                                     + KB_NET_FD_RESERVE + what is open at start */
    enum kb_metrics_access metrics_access;
    char *metrics_token;          /* owned; NULL unless set */
};

/* The config keys kb_net_config_set knows, for a daemon's list of keys. */
#define KB_NET_CONFIG_KEYS                                                                  \
    "max_connections", "max_connections_per_address", "max_open_files", "metrics_access",  \
        "metrics_token"
#define KB_NET_CONFIG_NKEYS 5 /* how many KB_NET_CONFIG_KEYS are */

/* The --help lines every daemon shares for max_connections_per_address and
 * the start of max_open_files, for its usage text: printf format text whose
 * arguments are KB_NET_MAX_CONNECTIONS_LIMIT, the daemon's default per
 * address and KB_NET_FD_RESERVE; the daemon goes on with which program logs
 * and what its reserved descriptors are for. */
#define KB_NET_HELP_PER_ADDRESS_OPEN_FILES                                            \
    "  max_connections_per_address = N\n"                                              \
    "                       open connections from one client address, 0..%d\n"         \
    "                       (default %d; 0: no cap). Behind a reverse proxy every\n"   \
    "                       client has the proxy's address: raise it or use 0\n"       \
    "  max_open_files = N   RLIMIT_NOFILE (soft) set at start, 32.. (default 0:\n"     \
    "                       raised, never lowered, to max_connections + %d +\n"        \
    "                       what is open at start); if the hard limit is lower,\n"

/* Defaults: KB_NET_DEFAULT_MAX_CONNECTIONS in all, per_address_default per
 * address, max_open_files 0 (derived), metrics on loopback only. */
void kb_net_config_init(struct kb_net_config *c, int per_address_default);
void kb_net_config_fin(struct kb_net_config *c);
/* Validates and stores one key. Returns 0, 1 when key is not one of
 * KB_NET_CONFIG_KEYS, or -1 with "key: ..." in err. */
int kb_net_config_set(struct kb_net_config *c, const char *key, const char *value, char *err,
                      size_t errlen);
/* Checks the finished settings (metrics_access = token needs a
 * metrics_token). Returns 0, or -1 with a message in err. */
int kb_net_config_check(const struct kb_net_config *c, char *err, size_t errlen);

/* May a /metrics request from peer, carrying the bearer token token[0,
 * token_len) (NULL when none), be answered? The token is compared in time
 * that depends on the configured token's length only. */
/* Constant-time comparison of a presented token (given_len bytes; given
 * may be NULL) with the configured one, want (time depends only on want's
 * length). 1 if equal; an empty want never matches. */
int kb_net_token_equal(const char *given, size_t given_len, const char *want);

int kb_net_metrics_allowed(const struct kb_net_config *c, const struct kb_addr *peer,
                           const char *token, size_t token_len);

/* ---- descriptors ------------------------------------------------------------ */

/* Sets the soft RLIMIT_NOFILE to want, up to the hard limit: exactly (also
 * lowering it) when exact, else only raising it. Returns 0 with the soft
 * limit now in *got and the hard one in *hard, or -1 if getrlimit failed.
 * *got < want means the hard limit (or the kernel) did not allow more. */
int kb_net_set_nofile(long want, int exact, long *got, long *hard);
/* The number of descriptors this process has open (from /proc/self/fd), or
 * -1 when that cannot be read. */
int kb_net_count_open_fds(void);

/* ---- listening and accepting ---------------------------------------------------- */

/* A non-blocking, close-on-exec TCP socket bound to host:port and
 * listening (host "0.0.0.0": every IPv4 address; an address with ':' is
 * IPv6; port 0: the kernel picks). Returns 0 with *fd and the port bound
 * in *bound_port, or -1 with a message in err. */
int kb_net_listen(const char *host, int port, int *fd, int *bound_port, char *err,
                  size_t errlen);

/* A descriptor to keep in reserve for kb_net_accept (/dev/null), or -1. */
int kb_net_spare_open(void);

enum kb_accept_result {
    KB_ACCEPT_OK = 0,  /* *fd_out is a new connection (non-blocking, TCP_NODELAY) */
    KB_ACCEPT_AGAIN,   /* nothing (more) to accept */
    KB_ACCEPT_SHED,    /* out of descriptors: one connection was taken with the
                          spare descriptor, sent refusal and closed */
    KB_ACCEPT_NOFD,    /* out of descriptors and no spare to shed with: stop
                          accepting for a while */
    KB_ACCEPT_ERROR,   /* another accept error (errno set) */
};

/* Accepts one connection from the listening socket lfd, filling *peer.
 * When the process is out of descriptors (EMFILE / ENFILE) and *spare is
 * open, the spare is closed, one connection accepted, sent the bytes
 * refusal[0, refusal_len) (best effort, after reading what the client has
 * already sent) and closed, and the spare reopened (*spare is -1 if that
 * failed). */
enum kb_accept_result kb_net_accept(int lfd, int *spare, const char *refusal, size_t refusal_len,
                                    int *fd_out, struct kb_addr *peer);

/* The whole HTTP answer written by kb_net_refuse_now when a daemon cannot
 * afford a polite refusal (and by kb_net_accept's shedding): 503
 * too_many_connections in the error shape, Retry-After 5, then close. */
#define KB_NET_REFUSAL_BODY                                                                     \
    "{\"error\":{\"code\":\"too_many_connections\",\"message\":\"too many connections; retry "  \
    "later\"}}"
#define KB_NET_REFUSAL_BODY_LEN 87 /* checked by a static assertion in kb_net.c */
#define KB_NET_REFUSAL                                                                          \
    "HTTP/1.1 503 Service Unavailable\r\n"                                                     \
    "Content-Type: application/json; charset=utf-8\r\n"                                        \
    "Content-Length: 87\r\n"                                                                   \
    "Retry-After: 5\r\n"                                                                       \
    "Connection: close\r\n\r\n" KB_NET_REFUSAL_BODY

/* Best-effort refusal of a connection the caller will not serve: reads
 * what the client has sent so far, writes msg[0, len) without blocking,
 * shuts the sending side and closes fd. */
void kb_net_refuse_now(int fd, const char *msg, size_t len);

/* ---- admission ------------------------------------------------------------------ */

enum kb_refusal {
    KB_REFUSE_NONE = 0,
    KB_REFUSE_TOTAL,       /* max_connections are open */
    KB_REFUSE_PER_ADDRESS, /* max_per_address are open from this address */
    KB_REFUSE_NO_FD,       /* the descriptors left are needed for other things */
    KB_REFUSE_COUNT,
};

/* "total", "per_address", "no_fd" (the label values in /metrics); "none". */
const char *kb_refusal_name(enum kb_refusal r);

/* Counts the admitted connections, in all and per address. */
typedef struct kb_admit kb_admit;

/* max_total >= 1; max_per_address 0: no cap; fd_budget: the connections
 * the descriptors allow (<= 0: no limit from descriptors). Never NULL;
 * free with kb_admit_free. */
kb_admit *kb_admit_new(int max_total, int max_per_address, int fd_budget);
void kb_admit_free(kb_admit *a);
/* Admits a connection from peer (counting it) and returns KB_REFUSE_NONE,
 * or returns the reason it is refused (nothing counted). When several caps
 * are reached, the descriptor budget is named first when it is the lower
 * limit, then the total, then the address. */
enum kb_refusal kb_admit_take(kb_admit *a, const struct kb_addr *peer);
/* A connection kb_admit_take admitted has closed. */
void kb_admit_release(kb_admit *a, const struct kb_addr *peer);
/* Admitted connections open now, in all / from peer. */
int kb_admit_open(const kb_admit *a);
int kb_admit_open_from(const kb_admit *a, const struct kb_addr *peer);
/* The distinct addresses with a connection open. */
int kb_admit_addresses(const kb_admit *a);

#endif
