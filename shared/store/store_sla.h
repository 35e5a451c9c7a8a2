/* store_sla: service levels in PostgreSQL (migration 010_sla.sql):
 * business calendars and their versions, the service catalogue, SLA
 * policies per service x priority, each ticket's service-level clock
 * (service, policy, the calendar version used, deadlines counted in working
 * time by kb_calendar), and the timer step that marks warnings and breaches.
 *
 * Every change of a ticket's clock is one function writing the ticket_sla
 * row, the ticket's deadlines and its ticket_events row in one
 * transaction; the event types and the statuses they may happen in are one
 * table (store_sla_next):
 *
 *     sla_applied  new, assigned, reopened, resolved  -> same
 *     sla_warning  new, assigned, reopened            -> same
 *     sla_breach   new, assigned, reopened            -> same
 *     (and each of the three in pending -> pending, 014_pause.sql)
 *
 * Versions: saving a calendar whose content changed adds a version; a
 * ticket keeps the version (and the targets) it was computed with until a
 * change of its service or priority, or an explicit re-apply
 * (store_sla_reapply), recomputes it. A change of priority keeps the
 * ticket's calendar version when the service's calendar is the same; a
 * change of service, or a re-apply, takes the current version. Deadlines
 * always count from the ticket's creation. A warning or breach already
 * marked stays marked unless the recomputed threshold lies in the future.
 *
 * Pauses (014_pause.sql): the resolution clock is an append-only list of
 * running and paused segments (ticket_sla_segments); a ticket waiting for
 * its requester (status pending) has an open paused segment. The
 * resolution deadline and its warning count the target's working time
 * over the running segments only (kb_slaclock.h), so every recomputation
 * (priority, service, re-apply, the end of a pause) derives them from the
 * segments and keeps the paused time earned. While paused, the stored
 * instants are those the clock would have if it resumed at once and the
 * timer does not mark the resolution clock; the end of the pause
 * recomputes them ("sla_applied", reason "resumed"). The response clock
 * never pauses: the first human answer meets it.
 *
 * Strings handed to callbacks are borrowed (valid during the call);
 * structs filled here own nothing unless they have a _fin. */
#ifndef STORE_SLA_H
#define STORE_SLA_H

#include "store_pg.h"

/* calendar and service names: [A-Za-z0-9][A-Za-z0-9._-]{0,63}, with the NUL */
#define STORE_SLA_NAME_MAX 65
/* a title: at most 200 characters of UTF-8, with the NUL */
#define STORE_SLA_TITLE_MAX 801

/* The status a ticket in status from keeps after SLA event event
 * ("sla_applied", "sla_warning", "sla_breach"), by the table above; NULL
 * when the table does not allow it. Static string. */
const char *store_sla_next(const char *from, const char *event);

/* ---- calendars ------------------------------------------------------------ */

struct store_calendar {
    char name[STORE_SLA_NAME_MAX];
    char title[STORE_SLA_TITLE_MAX]; /* "" if none */
    int version;                     /* the version read */
    int current_version;
    char tz[64];
    char *body;                      /* canonical kb_calendar JSON, owned */
    int64_t created_at;              /* of this version */
};

/* Frees c->body and zeroes c; safe on a zeroed struct. */
void store_calendar_fin(struct store_calendar *c);

/* Saves calendar name (created if new) with the calendar JSON body
 * (kb_calendar.h's form; checked and stored canonical) and title (NULL:
 * keep), by actor (0: the system), in one transaction: a new version when
 * the content differs from the current one (*created = 1), else nothing
 * but the title (*created = 0). *version (may be NULL) gets the current
 * version. Returns 0, STORE_EINVALID (bad name, bad calendar: the message
 * says what) or STORE_EDB. */
int store_calendar_save(struct store *s, const char *name, const char *title, const char *body,
                        size_t len, int64_t actor, int *version, int *created);

/* Reads calendar name at version (0: the current one) into *out (free with
 * store_calendar_fin), autocommit reads. Returns 0, STORE_ENOTFOUND or
 * STORE_EDB. */
int store_calendar_get(struct store *s, const char *name, int version, struct store_calendar *out);

/* ---- services and policies --------------------------------------------------- */

struct store_sla_policy {
    int priority;        /* 1..4; 0: this priority has no policy */
    double response_minutes; /* working minutes (fractions allowed) */
    double resolve_minutes;
    int warn_percent;
};

struct store_service {
    int64_t id;
    const char *name, *title, *owner_team, *description; /* owner_team, description may be NULL */
    const char *calendar;
    int is_default;
    struct store_sla_policy policy[4]; /* index priority - 1 */
};

typedef int (*store_service_cb)(void *arg, const struct store_service *svc);

/* Every service with its policies, by name, to cb after the transaction.
 * Returns 0, the callback's nonzero value or STORE_EDB. */
int store_services(struct store *s, store_service_cb cb, void *arg);

/* What store_sla_load did. */
struct store_sla_loaded {
    int calendars, calendar_versions; /* calendars in the file, new versions written */
    int services, policies;
};

