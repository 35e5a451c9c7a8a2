/* config: chatdesk's settings. Defaults, then the --config file, then the
 * command-line flags; each value is validated once, when it is set (one
 * function for file keys and flags alike), and the finished struct is
 * passed down as const. File errors name FILE:LINE, flag errors the flag. */
#ifndef CD_CONFIG_H
#define CD_CONFIG_H

#include "desk.h"
#include "kb_log.h"
#include "kb_net.h"

#include <stddef.h>
#include <stdio.h>

#define CD_MAX_THREADS 64
#define CD_MAX_FRAME_LIMIT (16 * 1024 * 1024)
/* default cap on connections from one address (max_connections_per_address):
 * every open chat or agent page holds a WebSocket, and an office behind
 * one NAT address shares it */
#define CD_DEFAULT_PER_ADDRESS 1024

struct cd_config {
    char *index;          /* index folder (required) */
    char *db;             /* libpq conninfo or URI (required) */
    char *host;           /* listen address */
    int port;             /* 0: the kernel picks a free port */
    char *www;            /* static files folder */
    int www_explicit;     /* www came from the file or a flag (must exist) */
    char *migrations;     /* folder of NNN_name.sql files */
    int threads;          /* worker threads, each with a store and a searcher */
    enum kb_log_level log_level;
    int max_frame;        /* bytes per WebSocket message */
    int rate;             /* frames per second per connection (token bucket) */
    int burst;            /* bucket size */
    int maintenance_interval; /* seconds between auto-close / session purge runs */
    int sla_interval;         /* seconds between SLA warning / breach checks */
    char *allowed_origins;    /* NULL, or origins ("http://host:port") allowed to open
                                 /ws besides the server's own, comma-separated,
                                 lowercase, as cd_origins_normalise made them */
    struct desk_config desk;  /* session_ttl, suggestions, auto_close_days,
                                 login_max_failures, login_lockout */
    struct kb_net_config net; /* connection caps, RLIMIT_NOFILE, /metrics access */
    /* logins and anonymous sessions (README "Security") */
    int login_address_free;      /* wrong passwords from an address before delays */
    int login_address_max_delay; /* seconds */
    int login_hash_concurrency;  /* Argon2id checks at once */
    int login_hash_queue;        /* ... and waiting for a place */
    int hello_per_minute;        /* new chats per address per minute */
    int hello_burst;             /* ... in a burst */
    int ws_ping_interval;        /* seconds a WebSocket may be silent before a ping;
                                    closed at twice that (file only) */
    /* requesters' links, sign-in and mail (README "Mail"); desk.* points
     * at these strings */
    char *public_url, *smtp_url, *smtp_from, *smtp_user, *smtp_password;
    int mail_interval_ms;        /* the sender's timer */
    /* several instances on one database (README "Deployment") */
    int cluster;                 /* 1: LISTEN / NOTIFY with the other instances */
    char *report_db;             /* conninfo of a standby for report reads (NULL: db) */
    char *attach_dir;            /* attachments' files (desk.attach_dir points here) */
};

/* Fills cfg from defaults, the file named by --config and argv (argv[0] is
 * the program). Returns 0 on success, 1 when --help was given (usage printed
 * to stdout), or -1 with a message in err (the caller exits with status 2).
 * On success the caller owns cfg's strings (cd_config_fin); on failure cfg
 * is already finalised. */
int cd_config_load(struct cd_config *cfg, int argc, char **argv, char *err, size_t errlen);

/* Sets the defaults (strings owned by cfg). */
void cd_config_defaults(struct cd_config *cfg);

/* Applies a config file over cfg. Returns 0 or -1 with "FILE:LINE: ..." in
 * err. */
int cd_config_file(struct cd_config *cfg, const char *path, char *err, size_t errlen);

void cd_config_fin(struct cd_config *cfg);

/* Checks a comma-separated list of origins (scheme http or https, a host,
 * an optional port; no path, query or user part; blanks around the commas
 * and one trailing "/" are allowed) and returns it normalised (lowercase,
 * "a,b"; caller frees), or NULL with a message in err. */
char *cd_origins_normalise(const char *list, char *err, size_t errlen);

/* Prints --help (every flag, every config-file key, useradd). */
void cd_config_usage(FILE *f);

#endif
