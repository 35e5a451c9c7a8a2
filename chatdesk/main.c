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

/* ---- the admin commands -------------------------------------------------------------- */

/* One call of an admin command: its name, its positional arguments and,
 * for a command that loads a file (args[0]), the file's bytes (owned by
 * admin_run, freed after act). */
struct admin_call {
    const char *cmd;
    int nargs;
    char **args;
    char *json;
    size_t len;
};

/* An admin command of the table below: the positional arguments
 * admin_options takes (want_arg), the further count check (min_args..
 * max_args, when usage is set; usage is printed after "usage: chatdesk "
 * otherwise), whether args[0] is a file read before the store opens, and
 * act, which returns the exit status. */
struct admin_command {
    const char *name;
    int want_arg;
    int min_args, max_args;
    const char *usage;
    int loads_file;
    int (*act)(struct store *st, const struct admin_call *c);
};

/* The options of an admin command (--db, --config, --migrations) into cfg
 * and its positional arguments into *nargs / *args: exactly one when
 * want_arg is 1, none when 0, 1..n when it is -n. Returns 0, or UA_USAGE
 * with the message printed. */
static int admin_options(const char *cmd, int argc, char **argv, int want_arg,
                         struct cd_config *cfg, int *nargs, char ***args)
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
    *nargs = argc - optind;
    *args = argv + optind;
    if (want_arg < 0 ? *nargs < 1 || *nargs > -want_arg : *nargs != (want_arg ? 1 : 0)) {
        fprintf(stderr, "usage: chatdesk %s%s [--db CONNINFO | --config FILE]"
                        " [--migrations DIR]\n",
                cmd, want_arg < 0 ? " ARGUMENTS (see --help)" : want_arg ? " USERNAME" : "");
        return UA_USAGE;
    }
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

/* Runs the admin command ac on argv (argv[0] is its name): the options
 * and argument counts, the file it loads, the migrated store, then act.
 * Returns the exit status (UA_USAGE, UA_DB, or act's). */
