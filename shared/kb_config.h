/* kb_config: the pieces of daemon configuration every program parses the
 * same way: `key = value` files, integers in a range, HOST:PORT listen
 * addresses, and the keys both daemons share (index, listen, www,
 * log_level and kb_net's connection settings) with the loading order
 * around them. Pure functions: errors go to the caller's buffer. */
#ifndef KB_CONFIG_H
#define KB_CONFIG_H

#include "kb_log.h"
#include "kb_net.h"

#include <stddef.h>
#include <stdio.h>

/* Called for each `key = value` line, key already checked against the
 * allowed list. Returns 0, or -1 with a message (without file:line) in err. */
typedef int (*kb_config_set_cb)(void *ud, const char *key, const char *value, char *err,
                                size_t errlen);

/* Reads a file of `key = value` lines (blank lines and lines starting with
 * # are ignored; spaces around key and value are trimmed). A line without
 * '=', a key not in keys[0..nkeys), a repeated key, a NUL byte or a value
 * refused by set is an error "PATH:LINE: ...". Returns 0 or -1 with the
 * message in err (values already set stay set). */
int kb_config_read(const char *path, const char *const *keys, size_t nkeys, kb_config_set_cb set,
                   void *ud, char *err, size_t errlen);

/* The command line of a daemon, with the same keys: each of the first
 * nflags keys is also a flag --KEY (underscores written as dashes) taking a
 * value; --config FILE reads the file (kb_config_read with all nkeys keys)
 * before the flags are applied, whatever their order, so flags win; --help
 * stops at once. set is called as for the file, with the key's name. An
 * unknown option, a flag without its value, an argument that is not an
 * option, or a value refused by set (its message then names the flag:
 * "--max-frame: ...") is an error. Returns 0, 1 for --help (nothing set),
 * or -1 with a message in err (values already set stay set). Uses getopt:
 * not thread-safe. */
int kb_config_args(int argc, char **argv, const char *const *keys, size_t nkeys, size_t nflags,
                   kb_config_set_cb set, void *ud, char *err, size_t errlen);

/* A decimal integer in [lo, hi] (digits only). Returns 0 and *out, or -1. */
int kb_config_int(const char *s, long lo, long hi, long *out);

/* HOST:PORT where HOST is an IPv4 address, [IPv6], localhost (127.0.0.1)
 * or * (0.0.0.0) and PORT 0..65535 (0: any free port). Returns 0 with *host
 * (caller frees) and *port, or -1 with a message in err. */
int kb_config_listen(const char *v, char **host, int *port, char *err, size_t errlen);

/* Is path an existing directory? */
int kb_config_is_dir(const char *path);

/* A key in [lo, hi]: 0 and *out, or -1 with `key: "v" is not a number
 * lo..hi` in err. */
int kb_config_int_key(const char *key, const char *v, long lo, long hi, int *out, char *err,
                      size_t errlen);

/* A token (agent_token, metrics_token): 1..max bytes of printable ASCII
 * without spaces. Returns 0 with *slot replaced by a copy (caller frees),
 * or -1 with a message naming key in err. */
int kb_config_token(const char *key, const char *v, size_t max, char **slot, char *err,
                    size_t errlen);

/* Where a daemon keeps the settings both daemons read the same way (its
 * own config struct's fields). */
struct kb_config_daemon {
    char **index;             /* "index": the index folder */
    char **host;              /* "listen": HOST:PORT (kb_config_listen) */
    int *port;
    char **www;               /* "www": an existing folder */
    int *www_explicit;        /* set to 1 when www is given */
    enum kb_log_level *level; /* "log_level" */
    struct kb_net_config *net; /* kb_net_config_set's keys */
};

/* The kb_config_daemon of a daemon config struct cfg whose fields have the
 * shared names (index, host, port, www, www_explicit, log_level, net). */
#define KB_CONFIG_DAEMON(cfg)                                                                   \
    {                                                                                           \
        &(cfg)->index, &(cfg)->host, &(cfg)->port, &(cfg)->www, &(cfg)->www_explicit,           \
            &(cfg)->log_level, &(cfg)->net                                                      \
    }

/* Validates and stores one of the shared keys (an empty value is refused
 * for every key). Returns 0, 1 when key is not one of them (v not empty),
 * or -1 with "key: ..." in err. */
int kb_config_daemon_set(const struct kb_config_daemon *d, const char *key, const char *v,
                         char *err, size_t errlen);

/* A daemon's command line (kb_config_args over keys, of which the last
 * KB_NET_CONFIG_NKEYS are kb_net's and file-only), then the checks every
 * daemon makes: an index is required, and kb_net_config_check. --help
 * prints usage to stdout and returns 1. Returns 0, 1, or -1 with a
 * message in err (the caller frees what was set either way). */
int kb_config_daemon_load(const struct kb_config_daemon *d, int argc, char **argv,
                          const char *const *keys, size_t nkeys, kb_config_set_cb set, void *ud,
                          void (*usage)(FILE *), char *err, size_t errlen);

#endif
