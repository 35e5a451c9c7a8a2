/* config: defaults < config file < flags for searchd (see config.h). A
 * single function, config_set, validates and stores each key, whether it
 * comes from a file line or from a flag, so both are checked the same way. */
#include "config.h"
#include "kb_config.h"
#include "codec.h"
#include "kb_search.h"
#include "kb_util.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void sd_config_usage(FILE *f)
{
    fprintf(f,
            "usage: searchd --index DIR [--listen HOST:PORT] [--config FILE]\n"
            "               [--agent-token TOKEN] [--threads N] [--www DIR]\n"
            "               [--log-level LEVEL] [--cache-mb N] [--doc-cache-mb N]\n"
            "               [--block-map 0|1]\n"
            "\n"
            "The kbdesk search daemon: HTTP/1.1 + JSON over the Xapian index built by\n"
            "`indexer build`. Picks up a newly committed index within a second.\n"
            "\n"
            "flags (each overrides the config file's key of the same name):\n"
            "  --index DIR          the index folder (required; key: index)\n"
            "  --listen HOST:PORT   address to listen on (key: listen; default\n"
            "                       127.0.0.1:8080). HOST is an IPv4 address,\n"
            "                       [IPv6], localhost, or * / 0.0.0.0 for all;\n"
            "                       PORT 0 binds a free port. Once ready, searchd\n"
            "                       prints `listening on http://HOST:PORT` (the real\n"
            "                       port) on stdout.\n"
            "  --config FILE        read settings from FILE (see below)\n"
            "  --agent-token TOKEN  requests with `Authorization: Bearer TOKEN` or\n"
            "                       `X-Agent-Token: TOKEN` see internal documents\n"
            "                       (key: agent_token; default none: nobody does).\n"
            "                       Prefer the config file: flags show in ps.\n"
            "  --threads N          worker threads, 1..%d, each with its own index\n"
            "                       handle (key: threads; default one per CPU core,\n"
            "                       at least 2)\n"
            "  --www DIR            static files served for every other GET path,\n"
            "                       index.html for a folder (key: www; default\n"
            "                       searchd/www under the current directory)\n"
            "  --log-level LEVEL    error, warn, info or debug (key: log_level;\n"
            "                       default info; debug logs every request)\n"
            "  --cache-mb N         result cache for /search and /suggest answers,\n"
            "                       in MiB, 0..%d (key: cache_mb; default %d; 0 turns\n"
            "                       it off). Keyed on the whole request (q, filters,\n"
            "                       limit, offset, agent token or not) and emptied\n"
            "                       when the index revision changes. A cached answer\n"
            "                       carries \"cached\":true; its took_ms is the time\n"
            "                       the original search took.\n"
            "  --doc-cache-mb N     decoded heads of the hits' stored documents kept in\n"
            "                       memory, in MiB in all, 0..%d (key: doc_cache_mb;\n"
            "                       default %d; 0 turns it off): a hit shown again is\n"
            "                       neither read from the index nor decompressed.\n"
            "                       Shared out among the worker threads, emptied\n"
            "                       when the index revision changes; the answers are\n"
            "                       the same (not used with shards).\n"
            "  --block-map 0|1      1: read the index tables through read-only file\n"
            "                       mappings instead of a pread system call per\n"
            "                       block (same answers, less CPU); 0: pread (key:\n"
            "                       block_map; default 1)\n"
            "  --shard-timeout-ms N bound on every operation on a remote shard,\n"
            "                       10..600000 (key: shard_timeout_ms; default %d).\n"
            "                       --index may list shards, comma-separated: index\n"
            "                       folders and tcp:HOST:PORT (xapian-tcpsrv), searched\n"
            "                       as one ranked list; a shard down is left out and\n"
            "                       named in \"failed_shards\" with \"partial\":true.\n"
            "  --help               this text\n"
            "\n"
            "config file: one `key = value` per line; lines starting with # and\n"
            "blank lines are ignored; keys: index, listen, agent_token, threads,\n"
            "www, log_level, cache_mb, doc_cache_mb, block_map, shard_timeout_ms, and\n"
            "(file only)\n"
            "max_connections, max_connections_per_address, max_open_files,\n"
            "metrics_access, metrics_token. An unknown or repeated key or a bad\n"
            "value is an error naming FILE:LINE. Precedence: defaults < file < flags.\n"
            "\n"
            "connections and /metrics (config file keys):\n"
            "  max_connections = N  open connections in all, 1..%d (default %d);\n"
            "                       one more is answered 503 too_many_connections\n"
            "                       (Retry-After) and closed\n"
            KB_NET_HELP_PER_ADDRESS_OPEN_FILES
            "                       searchd logs what it got. %d descriptors are kept\n"
            "                       back for index files and refusals; connections\n"
            "                       beyond what the rest allows are refused (no_fd)\n"
            "  metrics_access = loopback|token|public\n"
            "                       who may read /metrics (default loopback: clients on\n"
            "                       127.0.0.0/8 or ::1; token: `Authorization: Bearer\n"
            "                       <metrics_token>`); others get 403 forbidden\n"
            "  metrics_token = TOKEN  the token for metrics_access = token\n"
            "\n"
            "endpoints (GET or HEAD; anything else is 405):\n"
            "  /search?q=&kind=&category=&lang=&standard=&limit=&offset=\n"
            "      q is required (400 missing_query) and at most %d bytes after\n"
            "      URL-decoding (413 query_too_long); kind is article, known_error or\n"
            "      standard and lang zh, en or mixed (comma-separated lists allowed,\n"
            "      a repeated parameter adds values); limit is an integer >= 0 (0 or\n"
            "      absent: 10; above %d it is clamped to %d); offset 0..%d.\n"
            "  /suggest?q=  completions; q at most %d bytes (413 query_too_long)\n"
            "  /doc/ID  /nav/ID  /standards  /healthz  /metrics\n"
            "  every other path: a file under --www (404 not_found when absent)\n"
            "Errors are JSON {\"error\":{\"code\":...,\"message\":...}} with a 4xx status.\n"
            "\n"
            "limits: a request head (request line and headers) may be up to %d KB.\n"
            "A longer one is read to its end and discarded, then answered with 413\n"
            "query_too_long (for /search and /suggest, whose q is then certainly too\n"
            "long), 414 uri_too_long (other paths) or 431 headers_too_large, and the\n"
            "connection is closed; a head over %d MB is cut off with that answer.\n"
            "\n"
            "exit status: 0 after SIGTERM/SIGINT, 1 runtime error (index cannot be\n"
            "opened, address in use), 2 usage or configuration error\n",
            SD_MAX_THREADS, SD_MAX_CACHE_MB, SD_DEFAULT_CACHE_MB, SD_MAX_CACHE_MB,
            SD_DEFAULT_DOC_CACHE_MB, SD_DEFAULT_SHARD_TIMEOUT_MS,
            KB_NET_MAX_CONNECTIONS_LIMIT,
            KB_NET_DEFAULT_MAX_CONNECTIONS, KB_NET_MAX_CONNECTIONS_LIMIT, SD_DEFAULT_PER_ADDRESS,
            KB_NET_FD_RESERVE, KB_NET_FD_RESERVE, KB_SEARCH_MAX_QUERY, KB_SEARCH_MAX_LIMIT, KB_SEARCH_MAX_LIMIT,
            CODEC_MAX_OFFSET, CODEC_MAX_SUGGEST, CODEC_MAX_HEAD / 1024, CODEC_MAX_DISCARD / (1024 * 1024));
}