static int admin_run(const struct admin_command *ac, int argc, char **argv)
{
    struct cd_config cfg;
    struct admin_call c = {ac->name, 0, NULL, NULL, 0};
    struct store *st = NULL;
    char err[KB_ERR_MAX];
    int rc = admin_options(ac->name, argc, argv, ac->want_arg, &cfg, &c.nargs, &c.args);
    if (rc == UA_OK && ac->usage && (c.nargs < ac->min_args || c.nargs > ac->max_args)) {
        fprintf(stderr, "usage: chatdesk %s\n", ac->usage);
        rc = UA_USAGE;
    }
    if (rc == UA_OK && ac->loads_file && kb_read_file(c.args[0], &c.json, &c.len, err, sizeof err)) {
        fprintf(stderr, "chatdesk %s: %s\n", ac->name, err);
        rc = UA_USAGE;
    }
    if (rc == UA_OK && (migrate(cfg.db, cfg.migrations, NULL, err, sizeof err) ||
                        store_open(cfg.db, &st, err, sizeof err))) {
        fprintf(stderr, "chatdesk %s: %s\n", ac->name, err);
        rc = UA_DB;
    }
    if (rc == UA_OK)
        rc = ac->act(st, &c);
    free(c.json);
    store_close(st);
    cd_config_fin(&cfg);
    return rc;
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

/* The exit status of store call src of a command that changes settings:
 * UA_OK; UA_EXISTS after "chatdesk CMD: MESSAGE[SUFFIX]" when the store
 * refused (nothing found, a conflict, a bad value); UA_DB after the
 * store's message otherwise. */
static int admin_refused(const struct admin_call *c, struct store *st, int src,
                         const char *suffix)
{
    if (src == STORE_ENOTFOUND || src == STORE_ECONFLICT || src == STORE_EINVALID) {
        fprintf(stderr, "chatdesk %s: %s%s\n", c->cmd, store_errmsg(st), suffix);
        return UA_EXISTS;
    }
    if (src) {
        fprintf(stderr, "chatdesk %s: %s\n", c->cmd, store_errmsg(st));
        return UA_DB;
    }
    return UA_OK;
}

/* The exit status of a command that loads file args[0] in one
 * transaction: UA_OK; UA_USAGE after "chatdesk CMD: FILE: MESSAGE
 * (nothing loaded)" for a bad file; UA_DB after the store's message. */
static int admin_loaded(const struct admin_call *c, struct store *st, int src)
{
    if (src == STORE_EINVALID) {
        fprintf(stderr, "chatdesk %s: %s: %s (nothing loaded)\n", c->cmd, c->args[0],
                store_errmsg(st));
        return UA_USAGE;
    }
    if (src) {
        fprintf(stderr, "chatdesk %s: %s\n", c->cmd, store_errmsg(st));
        return UA_DB;
    }
    return UA_OK;
}

/* ---- unlock, lockouts, reviewer ------------------------------------------------------ */

/* chatdesk unlock USERNAME: ends an agent's lockout. */
static int unlock_act(struct store *st, const struct admin_call *c)
{
    const char *user = c->args[0];
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
static int reviewer_act(struct store *st, const struct admin_call *c)
{
    const char *user = c->args[0];
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
static int lockouts_act(struct store *st, const struct admin_call *c)
{
    (void)c;
    printf("username\taddress\tfailures\tlocked_at\tlocked_until\tstate\tunlocked_by\n");
    return admin_result("lockouts", st, store_lockouts(st, 50, print_lockout, NULL), "", "");
}

/* ---- teams and roles ---------------------------------------------------------- */

/* chatdesk team-add SLUG NAME [ENGLISH_NAME]. Exit status: 0, 2 usage,
 * 3 refused (a slug taken, a bad name), 1 database. */
static int team_add_act(struct store *st, const struct admin_call *c)
{
    int src = store_team_create(st, c->args[0], c->args[1], c->nargs > 2 ? c->args[2] : NULL,
                                NULL);
    if (src == 0) {
        printf("team %s (%s) created\n", c->args[0], c->args[1]);
        audit_cli(st, "setting", c->args[0], "team created");
    }
    return admin_refused(c, st, src, "");
}

/* chatdesk team-member USERNAME TEAM (-TEAM removes the agent from it);
 * role USERNAME ROLE (agent, admin, team_lead, knowledge_reviewer; -ROLE
 * takes an extra role away). Exit status: 0, 2 usage, 3 refused (unknown
 * agent or team, a bad role), 1 database. */
static int membership_act(struct store *st, const struct admin_call *c)
{
    struct store_agent a;
    const char *what = c->args[1];
    int add = what[0] != '-', role = strcmp(c->cmd, "role") == 0;
    if (!add)
        what++;
    int src = store_agent_by_username(st, c->args[0], &a);
    memset(a.password_hash, 0, sizeof a.password_hash);
    if (src == STORE_ENOTFOUND) {
        fprintf(stderr, "chatdesk %s: no enabled agent %s\n", c->cmd, c->args[0]);
        return UA_EXISTS;
    }
    if (src == 0)
        src = role ? store_person_role(st, a.id, what, add)
                   : store_team_member(st, a.id, what, add);
    if (src == 0) {
        printf("%s %s %s %s\n", c->args[0], add ? "now in/holds" : "no longer in/holds",
               role ? "role" : "team", what);
        char change[160];
        snprintf(change, sizeof change, "%s %s %.64s", add ? "granted" : "removed",
                 role ? "role" : "team membership", what);
        audit_cli(st, "role", c->args[0], change);
    }
    return admin_refused(c, st, src, "");
}

/* ---- the audit log ------------------------------------------------------------------- */

/* chatdesk audit verify: checks the hash chain. Exit status 4 when broken. */
static int audit_verify_act(struct store *st, const struct admin_call *c)
{
    (void)c;
    struct store_audit_check chk;
    if (store_audit_verify(st, &chk)) {
        fprintf(stderr, "chatdesk audit verify: %s\n", store_errmsg(st));
        return UA_DB;
    }
    if (!chk.ok) {
        printf("audit log: BROKEN: %s\n", chk.why);
        return UA_BROKEN;
    }
    printf("audit log: %lld rows checked, the chain is whole\n", (long long)chk.rows);
    return UA_OK;
}

/* chatdesk audit purge DAYS: deletes the rows older than DAYS days. */
static int audit_purge_act(struct store *st, const struct admin_call *c)
{
    const char *days = c->args[0];
    char *end = NULL;
    long d = strtol(days, &end, 10);
    int n = 0;
    if (!*days || *end || d < 1 || d > 36500) {
        fprintf(stderr, "chatdesk audit purge: DAYS is a whole number 1..36500\n");
        return UA_USAGE;
    }
    if (store_audit_purge(st, (int)d, &n)) {
        fprintf(stderr, "chatdesk audit purge: %s\n", store_errmsg(st));
        return UA_DB;
    }
    printf("audit log: %d rows older than %ld days deleted\n", n, d);
    audit_cli(st, "audit", "audit_log", "purged");
    return UA_OK;
}

/* ---- service levels and escalation ------------------------------------------------- */

/* chatdesk sla-load FILE: loads calendars, services and policies (the form
 * of corpora/calendars/cn-2026-2027.json) in one transaction. */
static int sla_load_act(struct store *st, const struct admin_call *c)
{
    struct store_sla_loaded res;
    int rc = admin_loaded(c, st, store_sla_load(st, c->json, c->len, 0, &res));
    if (rc == UA_OK) {
        printf("%s: %d calendars (%d new versions), %d services, %d policies\n", c->args[0],
               res.calendars, res.calendar_versions, res.services, res.policies);
        char change[160];
        snprintf(change, sizeof change,
                 "service levels loaded: %d calendars (%d new versions), %d services,"
                 " %d policies",
                 res.calendars, res.calendar_versions, res.services, res.policies);
        audit_cli(st, "setting", "sla", change);
    }
    return rc;
}

/* chatdesk sla-reapply NUMBER|all: recomputes running tickets' deadlines
 * with the current policies and calendar versions. */
static int sla_reapply_act(struct store *st, const struct admin_call *c)
{
    const char *which = c->args[0];
    int all = strcmp(which, "all") == 0, n = 0;
    int rc = admin_refused(c, st, store_sla_reapply(st, all ? NULL : which, 0, &n),
                           " (nothing changed)");
    if (rc == UA_OK) {
        printf("recomputed the deadlines of %d ticket%s\n", n, n == 1 ? "" : "s");
        audit_cli(st, all ? "setting" : "ticket", which, "deadlines recomputed (sla-reapply)");
    }
    return rc;
}

/* chatdesk escalation-load FILE: escalation rules, team order and quiet
 * hours (store_escalation_load's form), replacing the loaded ones. Exit
 * status: 0, 2 a bad file (nothing loaded), 1 database. */
static int escalation_load_act(struct store *st, const struct admin_call *c)
{
    struct store_esc_loaded res;
    int rc = admin_loaded(c, st, store_escalation_load(st, c->json, c->len, &res));
    if (rc == UA_OK) {
        printf("%s: %d rules, %d quiet hours, %d teams in order\n", c->args[0], res.rules,
               res.quiet_hours, res.team_order);
        if (res.major_priority)
            printf("%s: priority %d and more urgent: major incidents\n", c->args[0],
                   res.major_priority);
    }
    return rc;
}

/* chatdesk agent-email USERNAME ADDRESS|-: the address notification mails
 * go to ("-": none). Exit status: 0, 2 usage, 3 refused, 1 database. */
static int agent_email_act(struct store *st, const struct admin_call *c)
{
    const char *addr = strcmp(c->args[1], "-") == 0 ? NULL : c->args[1];
    int rc = admin_refused(c, st, store_agent_email(st, c->args[0], addr), "");
    if (rc == UA_OK)
        printf("%s: mail to %s\n", c->args[0], addr ? addr : "(none)");
    return rc;
}

/* ---- group robots and webhooks ------------------------------------------------------- */

static int print_hook(void *arg, const struct store_hook *h)
{
    (void)arg;
    printf("%lld\t%s\t%s\t%s\t%s\t%s\t%s\t%d/%d/%d\t%s\n", (long long)h->id, h->kind,
           h->name ? h->name : "-", h->team ? h->team : "-", h->url, h->events,
           h->has_secret ? "secret" : "-", h->queued, h->sent, h->failed,
           h->last_error ? h->last_error : "-");
    return 0;
}

/* chatdesk robot-add KIND NAME URL [TEAM|-] [SECRET] | webhook-add URL
 * SECRET [EVENT,...|*] */
static int hook_add_act(struct store *st, const struct admin_call *c)
{
    int webhooks = strcmp(c->cmd, "webhook-add") == 0;
    struct store_hook_new h = {0};
    if (webhooks) {
        h.kind = "webhook";
        h.url = c->args[0];
        h.secret = c->args[1];
        h.events = c->nargs > 2 ? c->args[2] : "*";
    } else {
        h.kind = c->args[0];
        h.name = c->args[1];
        h.url = c->args[2];
        h.team = c->nargs > 3 && strcmp(c->args[3], "-") ? c->args[3] : NULL;
        h.secret = c->nargs > 4 ? c->args[4] : NULL;
        h.events = "created,assigned,transferred,resolved,sla_breach";
    }
    int64_t id = 0;
    int src = store_hook_create(st, 0, &h, &id);
    if (src == 0)
        printf("%s %lld added\n", webhooks ? "webhook" : "robot", (long long)id);
    return admin_refused(c, st, src, "");
}

/* chatdesk robot-del ID | webhook-del ID */
static int hook_del_act(struct store *st, const struct admin_call *c)
{
    int webhooks = strcmp(c->cmd, "webhook-del") == 0;
    const char *first = c->args[0];
    char *end = NULL;
    long long id = strtoll(first, &end, 10);
    if (!*first || *end || id < 1) {
        fprintf(stderr, "chatdesk %s: ID is a number\n", c->cmd);
        return UA_EXISTS;
    }
    int src = store_hook_delete(st, 0, webhooks, id);
    if (src == 0)
        printf("%s %lld deleted\n", webhooks ? "webhook" : "robot", id);
    return admin_refused(c, st, src, "");
}

/* chatdesk robots | webhooks: the list, with delivery counts. */
static int hook_list_act(struct store *st, const struct admin_call *c)
{
    printf("id\tkind\tname\tteam\turl\tevents\tsecret\tqueued/sent/failed\tlast_error\n");
    return admin_refused(c, st, store_hook_list(st, 0, strcmp(c->cmd, "webhooks") == 0,
                                                print_hook, NULL),
                         "");
}

/* ---- the table ------------------------------------------------------------------------ */

#define TEAM_USAGE                                                                             \
    "team-add SLUG NAME [ENGLISH_NAME] | team-member USERNAME [-]TEAM | role USERNAME [-]ROLE"
#define HOOK_USAGE "robot-add KIND NAME URL [TEAM|-] [SECRET] | webhook-add URL SECRET [EVENT,...|*]"

static const struct admin_command admin_commands[] = {
    {"unlock", 1, 0, 0, NULL, 0, unlock_act},
    {"lockouts", 0, 0, 0, NULL, 0, lockouts_act},
    {"reviewer", 1, 0, 0, NULL, 0, reviewer_act},
    {"sla-load", 1, 0, 0, NULL, 1, sla_load_act},
    {"sla-reapply", 1, 0, 0, NULL, 0, sla_reapply_act},
    {"team-add", -3, 2, 3, TEAM_USAGE, 0, team_add_act},
    {"team-member", -3, 2, 2, TEAM_USAGE, 0, membership_act},
    {"role", -3, 2, 2, TEAM_USAGE, 0, membership_act},
    {"robot-add", -5, 3, 5, HOOK_USAGE, 0, hook_add_act},
    {"webhook-add", -5, 2, 3, HOOK_USAGE, 0, hook_add_act},
    {"robot-del", 1, 0, 0, NULL, 0, hook_del_act},
    {"webhook-del", 1, 0, 0, NULL, 0, hook_del_act},
    {"robots", 0, 0, 0, NULL, 0, hook_list_act},
    {"webhooks", 0, 0, 0, NULL, 0, hook_list_act},
    {"escalation-load", 1, 0, 0, NULL, 1, escalation_load_act},
    {"agent-email", -2, 2, 2, "agent-email USERNAME ADDRESS|-", 0, agent_email_act},
    {"audit verify", 0, 0, 0, NULL, 0, audit_verify_act},
    {"audit purge", 1, 0, 0, NULL, 0, audit_purge_act},
    {NULL, 0, 0, 0, NULL, 0, NULL},
};

/* The admin command argv[1] names (argv[1] argv[2] for audit), or NULL. */
static const struct admin_command *admin_find(int argc, char **argv, int *skip)
{
    char name[64];
    *skip = 1;
    if (argc > 2 && strcmp(argv[1], "audit") == 0) {
        snprintf(name, sizeof name, "audit %.40s", argv[2]);
        *skip = 2;
    } else {
        snprintf(name, sizeof name, "%.60s", argc > 1 ? argv[1] : "");
    }
    for (const struct admin_command *ac = admin_commands; ac->name; ac++)
        if (strcmp(ac->name, name) == 0)
            return ac;
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "useradd") == 0)
        return useradd(argc - 1, argv + 1);
    int skip = 1;
    const struct admin_command *ac = admin_find(argc, argv, &skip);
    if (ac)
        return admin_run(ac, argc - skip, argv + skip);
    if (argc > 1 && strcmp(argv[1], "audit") == 0) {
        fprintf(stderr, "usage: chatdesk audit verify | purge DAYS"
                        " [--db CONNINFO | --config FILE]\n");
        return UA_USAGE;
    }
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
