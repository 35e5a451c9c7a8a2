/* config: defaults < config file < flags for chatdesk (see config.h). A
 * single function, config_set, validates and stores each key, whether it
 * comes from a file line or from a flag, so both are checked the same way.
 * Integer keys are described by a table (name, range). */
#include "config.h"
#include "kb_config.h"
#include "kb_util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

void cd_config_usage(FILE *f)
{
    fprintf(f,
            "usage: chatdesk --index DIR --db CONNINFO [--listen HOST:PORT] [--config FILE]\n"
            "                [--www DIR] [--migrations DIR] [--threads N] [--log-level LEVEL]\n"
            "                [--max-frame BYTES] [--rate N] [--burst N] [--session-ttl SECS]\n"
            "                [--suggestions N] [--auto-close-days N]\n"
            "                [--maintenance-interval SECS] [--allowed-origins LIST]\n"
            "                [--sla-interval SECS]\n"
            "                [--login-max-failures N] [--login-lockout SECS]\n"
            "                [--login-address-free N] [--login-address-max-delay SECS]\n"
            "                [--login-hash-concurrency N] [--login-hash-queue N]\n"
            "                [--hello-per-minute N] [--hello-burst N]\n"
            "       chatdesk useradd --agent USERNAME [--name DISPLAY_NAME]\n"
            "                [--db CONNINFO | --config FILE] [--migrations DIR]\n"
            "       chatdesk unlock USERNAME [--db CONNINFO | --config FILE] [--migrations DIR]\n"
            "       chatdesk lockouts [--db CONNINFO | --config FILE] [--migrations DIR]\n"
            "       chatdesk reviewer USERNAME [--db CONNINFO | --config FILE] [--migrations DIR]\n"
            "       chatdesk sla-load FILE [--db CONNINFO | --config FILE] [--migrations DIR]\n"
            "       chatdesk sla-reapply NUMBER|all [--db CONNINFO | --config FILE]\n"
            "                [--migrations DIR]\n"
            "       chatdesk team-add SLUG NAME [ENGLISH_NAME] [--db CONNINFO | --config FILE]\n"
            "       chatdesk team-member USERNAME [-]TEAM [--db CONNINFO | --config FILE]\n"
            "       chatdesk role USERNAME [-]ROLE [--db CONNINFO | --config FILE]\n"
            "       chatdesk robot-add KIND NAME URL [TEAM|-] [SECRET] [--db CONNINFO | --config FILE]\n"
            "                (KIND wecom, dingtalk or feishu; TEAM - for every ticket)\n"
            "       chatdesk webhook-add URL SECRET [EVENT,...|*] [--db CONNINFO | --config FILE]\n"
            "       chatdesk robots | webhooks [--db CONNINFO | --config FILE]\n"
            "       chatdesk robot-del ID | webhook-del ID [--db CONNINFO | --config FILE]\n"
            "       chatdesk escalation-load FILE [--db CONNINFO | --config FILE]\n"
            "       chatdesk agent-email USERNAME ADDRESS|- [--db CONNINFO | --config FILE]\n"
            "\n"
            "The kbdesk chat service desk: the chat page and the agent page (static\n"
            "files) and a WebSocket endpoint /ws (JSON text frames, chatdesk/PROTOCOL.md)\n"
            "on one port. Suggests articles and known errors from the index built by\n"
            "`indexer build`, and keeps people, sessions, conversations and tickets in\n"
            "PostgreSQL; the migrations are applied at start-up.\n"
            "\n"
            "flags (each overrides the config file's key of the same name):\n"
            "  --index DIR          the index folder (required; key: index)\n"
            "  --db CONNINFO        PostgreSQL: a libpq conninfo string or URI (required;\n"
            "                       key: db), e.g. \"host=/tmp/pg port=5432 dbname=kbdesk\"\n"
            "  --listen HOST:PORT   address to listen on (key: listen; default\n"
            "                       127.0.0.1:8081). HOST is an IPv4 address, [IPv6],\n"
            "                       localhost, or * / 0.0.0.0 for all; PORT 0 binds a\n"
            "                       free port. Once ready chatdesk prints\n"
            "                       `listening on http://HOST:PORT` (the real port).\n"
            "  --config FILE        read settings from FILE (see below)\n"
            "  --www DIR            the pages, served at / (key: www; default\n"
            "                       chatdesk/www under the current directory)\n"
            "  --migrations DIR     the SQL migrations applied at start-up (key:\n"
            "                       migrations; default shared/store/migrations)\n"
            "  --threads N          1..%d (key: threads; default one per core, 2..8):\n"
            "                       N threads search suggestions (at a lower CPU\n"
            "                       priority), 4N (at most 32, at least N) handle\n"
            "                       requests and 2N store chat messages in batches;\n"
            "                       each has its own PostgreSQL connection and index\n"
            "                       handle\n"
            "  --log-level LEVEL    error, warn, info or debug (key: log_level;\n"
            "                       default info)\n"
            "  --max-frame BYTES    largest WebSocket message accepted, 1024..%d\n"
            "                       (key: max_frame; default 65536); a bigger one is\n"
            "                       dropped and answered with error too_large\n"
            "  --rate N             frames per second per connection, 1..10000 (key:\n"
            "                       rate; default 20); excess frames get rate_limited\n"
            "  --burst N            token-bucket size for --rate, 1..100000 (key:\n"
            "                       burst; default 40)\n"
            "  --session-ttl SECS   a session lives this long after its last use,\n"
            "                       60..31536000 (key: session_ttl; default 604800,\n"
            "                       7 days)\n"
            "  --suggestions N      knowledge items per suggestions frame, 1..20 (key:\n"
            "                       suggestions; default 5)\n"
            "  --auto-close-days N  close a resolved ticket whose requester has not\n"
            "                       answered after N days, 1..365 (key:\n"
            "                       auto_close_days; default 3)\n"
            "  --maintenance-interval SECS\n"
            "                       how often auto-closing and the purge of expired\n"
            "                       sessions run, 1..86400 (key: maintenance_interval;\n"
            "                       default 600; also once at start-up)\n"
            "  --sla-interval SECS  how often tickets reaching an SLA warning or breach\n"
            "                       are marked and the agents told, 1..3600 (key:\n"
            "                       sla_interval; default 30)\n"
            "  --allowed-origins LIST\n"
            "                       web origins allowed to open the WebSocket besides\n"
            "                       chatdesk's own, comma-separated, e.g.\n"
            "                       \"https://desk.example.cn,http://10.0.0.5:8081\"\n"
            "                       (key: allowed_origins; default none). A client\n"
            "                       without an Origin header (not a browser) is always\n"
            "                       accepted; a browser only from http://HOST:PORT as\n"
            "                       served (--listen; localhost too for a loopback\n"
            "                       address; for * / 0.0.0.0 the origin must match the\n"
            "                       request's Host) or from this list; any other is\n"
            "                       refused during the handshake. List the public origin\n"
            "                       when a proxy (https) serves the pages.\n"
            "logins and anonymous sessions (see README, Security):\n"
            "  --login-max-failures N\n"
            "                       wrong passwords in a row that lock an agent's\n"
            "                       account, 1..1000 (key: login_max_failures; default\n"
            "                       5). A locked account is refused (too_many_attempts,\n"
            "                       retry_after) without checking the password; kept in\n"
            "                       PostgreSQL, recorded in login_lockouts\n"
            "  --login-lockout SECS how long a lockout lasts, 1..86400 (key:\n"
            "                       login_lockout; default 900); also how long an\n"
            "                       address's wrong passwords are remembered\n"
            "  --login-address-free N\n"
            "                       wrong passwords in a row from one client address\n"
            "                       before its delays start, 1..1000 (key:\n"
            "                       login_address_free; default 5); then each attempt\n"
            "                       must wait 1, 2, 4, ... s after the last failure\n"
            "  --login-address-max-delay SECS\n"
            "                       the longest of those delays, 1..3600 (key:\n"
            "                       login_address_max_delay; default 60)\n"
            "  --login-hash-concurrency N\n"
            "                       Argon2id password checks running at once (64 MiB\n"
            "                       each), 1..64 (key: login_hash_concurrency; default 1)\n"
            "  --login-hash-queue N logins waiting for a check beyond those, 0..1000\n"
            "                       (key: login_hash_queue; default 2); more get\n"
            "                       try_later at once\n"
            "  --hello-per-minute N new chats (hello) per client address per minute,\n"
            "                       1..100000 (key: hello_per_minute; default 60);\n"
            "                       more get rate_limited with retry_after\n"
            "  --hello-burst N      bucket size for --hello-per-minute, 1..100000 (key:\n"
            "                       hello_burst; default 20)\n"
            "requesters' private links, e-mail sign-in and mail (see README, Mail):\n"
            "  --public-url URL     the chat page as requesters reach it\n"
            "                       (http://host:port); links in mails start with it\n"
            "  --smtp-url URL       the relay, smtp://host:port or smtps://host:port;\n"
            "                       unset: mails stay queued in mail_outbox\n"
            "  --smtp-from ADDR     the sender's address (needed with --smtp-url)\n"
            "  --smtp-user U, --smtp-password P\n"
            "                       optional relay login (prefer the file for P)\n"
            "  --smtp-starttls 0|1  require STARTTLS on smtp:// (default 0)\n"
            "  --mail-interval-ms N how often the sender looks for due mails,\n"
            "                       10..3600000 (default 5000)\n"
            "  --mail-retry-min S, --mail-retry-max S\n"
            "                       back-off after a failed send: S, 2S, 4S, ... up to\n"
            "                       the max (defaults 30 and 3600)\n"
            "  --mail-max-attempts N\n"
            "                       attempts before a mail is marked failed (default 20)\n"
            "  --signin-code-ttl S  seconds a mailed sign-in code lives (default 600)\n"
            "  --signin-max-tries N wrong codes before it is locked (default 5)\n"
            "several instances on one database (see README, Deployment):\n"
            "  --cluster 0|1        1: send the events other people must see to the\n"
            "                       other chatdesk instances on the same database and\n"
            "                       receive theirs (LISTEN/NOTIFY on channel kbdesk;\n"
            "                       key: cluster; default 0). Give every instance 1\n"
            "  --report-db CONNINFO the reports (/api/v1/reports/...) read from this\n"
            "                       database, a streaming standby of db (key:\n"
            "                       report_db; default: db itself)\n"
            "  --help               this text\n"
            "\n"
            "config file: one `key = value` per line; lines starting with # and blank\n"
            "lines are ignored; keys: index, db, listen, www, migrations, threads,\n"
            "log_level, max_frame, rate, burst, session_ttl, suggestions,\n"
            "auto_close_days, maintenance_interval, allowed_origins, login_max_failures,\n"
            "login_lockout, login_address_free, login_address_max_delay,\n"
            "login_hash_concurrency, login_hash_queue, hello_per_minute, hello_burst,\n"
            "sla_interval, cluster, report_db,\n"
            "and (file only) max_connections, max_connections_per_address,\n"
            "max_open_files, metrics_access, metrics_token, knowledge_self_approval,\n"
            "attach_dir, attach_max, ws_ping_interval (seconds a WebSocket may be\n"
            "silent before chatdesk pings it, 5..3600, default 30; closed at twice\n"
            "that). An\n"
            "unknown or repeated key or a bad value is an error naming FILE:LINE.\n"
            "Precedence: defaults < file <\n"
            "flags. Prefer the file for a conninfo with a password: flags show in ps.\n"
            "\n"
            "connections and /metrics (config file keys):\n"
            "  max_connections = N  open connections (pages and WebSockets) in all,\n"
            "                       1..%d (default %d); one more gets HTTP 503\n"
            "                       too_many_connections, or for a WebSocket the close\n"
            "                       code 1013 (try again later)\n"
            KB_NET_HELP_PER_ADDRESS_OPEN_FILES
            "                       chatdesk logs what it got. %d descriptors are kept\n"
            "                       back for PostgreSQL, the index, pages being sent and\n"
            "                       refusals; connections beyond what the rest allows\n"
            "                       are refused (no_fd)\n"
            "  metrics_access = loopback|token|public\n"
            "                       who may read GET /metrics (default loopback: clients\n"
            "                       on 127.0.0.0/8 or ::1; token: `Authorization: Bearer\n"
            "                       <metrics_token>`); others get 403 forbidden\n"
            "  metrics_token = TOKEN  the token for metrics_access = token\n"
            "  knowledge_self_approval = 0|1\n"
            "                       may a knowledge reviewer approve a version they\n"
            "                       wrote themselves (default 0: no)\n"
            "  attach_dir = DIR     attachments' files, named by SHA-256 (default\n"
            "                       var/attachments, created when needed)\n"
            "  attach_max = BYTES   the largest attachment, 1024..1073741824 (default\n"
            "                       10485760: 10 MB); a larger upload is 413\n"
            "\n"
            "useradd: creates an agent account USERNAME (letters, digits, . _ -; at\n"
            "most 64) with display name DISPLAY_NAME (default USERNAME). The password\n"
            "is read from stdin (one line; not echoed on a terminal) and stored as an\n"
            "Argon2id hash. The database is --db, or the `db` key of --config FILE;\n"
            "migrations are applied first. Exit status: 0 created, 1 database error,\n"
            "2 usage error or empty / unreadable password, 3 the user name exists.\n"
            "\n"
            "unlock: ends the lockout of agent USERNAME now (and its count of wrong\n"
            "passwords), recorded in login_lockouts. lockouts: lists the latest 50\n"
            "lockouts (user, address, failures, from, until, unlocked by). Exit\n"
            "status: 0 done, 1 database error, 2 usage error, 3 no such agent.\n"
            "reviewer: gives agent USERNAME the knowledge_reviewer role (approving\n"
            "and returning knowledge in review); same exit statuses.\n"
            "team-add: a new team (slug of a-z, 0-9, '_', '-'). team-member: puts agent\n"
            "USERNAME in team TEAM (-TEAM takes them out). role: gives agent USERNAME\n"
            "role agent, admin, team_lead or knowledge_reviewer (-ROLE takes an extra\n"
            "role away). Same exit statuses (3: no such agent or team, bad value).\n"
            "\n"
            "daemon exit status: 0 after SIGTERM/SIGINT, 1 runtime error (index or\n"
            "database cannot be opened, a migration fails, address in use), 2 usage or\n"
            "configuration error. If PostgreSQL goes away while running, clients get\n"
            "error frames (db_unavailable) and chatdesk reconnects by itself.\n",
            CD_MAX_THREADS, CD_MAX_FRAME_LIMIT, KB_NET_MAX_CONNECTIONS_LIMIT,
            KB_NET_DEFAULT_MAX_CONNECTIONS, KB_NET_MAX_CONNECTIONS_LIMIT, CD_DEFAULT_PER_ADDRESS,
            KB_NET_FD_RESERVE, KB_NET_FD_RESERVE);
}

