/* chatdesk: the kbdesk chat service desk. `chatdesk [flags]` runs the daemon
 * (options and config, migrations, the server: lws context and workers, the
 * service loop until SIGTERM/SIGINT, a clean shutdown); `chatdesk useradd
 * --agent NAME` creates an agent account; `chatdesk unlock NAME` ends an
 * account's lockout and `chatdesk lockouts` lists the latest lockouts;
 * `chatdesk reviewer NAME` makes an agent a knowledge reviewer; `chatdesk
 * sla-load FILE` loads calendars, services and SLA policies, `chatdesk
 * sla-reapply NUMBER|all` recomputes running tickets' deadlines, and
 * `chatdesk team-add`, `team-member` and `role` manage teams and roles. See
 * `chatdesk --help`. */
#include "auth.h"
#include "config.h"
#include "mail.h"
#include "kb_log.h"
#include "kb_lws.h"
#include "store.h"
#include "ws.h"
#include "kb_util.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static int migrate(const char *conninfo, const char *dir, int *applied, char *err,
                   size_t errlen)
{
    struct store *st;
    if (store_open(conninfo, &st, err, errlen))
        return -1;
    int rc = store_migrate(st, dir, applied);
    if (rc)
        kb_seterr(err, errlen, "migrations in %s: %s", dir, store_errmsg(st));
    store_close(st);
    return rc ? -1 : 0;
}

/* ---- useradd ------------------------------------------------------------------------ */

static void audit_cli(struct store *st, const char *object_type, const char *object_id,
                      const char *what);

enum { UA_OK = 0, UA_DB = 1, UA_USAGE = 2, UA_EXISTS = 3, UA_BROKEN = 4 };

/* Reads one line (the password) from stdin without its line end; echo is
 * off on a terminal. Returns 0, or -1 (nothing, too long, unreadable). */
static int read_password(char *buf, size_t size)
{
    int tty = isatty(STDIN_FILENO);
    struct termios old, quiet;
    if (tty) {
        fprintf(stderr, "password: ");
        fflush(stderr);
        if (tcgetattr(STDIN_FILENO, &old) == 0) {
            quiet = old;
            quiet.c_lflag &= ~(tcflag_t)ECHO;
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
        } else {
            tty = 0;
        }
    }
    char *got = fgets(buf, (int)size, stdin);
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fprintf(stderr, "\n");
    }
    if (!got)
        return -1;
    size_t n = strlen(buf);
    if (n == size - 1 && buf[n - 1] != '\n')
        return -1; /* longer than the buffer */
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    return 0;
}

