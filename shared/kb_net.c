/* kb_net: listening socket, descriptor-safe accept, peer addresses,
 * connection admission and their settings (see kb_net.h).
 *
 * Running out of descriptors: accept() then fails with EMFILE while the
 * connection stays in the listen queue, so the listening socket stays
 * readable and an event loop that only logs the error polls it again at
 * once, for ever (100% CPU, nobody served). kb_net_accept keeps one spare
 * descriptor: on EMFILE / ENFILE it closes the spare, accepts the waiting
 * connection with the freed slot, refuses it and reopens the spare (the
 * trick libuv's uv__emfile_trick plays). When even that fails, KB_ACCEPT_NOFD tells the caller to stop
 * polling the listening socket for a while. */
#define _GNU_SOURCE /* accept4 */
#include "kb_net.h"
#include "kb_config.h"
#include "kb_map.h"
#include "kb_util.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* ---- peer addresses ---------------------------------------------------------- */

/* An IPv6 address into out: an IPv4-mapped one (::ffff:a.b.c.d) as IPv4. */
static void addr_from_in6(struct kb_addr *out, const struct in6_addr *a6)
{
    if (IN6_IS_ADDR_V4MAPPED(a6)) {
        out->family = AF_INET;
        memcpy(out->a, a6->s6_addr + 12, 4);
    } else {
        out->family = AF_INET6;
        memcpy(out->a, a6, 16);
    }
}

void kb_addr_from_sockaddr(struct kb_addr *out, const struct sockaddr *sa, socklen_t len)
{
    memset(out, 0, sizeof *out);
    if (!sa)
        return;
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        out->family = AF_INET;
        memcpy(out->a, &s4->sin_addr, 4);
    } else if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        addr_from_in6(out, &((const struct sockaddr_in6 *)sa)->sin6_addr);
    }
}

/* Straight from the parsed address, not through a sockaddr: writing a
   sockaddr_in's family and reading it back as a sockaddr's breaks C's
   aliasing rules, and gcc -O2 dropped the write (every address parsed as
   family 0; the ASan build at -O1 kept it). */
int kb_addr_parse(const char *text, struct kb_addr *out)
{
    memset(out, 0, sizeof *out);
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, text, &a4) == 1) {
        out->family = AF_INET;
        memcpy(out->a, &a4, 4);
        return 0;
    }
    if (inet_pton(AF_INET6, text, &a6) == 1) {
        addr_from_in6(out, &a6);
        return 0;
    }
    return -1;
}

int kb_addr_is_loopback(const struct kb_addr *a)
{
    if (a->family == AF_INET)
        return a->a[0] == 127;
    if (a->family == AF_INET6) {
        static const unsigned char one[16] = {[15] = 1};
        return memcmp(a->a, one, 16) == 0;
    }
    return 0;
}

void kb_addr_format(const struct kb_addr *a, char *buf, size_t size)
{
    if (!size)
        return;
    if ((a->family != AF_INET && a->family != AF_INET6) ||
        !inet_ntop(a->family, a->a, buf, (socklen_t)size))
        snprintf(buf, size, "?");
}

/* ---- settings --------------------------------------------------------------- */

void kb_net_config_init(struct kb_net_config *c, int per_address_default)
{
    memset(c, 0, sizeof *c);
    c->max_connections = KB_NET_DEFAULT_MAX_CONNECTIONS;
    c->max_per_address = per_address_default;
    c->max_open_files = 0;
    c->metrics_access = KB_METRICS_LOOPBACK;
}

void kb_net_config_fin(struct kb_net_config *c)
{
    free(c->metrics_token);
    c->metrics_token = NULL;
}

int kb_net_config_set(struct kb_net_config *c, const char *key, const char *v, char *err,
                      size_t errlen)
{
    long n;
    if (strcmp(key, "max_connections") == 0) {
        if (kb_config_int(v, 1, KB_NET_MAX_CONNECTIONS_LIMIT, &n)) {
            kb_seterr(err, errlen, "max_connections: \"%s\" is not a number 1..%d", v,
                      KB_NET_MAX_CONNECTIONS_LIMIT);
            return -1;
        }
        c->max_connections = (int)n;
    } else if (strcmp(key, "max_connections_per_address") == 0) {
        if (kb_config_int(v, 0, KB_NET_MAX_CONNECTIONS_LIMIT, &n)) {
            kb_seterr(err, errlen,
                      "max_connections_per_address: \"%s\" is not a number 0..%d (0: no cap)",
                      v, KB_NET_MAX_CONNECTIONS_LIMIT);
            return -1;
        }
        c->max_per_address = (int)n;
    } else if (strcmp(key, "max_open_files") == 0) {
        if (kb_config_int(v, 0, 16 * 1024 * 1024, &n) || (n != 0 && n < 32)) {
            kb_seterr(err, errlen,
                      "max_open_files: \"%s\" is not 0 (derived) or a number 32..%d", v,
                      16 * 1024 * 1024);
            return -1;
        }
        c->max_open_files = n;
    } else if (strcmp(key, "metrics_access") == 0) {
        if (strcmp(v, "loopback") == 0)
            c->metrics_access = KB_METRICS_LOOPBACK;
        else if (strcmp(v, "token") == 0)
            c->metrics_access = KB_METRICS_TOKEN;
        else if (strcmp(v, "public") == 0)
            c->metrics_access = KB_METRICS_PUBLIC;
        else {
            kb_seterr(err, errlen, "metrics_access: \"%s\" is not loopback, token or public", v);
            return -1;
        }
    } else if (strcmp(key, "metrics_token") == 0) {
        return kb_config_token(key, v, KB_NET_MAX_TOKEN, &c->metrics_token, err, errlen);
    } else {
        return 1;
    }
    return 0;
}