/* ---- one key ---------------------------------------------------------------- */

/* the integer keys: where they go and their range */
static int *int_slot(struct cd_config *cfg, const char *key, long *lo, long *hi)
{
    struct {
        const char *key;
        int *slot;
        long lo, hi;
    } t[] = {
        {"threads", &cfg->threads, 1, CD_MAX_THREADS},
        {"max_frame", &cfg->max_frame, 1024, CD_MAX_FRAME_LIMIT},
        {"rate", &cfg->rate, 1, 10000},
        {"burst", &cfg->burst, 1, 100000},
        {"session_ttl", &cfg->desk.session_ttl, 60, 31536000},
        {"suggestions", &cfg->desk.suggestions, 1, 20},
        {"auto_close_days", &cfg->desk.auto_close_days, 1, 365},
        {"maintenance_interval", &cfg->maintenance_interval, 1, 86400},
        {"sla_interval", &cfg->sla_interval, 1, 3600},
        /* logins and anonymous sessions */
        {"login_max_failures", &cfg->desk.login_max_failures, 1, 1000},
        {"login_lockout", &cfg->desk.login_lockout, 1, 86400},
        {"login_address_free", &cfg->login_address_free, 1, 1000},
        {"login_address_max_delay", &cfg->login_address_max_delay, 1, 3600},
        {"login_hash_concurrency", &cfg->login_hash_concurrency, 1, 64},
        {"login_hash_queue", &cfg->login_hash_queue, 0, 1000},
        {"hello_per_minute", &cfg->hello_per_minute, 1, 100000},
        {"hello_burst", &cfg->hello_burst, 1, 100000},
        {"ws_ping_interval", &cfg->ws_ping_interval, 5, 3600},
        /* requesters' links, sign-in and mail */
        {"smtp_starttls", &cfg->desk.smtp_starttls, 0, 1},
        {"mail_interval_ms", &cfg->mail_interval_ms, 10, 3600000},
        {"mail_retry_min", &cfg->desk.mail_retry_min, 1, 86400},
        {"mail_retry_max", &cfg->desk.mail_retry_max, 1, 604800},
        {"mail_max_attempts", &cfg->desk.mail_max_attempts, 1, 1000},
        {"signin_code_ttl", &cfg->desk.signin_code_ttl, 60, 86400},
        {"signin_max_tries", &cfg->desk.signin_max_tries, 1, 100},
        /* knowledge (file only) */
        {"knowledge_self_approval", &cfg->desk.knowledge_self_approval, 0, 1},
        /* several instances */
        {"cluster", &cfg->cluster, 0, 1},
        /* attachments */
        {"attach_max", &cfg->desk.attach_max, 1024, 1 << 30},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        if (strcmp(key, t[i].key) == 0) {
            *lo = t[i].lo;
            *hi = t[i].hi;
            return t[i].slot;
        }
    return NULL;
}

static void set_str(char **slot, const char *v)
{
    free(*slot);
    *slot = kb_xstrdup(v);
}

/* Validates value v for key and stores it. Returns 0, 1 for an unknown key,
 * or -1 with a message in err. */
static int config_set(struct cd_config *cfg, const char *key, const char *v, char *err,
                      size_t errlen)
{
    struct kb_config_daemon d = KB_CONFIG_DAEMON(cfg);
    int rc = kb_config_daemon_set(&d, key, v, err, errlen);
    if (rc <= 0)
        return rc;
    long lo, hi;
    int *slot = int_slot(cfg, key, &lo, &hi);
    if (slot) {
        return kb_config_int_key(key, v, lo, hi, slot, err, errlen);
    } else if (strcmp(key, "db") == 0) {
        set_str(&cfg->db, v);
    } else if (strcmp(key, "report_db") == 0) {
        set_str(&cfg->report_db, v); /* several instances: a standby for reports */
    } else if (strcmp(key, "migrations") == 0) {
        if (!kb_config_is_dir(v)) {
            kb_seterr(err, errlen, "migrations: \"%s\" is not a folder", v);
            return -1;
        }
        set_str(&cfg->migrations, v);
    } else if (strcmp(key, "allowed_origins") == 0) {
        char msg[KB_ERR_MAX];
        char *list = cd_origins_normalise(v, msg, sizeof msg);
        if (!list) {
            kb_seterr(err, errlen, "allowed_origins: %s", msg);
            return -1;
        }
        free(cfg->allowed_origins);
        cfg->allowed_origins = list;
    } else if (strcmp(key, "public_url") == 0 || strcmp(key, "smtp_url") == 0 ||
               strcmp(key, "smtp_from") == 0 || strcmp(key, "smtp_user") == 0 ||
               strcmp(key, "smtp_password") == 0) {
        /* requesters' links, sign-in and mail */
        char **slot = strcmp(key, "public_url") == 0  ? &cfg->public_url
                      : strcmp(key, "smtp_url") == 0  ? &cfg->smtp_url
                      : strcmp(key, "smtp_from") == 0 ? &cfg->smtp_from
                      : strcmp(key, "smtp_user") == 0 ? &cfg->smtp_user
                                                      : &cfg->smtp_password;
        if (strcspn(v, "\r\n") != strlen(v)) {
            kb_seterr(err, errlen, "%s: a line break in the value", key);
            return -1;
        }
        if ((slot == &cfg->public_url && strncmp(v, "http://", 7) != 0 &&
             strncmp(v, "https://", 8) != 0) ||
            (slot == &cfg->smtp_url && strncmp(v, "smtp://", 7) != 0 &&
             strncmp(v, "smtps://", 8) != 0) ||
            (slot == &cfg->smtp_from && (!strchr(v, '@') || strpbrk(v, "<>, ")))) {
            kb_seterr(err, errlen, "%s: \"%s\" is not %s", key, v,
                      slot == &cfg->public_url ? "an http:// or https:// address"
                      : slot == &cfg->smtp_url ? "an smtp:// or smtps:// URL"
                                               : "a mail address");
            return -1;
        }
        set_str(slot, v);
    } else if (strcmp(key, "attach_dir") == 0) { /* attachments */
        if (!*v) {
            kb_seterr(err, errlen, "attach_dir: empty");
            return -1;
        }
        set_str(&cfg->attach_dir, v);
    } else {
        return 1;
    }
    return 0;
}

/* ---- origins ------------------------------------------------------------------- */

/* One origin of n bytes at s, appended to b normalised; 0 or -1 with a
 * message in err. */
static int origin_add(struct kb_buf *b, const char *s, size_t n, char *err, size_t errlen)
{
    if (n && s[n - 1] == '/')
        n--;
    const char *host;
    if (n > 7 && strncasecmp(s, "http://", 7) == 0)
        host = s + 7;
    else if (n > 8 && strncasecmp(s, "https://", 8) == 0)
        host = s + 8;
    else
        goto bad;
    const char *end = s + n, *port = NULL;
    if (*host == '[') { /* [IPv6] */
        const char *close = memchr(host, ']', (size_t)(end - host));
        if (!close || close == host + 1)
            goto bad;
        for (const char *p = host + 1; p < close; p++)
            if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.')
                goto bad;
        if (close + 1 < end) {
            if (close[1] != ':')
                goto bad;
            port = close + 2;
        }
    } else {
        const char *p = host;
        for (; p < end && *p != ':'; p++)
            if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' && *p != '_')
                goto bad;
        if (p == host)
            goto bad;
        if (p < end)
            port = p + 1;
    }
    if (port) {
        long v = 0;
        if (port == end || end - port > 5)
            goto bad;
        for (const char *p = port; p < end; p++) {
            if (!isdigit((unsigned char)*p))
                goto bad;
            v = v * 10 + (*p - '0');
        }
        if (v < 1 || v > 65535)
            goto bad;
    }
    if (b->len)
        kb_buf_addc(b, ',');
    for (const char *p = s; p < end; p++)
        kb_buf_addc(b, (char)tolower((unsigned char)*p));
    return 0;
bad:
    kb_seterr(err, errlen, "\"%.*s\" is not an origin like http://host:port or https://host",
              (int)(n > 200 ? 200 : n), s);
    return -1;
}

char *cd_origins_normalise(const char *list, char *err, size_t errlen)
{
    struct kb_buf b;
    kb_buf_init(&b);
    const char *p = list;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        size_t n = strcspn(p, ",");
        size_t m = n;
        while (m && (p[m - 1] == ' ' || p[m - 1] == '\t'))
            m--;
        if (m == 0) {
            kb_seterr(err, errlen, "an empty origin in \"%s\"", list);
            kb_buf_fin(&b);
            return NULL;
        }
        if (origin_add(&b, p, m, err, errlen)) {
            kb_buf_fin(&b);
            return NULL;
        }
        if (!p[n])
            break;
        p += n + 1;
    }
    return kb_buf_take(&b);
}