static int useradd(int argc, char **argv)
{
    static const struct option opts[] = {
        {"agent", required_argument, NULL, 'a'},   {"name", required_argument, NULL, 'n'},
        {"db", required_argument, NULL, 'd'},      {"config", required_argument, NULL, 'c'},
        {"migrations", required_argument, NULL, 'm'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *agent = NULL, *name = NULL, *db = NULL, *config = NULL, *migrations = NULL;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (c) {
        case 'a': agent = optarg; break;
        case 'n': name = optarg; break;
        case 'd': db = optarg; break;
        case 'c': config = optarg; break;
        case 'm': migrations = optarg; break;
        case 'h': cd_config_usage(stdout); return UA_OK;
        case ':':
            fprintf(stderr, "chatdesk useradd: %s needs a value\n", argv[optind - 1]);
            return UA_USAGE;
        default:
            fprintf(stderr, "chatdesk useradd: unknown option %s (see chatdesk --help)\n",
                    argv[optind - 1]);
            return UA_USAGE;
        }
    }
    if (optind < argc || !agent) {
        fprintf(stderr, "usage: chatdesk useradd --agent USERNAME [--name DISPLAY_NAME]"
                        " [--db CONNINFO | --config FILE] [--migrations DIR]\n");
        return UA_USAGE;
    }
    struct cd_config cfg;
    char err[KB_ERR_MAX];
    cd_config_defaults(&cfg);
    if (config && cd_config_file(&cfg, config, err, sizeof err)) {
        fprintf(stderr, "chatdesk useradd: %s\n", err);
        cd_config_fin(&cfg);
        return UA_USAGE;
    }
    if (db) {
        free(cfg.db);
        cfg.db = kb_xstrdup(db);
    }
    if (migrations) {
        free(cfg.migrations);
        cfg.migrations = kb_xstrdup(migrations);
    }
    int rc = UA_OK;
    if (!cfg.db) {
        fprintf(stderr, "chatdesk useradd: no database: give --db or --config\n");
        rc = UA_USAGE;
    }
    char pw[AUTH_PASSWORD_MAX + 2];
    if (rc == UA_OK && auth_init()) {
        fprintf(stderr, "chatdesk useradd: libsodium cannot start\n");
        rc = UA_DB;
    }
    if (rc == UA_OK && (read_password(pw, sizeof pw) || !pw[0])) {
        fprintf(stderr, "chatdesk useradd: no password on stdin (an empty one is refused;"
                        " at most %d bytes)\n",
                AUTH_PASSWORD_MAX);
        rc = UA_USAGE;
    }
    char hash[AUTH_PWHASH_MAX];
    if (rc == UA_OK && auth_hash_password(pw, hash)) {
        fprintf(stderr, "chatdesk useradd: cannot hash the password\n");
        rc = UA_USAGE;
    }
    memset(pw, 0, sizeof pw);
    if (rc == UA_OK && migrate(cfg.db, cfg.migrations, NULL, err, sizeof err)) {
        fprintf(stderr, "chatdesk useradd: %s\n", err);
        rc = UA_DB;
    }
    struct store *st = NULL;
    if (rc == UA_OK && store_open(cfg.db, &st, err, sizeof err)) {
        fprintf(stderr, "chatdesk useradd: %s\n", err);
        rc = UA_DB;
    }
    if (rc == UA_OK) {
        int64_t id;
        int src = store_agent_create(st, agent, name ? name : agent, hash, &id);
        if (src == STORE_ECONFLICT) {
            fprintf(stderr, "chatdesk useradd: the user name %s exists already\n", agent);
            rc = UA_EXISTS;
        } else if (src == STORE_EINVALID) {
            fprintf(stderr, "chatdesk useradd: bad user name or display name (%s)\n",
                    store_errmsg(st));
            rc = UA_USAGE;
        } else if (src) {
            fprintf(stderr, "chatdesk useradd: %s\n", store_errmsg(st));
            rc = UA_DB;
        } else {
            printf("agent %s created (id %lld)\n", agent, (long long)id);
            audit_cli(st, "person", agent, "agent account created");
        }
    }
    store_close(st);
    cd_config_fin(&cfg);
    return rc;
}

/* ---- unlock, lockouts ------------------------------------------------------------- */

/* The positional arguments admin_options saw (for commands taking more
 * than one). */
static int admin_nargs;
static char **admin_args;

/* The options of unlock / lockouts (--db, --config, --migrations) into cfg
 * and the one positional argument into *arg (when want_arg is 1; a negative
 * want_arg -n takes 1..n of them, in admin_args). Returns 0, or UA_USAGE
 * with the message printed. */
static int admin_options(const char *cmd, int argc, char **argv, int want_arg,
                         struct cd_config *cfg, const char **arg)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},
        {"config", required_argument, NULL, 'c'},
        {"migrations", required_argument, NULL, 'm'},
        {NULL, 0, NULL, 0},
    };
    const char *db = NULL, *config = NULL, *migrations = NULL;
    int c;
    opterr = 0;
    optind = 1;
    cd_config_defaults(cfg);
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 'c': config = optarg; break;
        case 'm': migrations = optarg; break;
        default:
            fprintf(stderr, "chatdesk %s: bad option %s (see chatdesk --help)\n", cmd,
                    argv[optind - 1]);
            return UA_USAGE;
        }
    }
    admin_nargs = argc - optind;
    admin_args = argv + optind;
    if (want_arg < 0 ? admin_nargs < 1 || admin_nargs > -want_arg
                     : admin_nargs != (want_arg ? 1 : 0)) {
        fprintf(stderr, "usage: chatdesk %s%s [--db CONNINFO | --config FILE]"
                        " [--migrations DIR]\n",
                cmd, want_arg < 0 ? " ARGUMENTS (see --help)" : want_arg ? " USERNAME" : "");
        return UA_USAGE;
    }
    if (want_arg)
        *arg = argv[optind];
    char err[KB_ERR_MAX];
    if (config && cd_config_file(cfg, config, err, sizeof err)) {
        fprintf(stderr, "chatdesk %s: %s\n", cmd, err);
        return UA_USAGE;
    }
    if (db) {
        free(cfg->db);
        cfg->db = kb_xstrdup(db);
    }
    if (migrations) {
        free(cfg->migrations);
        cfg->migrations = kb_xstrdup(migrations);
    }
    if (!cfg->db) {
        fprintf(stderr, "chatdesk %s: no database: give --db or --config\n", cmd);
        return UA_USAGE;
    }
    return 0;
}