/* Loads a service-level file (corpora/calendars/cn-2026-2027.json's form:
 * {"calendars":[{"name", "title", calendar fields...}], "services":[{"name",
 * "title", "owner_team", "description", "calendar", "default"}],
 * "policies":[{"service", "priority", "response_minutes",
 * "resolve_minutes", "warn_percent" (default 75)}]}) by actor (0: the
 * system), in one transaction: calendars saved as store_calendar_save
 * does, services and policies created or updated by name. Running
 * tickets are not recomputed (store_sla_reapply does that). Returns 0,
 * STORE_EINVALID with the message naming the entry ("services[2]: unknown
 * calendar x") and nothing written, or STORE_EDB. *out may be NULL. */
int store_sla_load(struct store *s, const char *json, size_t len, int64_t actor,
                   struct store_sla_loaded *out);

/* ---- a ticket's clock ------------------------------------------------------ */

struct store_ticket_sla {
    char service[STORE_SLA_NAME_MAX];
    char service_title[STORE_SLA_TITLE_MAX];
    int priority;
    int64_t policy_id;
    char calendar[STORE_SLA_NAME_MAX];
    int calendar_version;
    double response_minutes, resolve_minutes;
    int warn_percent;
    int64_t started_at, response_due, resolve_due, response_warn_at, resolve_warn_at;
    int64_t first_response_at, resolved_at;           /* 0: not yet */
    int64_t response_warned_at, response_breached_at; /* 0: not marked */
    int64_t resolve_warned_at, resolve_breached_at;
    /* "ok", "warning" or "breached": the worst mark of a clock still
     * running or missed (a response given in time, a resolution in time,
     * end that clock) */
    char state[STORE_WORD_MAX];
    /* the resolution clock's pauses (ticket_sla_segments): when the open
     * pause began (0: running) and the wall-clock seconds of all pauses */
    int64_t paused_since, paused_seconds;
};

/* The clock of ticket number for viewer_id (access as
 * store_ticket_access), autocommit reads. Returns 0, STORE_ENOTFOUND (no
 * such ticket, or it has no service level: no SLA data was loaded when it
 * was created), STORE_EFORBIDDEN or STORE_EDB. */
int store_ticket_sla_get(struct store *s, const char *number, int64_t viewer_id,
                         struct store_ticket_sla *out);

/* Sets ticket number's service (by name; NULL: the default service) and
 * recomputes its deadlines with the new service's policy for the ticket's
 * priority and its calendar's current version ("sla_applied" event,
 * reason "service"), in one transaction that locks the ticket. actor must
 * be an enabled agent or admin. Returns 0, STORE_ENOTFOUND (ticket or
 * service), STORE_EFORBIDDEN, STORE_EINVALID (no policy for that
 * priority, a status the table does not allow) or STORE_EDB. */
int store_sla_set_service(struct store *s, const char *number, int64_t actor,
                          const char *service);

/* Sets ticket number's priority (1..4) and recomputes its deadlines
 * (reason "priority"); same transaction, rules and results as
 * store_sla_set_service. A ticket without a service gets the default one. */
int store_sla_set_priority(struct store *s, const char *number, int64_t actor, int priority);

/* Re-applies the current policy and the current calendar version to
 * ticket number (NULL: every ticket not closed that has a clock), reason
 * "reapply", in one transaction. actor 0 is the system (the command line);
 * otherwise an enabled admin. *count (may be NULL) gets how many tickets
 * were recomputed. Returns 0, STORE_ENOTFOUND, STORE_EFORBIDDEN,
 * STORE_EINVALID or STORE_EDB. */
int store_sla_reapply(struct store *s, const char *number, int64_t actor, int *count);

/* ---- the timer ------------------------------------------------------------- */

struct store_sla_alert {
    int64_t ticket_id;
    const char *number;
    const char *kind;   /* "warning" or "breach" */
    const char *target; /* "response" or "resolution" */
    int64_t due;        /* the deadline of that target */
    int64_t agent_id;   /* 0: nobody holds the ticket */
    int priority;
};

typedef int (*store_sla_alert_cb)(void *arg, const struct store_sla_alert *a);

/* Marks, at now (0: the server's clock), every running clock that has
 * reached its warning share or its deadline and is not yet marked so (at
 * most limit of each of the four kinds: response and resolution, warning
 * and breach), with its "sla_warning" / "sla_breach" event, in one
 * transaction; rows another caller holds are skipped (FOR UPDATE SKIP
 * LOCKED) and each mark is a conditional UPDATE (... IS NULL), so two
 * callers at once mark each threshold exactly once. A response clock runs
 * until the first response, a resolution clock while the ticket is new,
 * assigned or reopened. The marks go to cb after the commit. *marked (may
 * be NULL) gets how many. Returns 0, the callback's nonzero value or
 * STORE_EDB. */
int store_sla_tick(struct store *s, time_t now, int limit, store_sla_alert_cb cb, void *arg,
                   int *marked);

#endif