int kb_net_config_check(const struct kb_net_config *c, char *err, size_t errlen)
{
    if (c->metrics_access == KB_METRICS_TOKEN && !c->metrics_token) {
        kb_seterr(err, errlen, "metrics_access = token needs metrics_token");
        return -1;
    }
    return 0;
}

int kb_net_token_equal(const char *given, size_t given_len, const char *want)
{
    size_t wl = strlen(want);
    if (wl == 0 || !given)
        return 0;
    /* every byte of want is looked at whatever given holds, so the time
     * depends on the configured token's length only */
    volatile unsigned char acc = (unsigned char)(given_len != wl);
    for (size_t i = 0; i < wl; i++) {
        unsigned char g = given_len ? (unsigned char)given[i % given_len] : 0;
        acc |= (unsigned char)(g ^ (unsigned char)want[i]);
    }
    return acc == 0;
}

int kb_net_metrics_allowed(const struct kb_net_config *c, const struct kb_addr *peer,
                           const char *token, size_t token_len)
{
    switch (c->metrics_access) {
    case KB_METRICS_PUBLIC:
        return 1;
    case KB_METRICS_TOKEN:
        return c->metrics_token && kb_net_token_equal(token, token_len, c->metrics_token);
    case KB_METRICS_LOOPBACK:
    default:
        return kb_addr_is_loopback(peer);
    }
}

/* ---- descriptors ------------------------------------------------------------ */

int kb_net_set_nofile(long want, int exact, long *got, long *hard)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl))
        return -1;
    if (want > 0 && (exact ? (rlim_t)want != rl.rlim_cur : (rlim_t)want > rl.rlim_cur)) {
        struct rlimit nl = rl;
        nl.rlim_cur = rl.rlim_max == RLIM_INFINITY || (rlim_t)want <= rl.rlim_max
                          ? (rlim_t)want
                          : rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &nl) == 0)
            rl = nl;
        /* (the kernel's nr_open can refuse even below the hard limit: the
         * old soft limit stays and *got says so) */
    }
    *got = rl.rlim_cur == RLIM_INFINITY ? 16 * 1024 * 1024 : (long)rl.rlim_cur;
    *hard = rl.rlim_max == RLIM_INFINITY ? 16 * 1024 * 1024 : (long)rl.rlim_max;
    return 0;
}

int kb_net_count_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n > 0 ? n - 1 : 0; /* not counting the directory's own descriptor */
}

/* ---- listening and accepting ---------------------------------------------------- */

int kb_net_listen(const char *host, int port, int *fd, int *bound_port, char *err,
                  size_t errlen)
{
    *fd = -1;
    struct sockaddr_storage ss;
    socklen_t len;
    memset(&ss, 0, sizeof ss);
    int v6 = strchr(host, ':') != NULL;
    if (v6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1) {
            kb_seterr(err, errlen, "%s is not an IPv6 address", host);
            return -1;
        }
        len = sizeof *s6;
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        if (inet_pton(AF_INET, host, &s4->sin_addr) != 1) {
            kb_seterr(err, errlen, "%s is not an IPv4 address", host);
            return -1;
        }
        len = sizeof *s4;
    }
    int s = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0) {
        kb_seterr(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (v6)
        setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(s, (struct sockaddr *)&ss, len) || listen(s, SOMAXCONN)) {
        kb_seterr(err, errlen, "cannot listen on %s:%d: %s", host, port, strerror(errno));
        close(s);
        return -1;
    }
    struct sockaddr_storage got;
    socklen_t glen = sizeof got;
    if (getsockname(s, (struct sockaddr *)&got, &glen)) {
        kb_seterr(err, errlen, "getsockname: %s", strerror(errno));
        close(s);
        return -1;
    }
    *bound_port = got.ss_family == AF_INET6
                      ? ntohs(((struct sockaddr_in6 *)&got)->sin6_port)
                      : ntohs(((struct sockaddr_in *)&got)->sin_port);
    *fd = s;
    return 0;
}