/* Opens the store of cfg after applying the migrations. UA_OK or UA_DB. */
static int admin_store(const char *cmd, const struct cd_config *cfg, struct store **st)
{
    char err[KB_ERR_MAX];
    *st = NULL;
    if (migrate(cfg->db, cfg->migrations, NULL, err, sizeof err) ||
        store_open(cfg->db, st, err, sizeof err)) {
        fprintf(stderr, "chatdesk %s: %s\n", cmd, err);
        return UA_DB;
    }
    return UA_OK;
}

/* An audit row for a change made from the command line (actor: the
 * operating-system user, in detail). A failure is reported, not fatal:
 * the change is made. */
static void audit_cli(struct store *st, const char *object_type, const char *object_id,
                      const char *what)
{
    const char *by = getenv("SUDO_USER");
    if (!by || !*by)
        by = getenv("USER");
    json_t *d = json_pack("{s:s, s:s}", "change", what, "os_user", by && *by ? by : "unknown");
    struct store_audit_entry e = {0, "cli", NULL, "change", object_type, object_id, d};
    if (store_audit_add(st, &e))
        fprintf(stderr, "chatdesk: the audit row was not written: %s\n", store_errmsg(st));
    json_decref(d);
}

/* The exit status of an admin command's store call src: UA_OK; UA_EXISTS
 * with "chatdesk CMD: NOTFOUND USER" when nothing was found; UA_DB with
 * the store's message otherwise. */
static int admin_result(const char *cmd, struct store *st, int src, const char *notfound,
                        const char *user)
{
    if (src == STORE_ENOTFOUND) {
        fprintf(stderr, "chatdesk %s: %s %s\n", cmd, notfound, user);
        return UA_EXISTS;
    }
    if (src) {
        fprintf(stderr, "chatdesk %s: %s\n", cmd, store_errmsg(st));
        return UA_DB;
    }
    return UA_OK;
}

/* An admin command: its options (with a USERNAME argument when want_arg),
 * the migrated store, then act(st, user); returns the exit status. */
static int admin_cmd(const char *cmd, int argc, char **argv, int want_arg,
                     int (*act)(struct store *st, const char *user))
{
    struct cd_config cfg;
    const char *user = NULL;
    struct store *st = NULL;
    int rc = admin_options(cmd, argc, argv, want_arg, &cfg, want_arg ? &user : NULL);
    if (rc == UA_OK)
        rc = admin_store(cmd, &cfg, &st);
    if (rc == UA_OK)
        rc = act(st, user);
    store_close(st);
    cd_config_fin(&cfg);
    return rc;
}

/* chatdesk unlock USERNAME: ends an agent's lockout. */
static int unlock_act(struct store *st, const char *user)
{
    /* who unlocked: the operating-system user running this command */
    const char *by = getenv("SUDO_USER");
    if (!by || !*by)
        by = getenv("USER");
    char who[160];
    snprintf(who, sizeof who, "chatdesk unlock (%s)", by && *by ? by : "unknown user");
    int was = 0;
    int rc = admin_result("unlock", st, store_login_unlock(st, user, who, &was), "no agent", user);
    if (rc == UA_OK)
        printf(was ? "agent %s unlocked\n" : "agent %s was not locked (failures reset)\n", user);
    if (rc == UA_OK)
        audit_cli(st, "person", user, "unlocked");
    return rc;
}

