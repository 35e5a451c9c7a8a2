/* config: searchd's settings. Defaults, then the --config file, then the
 * command-line flags; each value is validated once, when it is set, and the
 * finished struct is passed down as const. File errors name FILE:LINE, flag
 * errors name the flag. */
#ifndef SD_CONFIG_H
#define SD_CONFIG_H

#include "kb_log.h"
#include "kb_net.h"

#include <stddef.h>
#include <stdio.h>

#define SD_MAX_THREADS 64
#define SD_MAX_TOKEN 256
#define SD_DEFAULT_CACHE_MB 64
#define SD_MAX_CACHE_MB 65536
#define SD_DEFAULT_DOC_CACHE_MB 32
/* default cap on connections from one address (max_connections_per_address) */
#define SD_DEFAULT_PER_ADDRESS 256
#define SD_DEFAULT_SHARD_TIMEOUT_MS 2000

struct sd_config {
    char *index;       /* index folder (required) */
    char *host;        /* listen address: "127.0.0.1", "::1", "0.0.0.0" (all) */
    int port;          /* 0: the kernel picks a free port */
    char *agent_token; /* NULL: nobody gets internal documents */
    int threads;       /* worker threads, each with its own searcher */
    char *www;         /* static files folder */
    int www_explicit;  /* www came from the file or a flag (must exist) */
    enum kb_log_level log_level;
    int cache_mb;      /* result cache size in MiB; 0: no cache */
    int block_map;     /* 1: glass tables read through mappings (kb_blockmap) */
    int doc_cache_mb;  /* decoded document heads, MiB in all, shared out among the
                          workers' searchers (kb_searcher_set_doc_cache); 0: none */
    struct kb_net_config net; /* connection caps, RLIMIT_NOFILE, /metrics access */
    int shard_timeout_ms; /* bound on each remote shard operation (index =
                             a list of shards; see kb_searcher_new_shards) */
};

/* Fills cfg from defaults, the file named by --config and argv.
 * Returns 0 on success, 1 when --help was given (usage printed to stdout),
 * or -1 with a message in err (the caller exits with status 2). On success
 * the caller owns cfg's strings (sd_config_fin); on failure cfg is already
 * finalised. */
int sd_config_load(struct sd_config *cfg, int argc, char **argv, char *err, size_t errlen);
void sd_config_fin(struct sd_config *cfg);

/* Prints --help (every flag and every config-file key). */
void sd_config_usage(FILE *f);

#endif