int kb_net_spare_open(void)
{
    return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

_Static_assert(sizeof KB_NET_REFUSAL_BODY - 1 == KB_NET_REFUSAL_BODY_LEN,
               "KB_NET_REFUSAL's Content-Length");

void kb_net_refuse_now(int fd, const char *msg, size_t len)
{
    char scratch[4096];
    /* what the client already sent, so the close is less likely to be a
     * reset that eats the answer */
    for (int i = 0; i < 4 && recv(fd, scratch, sizeof scratch, MSG_DONTWAIT) > 0; i++)
        ;
    if (len) {
        ssize_t w = send(fd, msg, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        (void)w; /* best effort */
    }
    shutdown(fd, SHUT_WR);
    close(fd);
}

static int accept_one(int lfd, struct kb_addr *peer)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int fd;
    do
        fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    while (fd < 0 && (errno == EINTR || errno == ECONNABORTED));
    if (fd >= 0)
        kb_addr_from_sockaddr(peer, (struct sockaddr *)&ss, len);
    return fd;
}

enum kb_accept_result kb_net_accept(int lfd, int *spare, const char *refusal, size_t refusal_len,
                                    int *fd_out, struct kb_addr *peer)
{
    *fd_out = -1;
    memset(peer, 0, sizeof *peer);
    int fd = accept_one(lfd, peer);
    if (fd >= 0) {
        int one = 1;
        if (peer->family)
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        *fd_out = fd;
        return KB_ACCEPT_OK;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        return KB_ACCEPT_AGAIN;
    if (errno != EMFILE && errno != ENFILE && errno != ENOBUFS && errno != ENOMEM)
        return KB_ACCEPT_ERROR;
    if (*spare < 0) {
        *spare = kb_net_spare_open(); /* for next time, if anything closed since */
        return KB_ACCEPT_NOFD;
    }
    close(*spare);
    *spare = -1;
    fd = accept_one(lfd, peer);
    int again = fd < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    if (fd >= 0)
        kb_net_refuse_now(fd, refusal, refusal_len);
    *spare = kb_net_spare_open();
    if (fd >= 0)
        return KB_ACCEPT_SHED;
    return again ? KB_ACCEPT_AGAIN : KB_ACCEPT_NOFD;
}

/* ---- admission ------------------------------------------------------------------ */

struct kb_admit {
    int max_total, max_per_address, fd_budget;
    int open;
    kb_map *per; /* address text -> count (as a pointer-sized integer) */
};

const char *kb_refusal_name(enum kb_refusal r)
{
    switch (r) {
    case KB_REFUSE_TOTAL: return "total";
    case KB_REFUSE_PER_ADDRESS: return "per_address";
    case KB_REFUSE_NO_FD: return "no_fd";
    default: return "none";
    }
}

kb_admit *kb_admit_new(int max_total, int max_per_address, int fd_budget)
{
    kb_admit *a = kb_xcalloc(1, sizeof *a);
    a->max_total = max_total < 1 ? 1 : max_total;
    a->max_per_address = max_per_address < 0 ? 0 : max_per_address;
    a->fd_budget = fd_budget;
    a->per = kb_map_new();
    return a;
}

void kb_admit_free(kb_admit *a)
{
    if (!a)
        return;
    kb_map_free(a->per, NULL);
    free(a);
}

static int count_from(const kb_admit *a, const char *key)
{
    return (int)(uintptr_t)kb_map_get(a->per, key);
}

enum kb_refusal kb_admit_take(kb_admit *a, const struct kb_addr *peer)
{
    if (a->fd_budget > 0 && a->fd_budget < a->max_total && a->open >= a->fd_budget)
        return KB_REFUSE_NO_FD;
    if (a->open >= a->max_total)
        return KB_REFUSE_TOTAL;
    char key[KB_ADDR_STRLEN];
    kb_addr_format(peer, key, sizeof key);
    int n = count_from(a, key);
    if (a->max_per_address && n >= a->max_per_address)
        return KB_REFUSE_PER_ADDRESS;
    kb_map_put(a->per, key, (void *)(uintptr_t)(n + 1));
    a->open++;
    return KB_REFUSE_NONE;
}

void kb_admit_release(kb_admit *a, const struct kb_addr *peer)
{
    char key[KB_ADDR_STRLEN];
    kb_addr_format(peer, key, sizeof key);
    int n = count_from(a, key);
    if (n <= 0)
        return; /* not admitted: nothing to give back */
    if (n == 1)
        kb_map_del(a->per, key);
    else
        kb_map_put(a->per, key, (void *)(uintptr_t)(n - 1));
    a->open--;
}

int kb_admit_open(const kb_admit *a)
{
    return a->open;
}

int kb_admit_open_from(const kb_admit *a, const struct kb_addr *peer)
{
    char key[KB_ADDR_STRLEN];
    kb_addr_format(peer, key, sizeof key);
    return count_from(a, key);
}

int kb_admit_addresses(const kb_admit *a)
{
    return (int)kb_map_count(a->per);
}