/* chatdesk reviewer USERNAME: grants the knowledge_reviewer role. */
static int reviewer_act(struct store *st, const char *user)
{
    struct store_agent a;
    int src = store_agent_by_username(st, user, &a);
    if (src == 0)
        src = store_person_role(st, a.id, "knowledge_reviewer", 1);
    memset(a.password_hash, 0, sizeof a.password_hash);
    int rc = admin_result("reviewer", st, src, "no enabled agent", user);
    if (rc == UA_OK)
        printf("agent %s is a knowledge reviewer\n", user);
    if (rc == UA_OK)
        audit_cli(st, "role", user, "granted knowledge_reviewer");
    return rc;
}

/* ---- teams and roles ---------------------------------------------------------- */

/* chatdesk team-add SLUG NAME [ENGLISH_NAME]; team-member USERNAME TEAM
 * (-TEAM removes the agent from it); role USERNAME ROLE (agent, admin,
 * team_lead, knowledge_reviewer; -ROLE takes an extra role away). Exit
 * status: 0, 2 usage, 3 refused (unknown agent or team, a
 * slug taken, a bad role), 1 database. */
static int team_cmd(const char *cmd, int argc, char **argv)
{
    struct cd_config cfg;
    const char *first = NULL;
    struct store *st = NULL;
    int rc = admin_options(cmd, argc, argv, -3, &cfg, &first);
    int adding = strcmp(cmd, "team-add") == 0;
    if (rc == UA_OK && (admin_nargs < 2 || (!adding && admin_nargs != 2))) {
        fprintf(stderr, "usage: chatdesk team-add SLUG NAME [ENGLISH_NAME] | team-member USERNAME "
                        "[-]TEAM | role USERNAME [-]ROLE\n");
        rc = UA_USAGE;
    }
    if (rc == UA_OK)
        rc = admin_store(cmd, &cfg, &st);
    if (rc == UA_OK) {
        int src = 0, told = 0;
        if (adding) {
            src = store_team_create(st, admin_args[0], admin_args[1],
                                    admin_nargs > 2 ? admin_args[2] : NULL, NULL);
            if (src == 0) {
                printf("team %s (%s) created\n", admin_args[0], admin_args[1]);
                audit_cli(st, "setting", admin_args[0], "team created");
            }
        } else {
            struct store_agent a;
            const char *what = admin_args[1];
            int add = what[0] != '-';
            if (!add)
                what++;
            src = store_agent_by_username(st, admin_args[0], &a);
            memset(a.password_hash, 0, sizeof a.password_hash);
            if (src == STORE_ENOTFOUND) {
                fprintf(stderr, "chatdesk %s: no enabled agent %s\n", cmd, admin_args[0]);
                told = 1;
            } else if (src == 0 && strcmp(cmd, "team-member") == 0)
                src = store_team_member(st, a.id, what, add);
            else if (src == 0)
                src = store_person_role(st, a.id, what, add);
            if (src == 0) {
                int role = strcmp(cmd, "role") == 0;
                printf("%s %s %s %s\n", admin_args[0], add ? "now in/holds" : "no longer in/holds",
                       role ? "role" : "team", what);
                char change[160];
                snprintf(change, sizeof change, "%s %s %.64s", add ? "granted" : "removed",
                         role ? "role" : "team membership", what);
                audit_cli(st, "role", admin_args[0], change);
            }
        }
        if (src == STORE_ENOTFOUND || src == STORE_ECONFLICT || src == STORE_EINVALID) {
            if (!told)
                fprintf(stderr, "chatdesk %s: %s\n", cmd, store_errmsg(st));
            rc = UA_EXISTS;
        } else if (src) {
            fprintf(stderr, "chatdesk %s: %s\n", cmd, store_errmsg(st));
            rc = UA_DB;
        }
    }
    store_close(st);
    cd_config_fin(&cfg);
    return rc;
}

static void print_time(int64_t t)
{
    char buf[32] = "-";
    time_t tt = (time_t)t;
    struct tm tm;
    if (t && gmtime_r(&tt, &tm))
        strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    printf("\t%s", buf);
}

static int print_lockout(void *arg, const struct store_lockout *l)
{
    (void)arg;
    printf("%s\t%s\t%d", l->username ? l->username : "-", l->address ? l->address : "-",
           l->failures);
    print_time(l->locked_at);
    print_time(l->locked_until);
    printf("\t%s\t%s\n", l->active ? "locked" : l->unlocked_by ? "unlocked" : "expired",
           l->unlocked_by ? l->unlocked_by : "-");
    return 0;
}