/* ---- the file ----------------------------------------------------------------- */

static const char *const file_keys[] = {
    "index",  "db",    "listen",      "www",         "migrations",      "threads",
    "log_level", "max_frame", "rate", "burst",   "session_ttl", "suggestions",
    "auto_close_days", "maintenance_interval", "allowed_origins",
    /* logins and anonymous sessions */
    "login_max_failures", "login_lockout", "login_address_free", "login_address_max_delay",
    "login_hash_concurrency", "login_hash_queue", "hello_per_minute", "hello_burst",
    "knowledge_self_approval", "ws_ping_interval",
    /* service levels */
    "sla_interval",
    /* requesters' links, sign-in and mail */
    "public_url", "smtp_url", "smtp_from", "smtp_user", "smtp_password", "smtp_starttls",
    "mail_interval_ms", "mail_retry_min", "mail_retry_max", "mail_max_attempts",
    "signin_code_ttl", "signin_max_tries",
    /* several instances */
    "cluster", "report_db",
    /* attachments */
    "attach_dir", "attach_max",
    KB_NET_CONFIG_KEYS,
};
#define NKEYS (sizeof file_keys / sizeof *file_keys)

static int set_key(void *ud, const char *key, const char *value, char *err, size_t errlen)
{
    return config_set(ud, key, value, err, errlen) ? -1 : 0;
}

