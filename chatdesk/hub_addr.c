/* hub_addr: the per-address limits of hub.c (see hub_addr.h). */
#include "hub_addr.h"
#include "kb_util.h"

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What is remembered of one client address. */
struct addr_state {
    double hello_tokens, hello_last; /* hello token bucket */
    int fails;                       /* wrong passwords in a row */
    double last_fail;
    double next_login;               /* no password login before this */
};

/* Has address state a nothing worth keeping at now (a full hello bucket, no
 * failure to remember)? */
static int addr_idle(const struct hub_addrs *as, const struct addr_state *a, double now)
{
    double tokens = a->hello_tokens;
    if (as->lim->hello_per_minute > 0)
        tokens += (now - a->hello_last) * as->lim->hello_per_minute / 60.0;
    int hello_full = as->lim->hello_per_minute <= 0 || tokens >= as->lim->hello_burst;
    int fails_gone = a->fails == 0 || now - a->last_fail > as->lim->login_forget;
    return hello_full && fails_gone && now >= a->next_login;
}

/* Drops the idle addresses. */
void hub_addrs_prune(struct hub_addrs *as, double now)
{
    size_t n = kb_map_count(as->map), k = 0, it = 0;
    if (!n)
        return;
    char **drop = kb_xcalloc(n, sizeof *drop);
    const char *key;
    void *val;
    while (kb_map_next(as->map, &it, &key, &val))
        if (addr_idle(as, val, now))
            drop[k++] = kb_xstrdup(key);
    for (size_t i = 0; i < k; i++) {
        free(kb_map_del(as->map, drop[i]));
        free(drop[i]);
    }
    free(drop);
}

/* The key under which an address's limits are kept, in key: an IPv4
 * address as it is, an IPv6 address as its /64 network (one subscriber
 * usually has a whole /64: counting each address would let it pass every
 * limit), an IPv4-mapped IPv6 address as the IPv4 one. */
void hub_addr_key(const char *addr, char *key, size_t size)
{
    struct in6_addr a6;
    if (strncmp(addr, "::ffff:", 7) == 0 && strchr(addr + 7, '.')) {
        snprintf(key, size, "%s", addr + 7);
    } else if (strchr(addr, ':') && inet_pton(AF_INET6, addr, &a6) == 1) {
        char net[INET6_ADDRSTRLEN];
        memset(a6.s6_addr + 8, 0, 8);
        inet_ntop(AF_INET6, &a6, net, sizeof net);
        snprintf(key, size, "%s/64", net);
    } else {
        snprintf(key, size, "%s", addr);
    }
}

/* The state of address key addr, created (with a full hello bucket) if
 * new. When HUB_MAX_ADDRS addresses are active, the new ones share one
 * state ("*"): memory stays bounded and they are limited together. */
static struct addr_state *addr_get(struct hub_addrs *as, const char *addr, double now)
{
    struct addr_state *a = kb_map_get(as->map, addr);
    if (a)
        return a;
    if (kb_map_count(as->map) >= HUB_MAX_ADDRS)
        hub_addrs_prune(as, now);
    if (kb_map_count(as->map) >= HUB_MAX_ADDRS) {
        addr = "*";
        a = kb_map_get(as->map, addr);
        if (a)
            return a;
    }
    a = kb_xcalloc(1, sizeof *a);
    a->hello_tokens = as->lim->hello_burst;
    a->hello_last = now;
    kb_map_put(as->map, addr, a);
    return a;
}

/* The state of address key addr, or NULL (the shared one once the table
 * is full). */
static struct addr_state *addr_find(const struct hub_addrs *as, const char *addr)
{
    struct addr_state *a = kb_map_get(as->map, addr);
    if (!a && kb_map_count(as->map) >= HUB_MAX_ADDRS)
        a = kb_map_get(as->map, "*");
    return a;
}

/* May addr start a chat now? 0, or the seconds to wait. */
int hub_addrs_hello_wait(struct hub_addrs *as, const char *addr, double now)
{
    if (as->lim->hello_per_minute <= 0)
        return 0;
    struct addr_state *a = addr_get(as, addr, now);
    double per_s = as->lim->hello_per_minute / 60.0;
    a->hello_tokens += (now - a->hello_last) * per_s;
    if (a->hello_tokens > as->lim->hello_burst)
        a->hello_tokens = as->lim->hello_burst;
    a->hello_last = now;
    if (a->hello_tokens >= 1.0) {
        a->hello_tokens -= 1.0;
        return 0;
    }
    int wait = (int)ceil((1.0 - a->hello_tokens) / per_s);
    return wait < 1 ? 1 : wait;
}

/* May addr try a password now? 0, or the seconds to wait. */
int hub_addrs_login_wait(struct hub_addrs *as, const char *addr, double now)
{
    if (as->lim->login_free <= 0)
        return 0;
    struct addr_state *a = addr_find(as, addr);
    if (!a || now >= a->next_login)
        return 0;
    int wait = (int)ceil(a->next_login - now);
    return wait < 1 ? 1 : wait;
}

/* A password login from addr came to result (DESK_LOGIN_*). */
void hub_addrs_login_result(struct hub_addrs *as, const char *addr, int result, double now)
{
    if (as->lim->login_free <= 0 || result == DESK_LOGIN_NONE)
        return;
    struct addr_state *a = result == DESK_LOGIN_OK ? addr_find(as, addr)
                                                   : addr_get(as, addr, now);
    if (!a)
        return;
    if (result == DESK_LOGIN_OK) {
        a->fails = 0;
        a->next_login = 0;
        return;
    }
    if (a->fails && now - a->last_fail > as->lim->login_forget)
        a->fails = 0;
    a->fails++;
    a->last_fail = now;
    if (a->fails >= as->lim->login_free) {
        /* 1 s after the login_free-th failure, then doubling */
        int shift = a->fails - as->lim->login_free;
        double delay = shift >= 30 ? as->lim->login_max_delay : (double)(1L << shift);
        if (delay > as->lim->login_max_delay)
            delay = as->lim->login_max_delay;
        a->next_login = now + delay;
    }
}


void hub_addrs_init(struct hub_addrs *as, const struct hub_limits *lim)
{
    as->lim = lim;
    as->map = kb_map_new();
}

void hub_addrs_free(struct hub_addrs *as)
{
    kb_map_free(as->map, free);
    as->map = NULL;
}

size_t hub_addrs_count(const struct hub_addrs *as)
{
    return kb_map_count(as->map);
}
