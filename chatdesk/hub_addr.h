/* hub_addr: what the hub remembers per client address: the hello token
 * bucket and the delays after wrong passwords (private to hub.c).
 *
 * An address is kept under its key (hub_addr_key): an IPv6 address counts
 * by its /64. At most HUB_MAX_ADDRS addresses are kept; idle ones are
 * dropped first (hub_addrs_prune), and beyond the limit new addresses share
 * one state. Everything here runs on the service thread. */
#ifndef KB_HUB_ADDR_H
#define KB_HUB_ADDR_H

#include "hub.h"
#include "kb_map.h"

#include <stddef.h>

struct hub_addrs {
    const struct hub_limits *lim; /* the hub's, not owned */
    kb_map *map;                  /* key -> struct addr_state (owned) */
};

/* Sets a up empty with the limits lim (which must outlive it). */
void hub_addrs_init(struct hub_addrs *a, const struct hub_limits *lim);
/* Frees what a holds (not a itself). */
void hub_addrs_free(struct hub_addrs *a);
size_t hub_addrs_count(const struct hub_addrs *a);
/* Drops the addresses with nothing worth keeping at now. */
void hub_addrs_prune(struct hub_addrs *a, double now);

/* The key under which address addr's limits are kept, in key (size bytes,
 * at least STORE_ADDR_MAX + 4). */
void hub_addr_key(const char *addr, char *key, size_t size);

/* May the address with key start a chat now? 0, or the seconds to wait
 * (a token is taken when 0). */
int hub_addrs_hello_wait(struct hub_addrs *a, const char *key, double now);
/* May it try a password now? 0, or the seconds to wait. */
int hub_addrs_login_wait(struct hub_addrs *a, const char *key, double now);
/* A password login from it came to result (DESK_LOGIN_*). */
void hub_addrs_login_result(struct hub_addrs *a, const char *key, int result, double now);

#endif