int cd_config_file(struct cd_config *cfg, const char *path, char *err, size_t errlen)
{
    return kb_config_read(path, file_keys, NKEYS, set_key, cfg, err, errlen);
}

void cd_config_fin(struct cd_config *cfg)
{
    free(cfg->index);
    free(cfg->db);
    free(cfg->host);
    free(cfg->www);
    free(cfg->migrations);
    free(cfg->allowed_origins);
    free(cfg->public_url);
    free(cfg->attach_dir);
    free(cfg->smtp_url);
    free(cfg->smtp_from);
    free(cfg->smtp_user);
    free(cfg->smtp_password);
    free(cfg->report_db);
    kb_net_config_fin(&cfg->net);
    memset(cfg, 0, sizeof *cfg);
}

void cd_config_defaults(struct cd_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->host = kb_xstrdup("127.0.0.1");
    cfg->port = 8081;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    cfg->threads = cores < 2 ? 2 : cores > 8 ? 8 : (int)cores;
    cfg->www = kb_xstrdup("chatdesk/www");
    cfg->migrations = kb_xstrdup("shared/store/migrations");
    cfg->log_level = KB_LOG_INFO;
    cfg->max_frame = 65536;
    cfg->rate = 20;
    cfg->burst = 40;
    cfg->maintenance_interval = 600;
    cfg->sla_interval = 30;
    desk_config_default(&cfg->desk);
    kb_net_config_init(&cfg->net, CD_DEFAULT_PER_ADDRESS);
    cfg->login_address_free = 5;
    cfg->login_address_max_delay = 60;
    cfg->login_hash_concurrency = 1;
    cfg->login_hash_queue = 2;
    cfg->hello_per_minute = 60;
    cfg->hello_burst = 20;
    cfg->ws_ping_interval = 30;
    cfg->mail_interval_ms = 5000;
    set_str(&cfg->attach_dir, "var/attachments");
}

int cd_config_load(struct cd_config *cfg, int argc, char **argv, char *err, size_t errlen)
{
    cd_config_defaults(cfg);
    struct kb_config_daemon d = KB_CONFIG_DAEMON(cfg);
    int rc = kb_config_daemon_load(&d, argc, argv, file_keys, NKEYS, set_key, cfg, cd_config_usage,
                                   err, errlen);
    if (rc == 0 && !cfg->db) {
        kb_seterr(err, errlen, "no database: give --db CONNINFO or `db = ...` (see --help)");
        rc = -1;
    }
    if (rc == 0 && cfg->smtp_url && !cfg->smtp_from) {
        kb_seterr(err, errlen, "smtp_url needs smtp_from (the sender's address)");
        rc = -1;
    }
    if (rc) {
        cd_config_fin(cfg);
        return rc;
    }
    cfg->desk.public_url = cfg->public_url;
    cfg->desk.smtp_url = cfg->smtp_url;
    cfg->desk.smtp_from = cfg->smtp_from;
    cfg->desk.smtp_user = cfg->smtp_user;
    cfg->desk.smtp_password = cfg->smtp_password;
    cfg->desk.report_db = cfg->report_db;
    cfg->desk.attach_dir = cfg->attach_dir;
    return 0;
}
