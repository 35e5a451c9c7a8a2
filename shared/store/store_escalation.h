/* store_escalation: what a service-level warning or breach does beyond its
 * mark (migration 018_escal.sql): who is told (the assignee, the members
 * and leads of the ticket's team, the leads of the service's owner team by
 * rule), the notification mails (written in the transaction of the mark,
 * held until a calendar's quiet hours end), escalation rules (functional:
 * move the ticket to the next team or a named one, with its "transferred"
 * event; hierarchical: an escalation mail to the team's leads or to the
 * service owner team's leads), loaded from a file, and the quiet hours of
 * calendars.
 *
 * The rule matching and the quiet-hours arithmetic are pure functions
 * (store_esc_matches, store_quiet_end), tested without a database.
 * Strings handed to callbacks are borrowed (valid during the call). */
#ifndef STORE_ESCALATION_H
#define STORE_ESCALATION_H

#include "store_pg.h"

/* One escalation rule as the matcher sees it. */
struct store_esc_rule {
    int64_t service_id; /* 0: any service */
    int priority;       /* 0: any priority */
    char on_kind[8];    /* "warning" or "breach" */
    char target[12];    /* "response", "resolution" or "" (either) */
    int functional;     /* 1: move the ticket; 0: hierarchical (notify) */
    int64_t to_team_id; /* functional: the team, 0: the next team */
    char notify[8];     /* hierarchical: "lead" or "owner" */
};

/* 1 when rule r applies to a mark of kind ("warning"/"breach") on target
 * ("response"/"resolution") of a ticket of service_id and priority, else
 * 0. Pure. */
int store_esc_matches(const struct store_esc_rule *r, int64_t service_id, int priority,
                      const char *kind, const char *target);

/* Quiet hours [from_min, to_min) in local minutes of the day of a zone at
 * utc_offset seconds east (to_min < from_min: over midnight; equal: no
 * quiet hours). Returns 0 when instant t (Unix seconds) is outside them,
 * else the instant they end (> t). Pure. */
int64_t store_quiet_end(int64_t t, int32_t utc_offset, int from_min, int to_min);

/* What store_escalation_load did. */
struct store_esc_loaded {
    int rules, quiet_hours, team_order;
    int major_priority; /* the major incident rule (store_major.h), 0: off */
};

/* Loads an escalation file, replacing every rule and every calendar's
 * quiet hours, in one transaction:
 *   {"team_order":["first-line","second-line","specialists"],  (optional)
 *    "rules":[{"service":"fast" (optional), "priority":1..4 (optional),
 *              "on":"warning"|"breach", "target":"response"|"resolution"
 *              (optional), "action":"functional", "to_team":"slug"
 *              (optional: the next team)} |
 *             {..., "action":"hierarchical", "notify":"lead"|"owner"}],
 *    "quiet_hours":[{"calendar":"cn-5x8", "from":"20:00", "to":"08:00"}],
 *    "major_priority":1 (optional: an open ticket at this priority or a
 *    more urgent one becomes a major incident, store_major.h; 0 or absent:
 *    off)}
 * team_order sets each listed team's next team (the last gets none).
 * Returns 0, STORE_EINVALID with the message naming the entry
 * ("rules[1]: unknown team x") and nothing written, or STORE_EDB. *out
 * may be NULL. */
int store_escalation_load(struct store *s, const char *json, size_t len,
                          struct store_esc_loaded *out);

/* One rule as listed (strings borrowed; NULL when the rule leaves it open). */
struct store_esc_rule_row {
    int position;
    const char *service; /* NULL: any */
    int priority;        /* 0: any */
    const char *on_kind, *target, *action, *to_team, *notify;
};

/* One calendar's quiet hours as listed ("HH:MM"). */
struct store_quiet_row {
    const char *calendar, *from, *to;
};

/* The rules by position, then the quiet hours by calendar, to rule_cb and
 * quiet_cb after the reads, for viewer (an enabled agent or admin).
 * Returns 0, STORE_EFORBIDDEN, a callback's nonzero value or STORE_EDB. */
int store_escalation_list(struct store *s, int64_t viewer,
                          int (*rule_cb)(void *, const struct store_esc_rule_row *),
                          int (*quiet_cb)(void *, const struct store_quiet_row *), void *arg);

/* The people told of the kind x target mark of ticket_id (rows of
 * sla_notifications), to cb(arg, person_id, why) where why is "assignee",
 * "team", "lead" or "owner". *count (may be NULL) gets how many. Returns 0,
 * the callback's nonzero value or STORE_EDB. */
int store_sla_notified(struct store *s, int64_t ticket_id, const char *kind, const char *target,
                       int (*cb)(void *arg, int64_t person, const char *why), void *arg,
                       int *count);

/* Sets the e-mail address of agent (or admin) username (NULL: none), which
 * notification mails go to. Returns 0, STORE_ENOTFOUND (no such agent),
 * STORE_EINVALID (not an address) or STORE_EDB. */
int store_agent_email(struct store *s, const char *username, const char *email);

#endif