/* ---- one key ---------------------------------------------------------------- */

/* Validates value for key and stores it. Returns 0, 1 for an unknown key, or
 * -1 with a message in err. */
static int config_set(struct sd_config *cfg, const char *key, const char *v, char *err,
                      size_t errlen)
{
    struct kb_config_daemon d = KB_CONFIG_DAEMON(cfg);
    int rc = kb_config_daemon_set(&d, key, v, err, errlen);
    if (rc <= 0)
        return rc;
    if (strcmp(key, "agent_token") == 0)
        return kb_config_token(key, v, SD_MAX_TOKEN, &cfg->agent_token, err, errlen);
    if (strcmp(key, "threads") == 0)
        return kb_config_int_key(key, v, 1, SD_MAX_THREADS, &cfg->threads, err, errlen);
    if (strcmp(key, "cache_mb") == 0)
        return kb_config_int_key(key, v, 0, SD_MAX_CACHE_MB, &cfg->cache_mb, err, errlen);
    if (strcmp(key, "doc_cache_mb") == 0)
        return kb_config_int_key(key, v, 0, SD_MAX_CACHE_MB, &cfg->doc_cache_mb, err, errlen);
    if (strcmp(key, "block_map") == 0)
        return kb_config_int_key(key, v, 0, 1, &cfg->block_map, err, errlen);
    if (strcmp(key, "shard_timeout_ms") == 0)
        return kb_config_int_key(key, v, 10, 600000, &cfg->shard_timeout_ms, err, errlen);
    return 1;
}

/* ---- the file ----------------------------------------------------------------- */

static const char *const file_keys[] = {"index", "listen",    "agent_token", "threads",
                                        "www",   "log_level", "cache_mb",    "shard_timeout_ms",
                                        "block_map", "doc_cache_mb",
                                        KB_NET_CONFIG_KEYS};
#define NKEYS (sizeof file_keys / sizeof *file_keys)

static int set_key(void *ud, const char *key, const char *value, char *err, size_t errlen)
{
    return config_set(ud, key, value, err, errlen) ? -1 : 0;
}

void sd_config_fin(struct sd_config *cfg)
{
    free(cfg->index);
    free(cfg->host);
    free(cfg->agent_token);
    free(cfg->www);
    kb_net_config_fin(&cfg->net);
    memset(cfg, 0, sizeof *cfg);
}

int sd_config_load(struct sd_config *cfg, int argc, char **argv, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->host = kb_xstrdup("127.0.0.1");
    cfg->port = 8080;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    cfg->threads = cores < 2 ? 2 : cores > SD_MAX_THREADS ? SD_MAX_THREADS : (int)cores;
    cfg->www = kb_xstrdup("searchd/www");
    cfg->log_level = KB_LOG_INFO;
    cfg->cache_mb = SD_DEFAULT_CACHE_MB;
    cfg->block_map = 1;
    cfg->doc_cache_mb = SD_DEFAULT_DOC_CACHE_MB;
    cfg->shard_timeout_ms = SD_DEFAULT_SHARD_TIMEOUT_MS;
    kb_net_config_init(&cfg->net, SD_DEFAULT_PER_ADDRESS);

    struct kb_config_daemon d = KB_CONFIG_DAEMON(cfg);
    int rc = kb_config_daemon_load(&d, argc, argv, file_keys, NKEYS, set_key, cfg, sd_config_usage,
                                   err, errlen);
    if (rc)
        sd_config_fin(cfg);
    return rc;
}