/* chatdesk lockouts: the latest lockouts. */
static int lockouts_act(struct store *st, const char *user)
{
    (void)user;
    printf("username\taddress\tfailures\tlocked_at\tlocked_until\tstate\tunlocked_by\n");
    return admin_result("lockouts", st, store_lockouts(st, 50, print_lockout, NULL), "", "");
}

/* chatdesk audit verify | chatdesk audit purge DAYS */
static int audit_cmd(int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : "";
    int verify = strcmp(sub, "verify") == 0, purge = strcmp(sub, "purge") == 0;
    if (!verify && !purge) {
        fprintf(stderr, "usage: chatdesk audit verify | purge DAYS"
                        " [--db CONNINFO | --config FILE]\n");
        return UA_USAGE;
    }
    struct cd_config cfg;
    const char *days = NULL;
    struct store *st = NULL;
    int rc = admin_options(verify ? "audit verify" : "audit purge", argc - 1, argv + 1, purge,
                           &cfg, &days);
    if (rc == UA_OK)
        rc = admin_store("audit", &cfg, &st);
    if (rc == UA_OK && verify) {
        struct store_audit_check c;
        if (store_audit_verify(st, &c)) {
            fprintf(stderr, "chatdesk audit verify: %s\n", store_errmsg(st));
            rc = UA_DB;
        } else if (c.ok) {
            printf("audit log: %lld rows checked, the chain is whole\n", (long long)c.rows);
        } else {
            printf("audit log: BROKEN: %s\n", c.why);
            rc = UA_BROKEN;
        }
    } else if (rc == UA_OK) {
        char *end = NULL;
        long d = strtol(days, &end, 10);
        int n = 0;
        if (!*days || *end || d < 1 || d > 36500) {
            fprintf(stderr, "chatdesk audit purge: DAYS is a whole number 1..36500\n");
            rc = UA_USAGE;
        } else if (store_audit_purge(st, (int)d, &n)) {
            fprintf(stderr, "chatdesk audit purge: %s\n", store_errmsg(st));
            rc = UA_DB;
        } else {
            printf("audit log: %d rows older than %ld days deleted\n", n, d);
            audit_cli(st, "audit", "audit_log", "purged");
        }
    }
    store_close(st);
    cd_config_fin(&cfg);
    return rc;
}

/* ---- service levels ------------------------------------------------------------------ */

/* chatdesk sla-load FILE: loads calendars, services and policies (the form
 * of corpora/calendars/cn-2026-2027.json) in one transaction. */
static int sla_load_cmd(int argc, char **argv)
{
    struct cd_config cfg;
    const char *file = NULL;
    struct store *st = NULL;
    int rc = admin_options("sla-load", argc, argv, 1, &cfg, &file);
    char *json = NULL;
    size_t len = 0;
    char err[KB_ERR_MAX];
    if (rc == UA_OK && kb_read_file(file, &json, &len, err, sizeof err)) {
        fprintf(stderr, "chatdesk sla-load: %s\n", err);
        rc = UA_USAGE;
    }
    if (rc == UA_OK)
        rc = admin_store("sla-load", &cfg, &st);
    if (rc == UA_OK) {
        struct store_sla_loaded res;
        int src = store_sla_load(st, json, len, 0, &res);
        if (src == STORE_EINVALID) {
            fprintf(stderr, "chatdesk sla-load: %s: %s (nothing loaded)\n", file,
                    store_errmsg(st));
            rc = UA_USAGE;
        } else if (src) {
            fprintf(stderr, "chatdesk sla-load: %s\n", store_errmsg(st));
            rc = UA_DB;
        } else {
            printf("%s: %d calendars (%d new versions), %d services, %d policies\n", file,
                   res.calendars, res.calendar_versions, res.services, res.policies);
            char change[160];
            snprintf(change, sizeof change,
                     "service levels loaded: %d calendars (%d new versions), %d services,"
                     " %d policies",
                     res.calendars, res.calendar_versions, res.services, res.policies);
            audit_cli(st, "setting", "sla", change);
        }
    }
    free(json);
    store_close(st);
    cd_config_fin(&cfg);
    return rc;
}

/* chatdesk sla-reapply NUMBER|all: recomputes running tickets' deadlines
 * with the current policies and calendar versions. */
static int sla_reapply_cmd(int argc, char **argv)
{
    struct cd_config cfg;
    const char *which = NULL;
    struct store *st = NULL;
    int rc = admin_options("sla-reapply", argc, argv, 1, &cfg, &which);
    if (rc == UA_OK)
        rc = admin_store("sla-reapply", &cfg, &st);
    if (rc == UA_OK) {
        int n = 0;
        int src = store_sla_reapply(st, strcmp(which, "all") == 0 ? NULL : which, 0, &n);
        if (src == STORE_ENOTFOUND || src == STORE_EINVALID) {
            fprintf(stderr, "chatdesk sla-reapply: %s (nothing changed)\n", store_errmsg(st));
            rc = UA_EXISTS;
        } else if (src) {
            fprintf(stderr, "chatdesk sla-reapply: %s\n", store_errmsg(st));
            rc = UA_DB;
        } else {
            printf("recomputed the deadlines of %d ticket%s\n", n, n == 1 ? "" : "s");
            audit_cli(st, strcmp(which, "all") == 0 ? "setting" : "ticket", which,
                      "deadlines recomputed (sla-reapply)");
        }
    }
    store_close(st);
    cd_config_fin(&cfg);
    return rc;
}

/* ---- the daemon ---------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "useradd") == 0)
        return useradd(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "unlock") == 0)
        return admin_cmd("unlock", argc - 1, argv + 1, 1, unlock_act);
    if (argc > 1 && strcmp(argv[1], "lockouts") == 0)
        return admin_cmd("lockouts", argc - 1, argv + 1, 0, lockouts_act);
    if (argc > 1 && strcmp(argv[1], "reviewer") == 0)
        return admin_cmd("reviewer", argc - 1, argv + 1, 1, reviewer_act);
    if (argc > 1 && strcmp(argv[1], "audit") == 0)
        return audit_cmd(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "sla-load") == 0)
        return sla_load_cmd(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "sla-reapply") == 0)
        return sla_reapply_cmd(argc - 1, argv + 1);
    if (argc > 1 && (strcmp(argv[1], "team-add") == 0 || strcmp(argv[1], "team-member") == 0 ||
                     strcmp(argv[1], "role") == 0))
        return team_cmd(argv[1], argc - 1, argv + 1);

    struct cd_config cfg;
    char err[KB_ERR_MAX];
    int rc = cd_config_load(&cfg, argc, argv, err, sizeof err);
    if (rc == 1)
        return 0;
    if (rc) {
        fprintf(stderr, "chatdesk: %s\n", err);
        return 2;
    }
    kb_log_setup("chatdesk", cfg.log_level);
    signal(SIGPIPE, SIG_IGN);
    if (auth_init()) {
        kb_err("libsodium cannot start (no randomness?)");
        cd_config_fin(&cfg);
        return 1;
    }
    if (mail_init()) { /* libcurl, before the workers start */
        kb_err("libcurl cannot start");
        cd_config_fin(&cfg);
        return 1;
    }
    if (!cfg.smtp_url)
        kb_info("mail: no relay configured (smtp_url): mails stay queued in mail_outbox");
    int applied = 0;
    if (migrate(cfg.db, cfg.migrations, &applied, err, sizeof err)) {
        kb_err("%s", err);
        cd_config_fin(&cfg);
        return 1;
    }
    if (applied)
        kb_info("applied %d migration%s", applied, applied == 1 ? "" : "s");

    cd_server *s;
    if (cd_server_new(&cfg, &s, err, sizeof err)) {
        kb_err("%s", err);
        cd_config_fin(&cfg);
        return 1;
    }
    kb_info("serving %s with %d worker threads", cfg.index, cfg.threads);
    rc = kb_lws_serve(cfg.host, cd_server_net(s));
    /* the count of Argon2id checks tells how much hashing logins cost
     * (the e2e tests read it) */
    kb_info("shutting down after %lu password checks", auth_verify_count());
    cd_server_free(s);
    cd_config_fin(&cfg);
    return rc;
}
