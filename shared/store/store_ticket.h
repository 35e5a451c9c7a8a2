/* store_ticket: incident tickets and their lifecycle: escalating a
 * conversation into a ticket with a priority and deadlines, the queue,
 * reading a ticket, and one function per change (take, reply, link,
 * resolve, confirm, reopen, rate, auto-close), each of which checks the
 * ticket's status against the one transition table below, writes the
 * ticket and its ticket_events row in one transaction, and so leaves the
 * history complete: every change, with who, when, from and to.
 *
 * The lifecycle (event: from-status -> to-status; "same" keeps it):
 *
 *     created      (no ticket)             -> new
 *     taken        new, reopened           -> assigned
 *     replied      assigned, resolved, reopened  -> same
 *     linked       new, assigned, resolved, reopened -> same
 *     resolved     assigned, reopened      -> resolved
 *     reopened     resolved                -> reopened
 *     confirmed    resolved                -> closed
 *     auto_closed  resolved                -> closed
 *     rated        resolved, closed        -> same
 *     pending      assigned, reopened      -> pending   (014_pause.sql)
 *     resumed      pending                 -> assigned
 *     (and replied, linked, edited, noted, merged_from: pending -> same;
 *      resolved: pending -> resolved)
 *
 * A pending ticket waits for its requester (待用户反馈): the agent holding
 * it set it with a reason; its resolution clock is paused (store_sla.h);
 * the requester's next message in its conversation resumes it, or the
 * agent does. It cannot be transferred, assigned or merged away while it
 * waits (resume it first).
 *
 * A change asked of a ticket whose status the table does not list for it
 * is refused with STORE_EINVALID and writes nothing. Who may ask is checked
 * first (STORE_EFORBIDDEN): a requester acts only on their own tickets, an
 * agent's changes need an enabled agent, and reply and resolve need the
 * agent holding the ticket. */
#ifndef STORE_TICKET_H
#define STORE_TICKET_H

#include "store_pg.h"

/* The status a ticket in status `from` goes to on event `event` ("taken",
 * "resolved", ... as in ticket_events.type; from NULL: no ticket yet), by
 * the transition table above; NULL when the table does not allow it. The
 * string is static. */
const char *store_ticket_next(const char *from, const char *event);

/* Priority from impact and urgency (each 1 high, 2 medium, 3 low):
 *
 *                  urgency 1   urgency 2   urgency 3
 *     impact 1        P1          P2          P3
 *     impact 2        P2          P3          P4
 *     impact 3        P3          P4          P4
 *
 * that is impact + urgency - 1, with the lowest corner (5) folded into P4.
 * Returns 1..4, or STORE_EINVALID when impact or urgency is not 1..3. */
int store_priority(int impact, int urgency);

/* Response and resolution targets in seconds, index priority - 1, counted
 * in calendar time from the ticket's creation. */
struct store_sla {
    int response_s[4];
    int resolution_s[4];
};

/* The defaults: P1 15 min / 4 h, P2 30 min / 8 h, P3 4 h / 3 days,
 * P4 8 h / 5 days. */
void store_sla_default(struct store_sla *sla);

struct store_ticket {
    int64_t id;
    char number[STORE_NUMBER_MAX];          /* "INC-000123" */
    int64_t conversation_id;
    int64_t requester_id;
    int64_t agent_id;                       /* 0: nobody */
    char status[STORE_WORD_MAX];            /* new, assigned, pending, resolved, reopened, closed */
    int impact, urgency, priority;
    int64_t response_due, resolution_due;
    int64_t first_response_at, resolved_at, closed_at; /* 0: not yet */
    int64_t created_at, updated_at;
    int rating;                             /* 1..5, 0: not rated */
    char *summary;
    char *category;                         /* NULL if none */
    char *resolution;                       /* latest resolution text, NULL if none */
    char *requester_name;
    char *agent_name;                       /* NULL if nobody */
    /* service levels (store_sla.h); "" when the ticket has no clock */
    char service[65];                       /* the service's name */
    char sla_state[STORE_WORD_MAX];         /* "ok", "warning", "breached" */
    /* the agent workspace (store_workspace.h) */
    int64_t team_id;                        /* 0: no team */
    char team[40];                          /* the team's slug, "" if none */
    char *team_name;                        /* NULL if no team */
    char *rating_comment;                   /* the requester's, NULL if none */
    char merged_into[STORE_NUMBER_MAX];     /* the surviving ticket, "" if not merged */
    char *pending_reason;                   /* status pending: why (owned), else NULL */
};

/* Frees the strings of a ticket filled by store_ticket_get or store_escalate
 * and zeroes it. Safe on a zeroed struct. */
void store_ticket_fin(struct store_ticket *t);

/* Turns the requester's open conversation conv into a ticket (status new):
 * priority from store_priority, response_due and resolution_due from sla
 * (NULL: the defaults) counted from now (0: the server's clock), the
 * documents suggested in the conversation linked as "suggested", the
 * conversation marked escalated and a "created" event written. When
 * service-level data is loaded (store_sla.h: a default service exists),
 * the default service's policy for the priority replaces those deadlines
 * with ones in working time and an "sla_applied" event follows (a priority
 * without a policy keeps them). *out is
 * filled (free with store_ticket_fin). All in one transaction that locks
 * the conversation. Returns 0, STORE_EINVALID (impact or
 * urgency not 1..3, empty summary, bad sla, the conversation ended),
 * STORE_ENOTFOUND, STORE_EFORBIDDEN (not the requester's), STORE_ECONFLICT
 * on a conflict (already escalated: nothing written, *out is then the
 * existing ticket) or STORE_EDB. */
int store_escalate(struct store *s, int64_t conv, int64_t requester_id, const char *summary,
                   const char *category, int impact, int urgency, const struct store_sla *sla,
                   time_t now, struct store_ticket *out);

/* Return nonzero to stop the iteration. The ticket's strings are borrowed. */
typedef int (*store_ticket_cb)(void *arg, const struct store_ticket *t);

/* The open tickets (new, assigned, reopened), most urgent first (priority,
 * then age), to cb after the transaction. Returns 0, the callback's nonzero
 * value, or STORE_EDB. */
int store_queue(struct store *s, store_ticket_cb cb, void *arg);

/* Agent agent_id takes ticket number (event "taken"): in one transaction
 * that locks the ticket's row, so of two agents racing exactly one wins and
 * the other sees the winner's row. It succeeds while the ticket has no agent
 * (new, or reopened and back in the queue); status becomes assigned and a
 * "taken" event is written. Taking a ticket one already holds returns 0 and
 * changes nothing. Returns 0, STORE_ENOTFOUND, STORE_EFORBIDDEN (not an
 * enabled agent), STORE_ECONFLICT on a conflict (someone else holds it;
 * nothing written), STORE_EINVALID (a status the table does not allow:
 * resolved or closed) or STORE_EDB. */
int store_ticket_take(struct store *s, const char *number, int64_t agent_id);

/* May viewer_id see ticket number? Its requester and every enabled agent or
 * admin may. Returns 0, STORE_ENOTFOUND, STORE_EFORBIDDEN or STORE_EDB. */
int store_ticket_access(struct store *s, const char *number, int64_t viewer_id);

/* Reads ticket number for viewer_id (access as store_ticket_access) into
 * *out (free with store_ticket_fin; zeroed on failure), in autocommit
 * reads. Returns 0, STORE_ENOTFOUND, STORE_EFORBIDDEN or STORE_EDB. */
int store_ticket_get(struct store *s, const char *number, int64_t viewer_id,
                     struct store_ticket *out);

/* An agent's reply in the ticket's conversation: store_message_add on the
 * ticket's conversation (same rules, same results, one transaction, retried
 * once on a conflict over its client id); writes a "replied" event, which
 * the table allows while assigned, resolved or reopened (closed:
 * STORE_EINVALID). *conv (may be NULL) gets the ticket's conversation,
 * also for a duplicate, so the caller can push the reply without reading
 * the ticket again. */
int store_ticket_reply(struct store *s, const char *number, int64_t agent_id,
                       const char *client_id, const char *body, int *seq, int *duplicate,
                       int64_t *conv);

/* Links document doc_id to the ticket with relation "suggested", "viewed",
 * "helpful" or "used" (used to resolve it), in one transaction that locks
 * the ticket. Agents may link anything; the ticket's requester only
 * "viewed" and "helpful". A link that exists already is left alone
 * (*added = 0: not a conflict); a new one writes a "linked" event
 * and a "linked" use of the document (store_kuse.h) (*added = 1). *added may be NULL. Returns 0, STORE_ENOTFOUND,
 * STORE_EFORBIDDEN, STORE_EINVALID (bad relation, closed ticket) or
 * STORE_EDB. */
int store_ticket_link(struct store *s, const char *number, const char *doc_id,
                      const char *relation, int64_t actor_id, int *added);

struct store_link {
    const char *doc_id;
    const char *relation;    /* suggested, viewed, helpful, used */
    int64_t actor_id;        /* 0: the system */
    const char *actor_name;  /* NULL for the system */
    int64_t at;
};

typedef int (*store_link_cb)(void *arg, const struct store_link *l);

/* The ticket's knowledge links, oldest first, for viewer_id (access as
 * store_ticket_access), to cb after the transaction. Returns 0, the
 * callback's nonzero value, STORE_ENOTFOUND, STORE_EFORBIDDEN or
 * STORE_EDB. */
int store_ticket_links(struct store *s, const char *number, int64_t viewer_id, store_link_cb cb,
                       void *arg);

/* The assigned agent resolves the ticket (event "resolved": assigned or
 * reopened -> resolved) with a non-empty resolution text, in one
 * transaction that locks the ticket. Returns 0, STORE_ENOTFOUND,
 * STORE_EFORBIDDEN (a requester, or another agent's ticket), STORE_EINVALID
 * (empty text; a status the table does not allow, e.g. resolved twice) or
 * STORE_EDB. */
int store_ticket_resolve(struct store *s, const char *number, int64_t agent_id,
                         const char *resolution);

/* The requester answers a resolution: accepted is store_ticket_close_confirmed,
 * rejected is store_ticket_reopen (same rules, same results). */
/* The requester accepts the resolution (event "confirmed": resolved ->
 * closed): the ticket and its conversation are closed, in one transaction
 * that locks the ticket. Returns 0, STORE_ENOTFOUND, STORE_EFORBIDDEN (not
 * the requester), STORE_EINVALID (not resolved) or STORE_EDB. */
int store_ticket_close_confirmed(struct store *s, const char *number, int64_t requester_id);

/* The requester rejects the resolution (event "reopened": resolved ->
 * reopened), in one transaction that locks the ticket: it stays with its
 * agent, or goes back to the queue if that agent has been disabled (the
 * event's detail says which agent_id, or null). Returns 0, STORE_ENOTFOUND,
 * STORE_EFORBIDDEN (not the requester), STORE_EINVALID (not resolved) or
 * STORE_EDB. */
int store_ticket_reopen(struct store *s, const char *number, int64_t requester_id);

int store_ticket_confirm(struct store *s, const char *number, int64_t requester_id,
                         int accepted);

/* The requester rates the service once, 1..5, after the ticket was resolved
 * (or closed); comment may be NULL. Writes the rating and a "rated" event
 * in one transaction that locks the ticket. Returns 0, STORE_ENOTFOUND,
 * STORE_EFORBIDDEN, STORE_EINVALID (score, state, comment too long),
 * STORE_ECONFLICT on a conflict (rated already; nothing written) or
 * STORE_EDB. */
int store_ticket_rate(struct store *s, const char *number, int64_t requester_id, int score,
                      const char *comment);

/* Closes every ticket resolved at least `days` (>= 1) days before now (0:
 * the server's clock) whose requester has not answered (the from-statuses
 * the table lists for "auto_closed"), with an "auto_closed" event by the
 * system (no actor) at now, and their conversations, in one statement (one
 * transaction): a ticket answered meanwhile is locked and skipped, never a
 * conflict. *closed (may be NULL) gets how many. Returns 0, STORE_EINVALID
 * (days < 1) or STORE_EDB. */
int store_auto_close(struct store *s, int days, time_t now, int *closed);

struct store_event {
    int64_t id;
    int64_t actor_id;        /* 0: the system */
    const char *actor_name;  /* NULL for the system */
    const char *type;        /* created, taken, replied, linked, resolved, ... */
    const char *from_status; /* NULL for "created" */
    const char *to_status;
    const char *detail;      /* a JSON object */
    int64_t at;
};

typedef int (*store_event_cb)(void *arg, const struct store_event *e);

/* The ticket's history, oldest first, for viewer_id (access as
 * store_ticket_access), to cb after the transaction. Returns 0, the
 * callback's nonzero value, STORE_ENOTFOUND, STORE_EFORBIDDEN or
 * STORE_EDB. */
int store_ticket_events(struct store *s, const char *number, int64_t viewer_id,
                        store_event_cb cb, void *arg);

/* ---- waiting for the requester (014_pause.sql) ------------------------ */

/* the longest reason of a pending ticket, in characters */
#define STORE_PENDING_REASON_MAX 500

/* The agent holding ticket number sets it pending (event "pending":
 * assigned or reopened -> pending) with reason (1..500 characters of
 * UTF-8, not blank), and pauses its resolution clock (a paused segment
 * from now; 0: the server's clock), in one transaction that locks the
 * ticket. Returns 0,
 * STORE_ENOTFOUND, STORE_EFORBIDDEN (not an enabled agent, or not the
 * holder), STORE_EINVALID (bad reason; a status the table does not
 * allow, e.g. pending twice) or STORE_EDB; nothing is written on error. */
int store_ticket_pending(struct store *s, const char *number, int64_t agent_id,
                         const char *reason, time_t now);

/* The agent holding ticket number resumes it (event "resumed": pending ->
 * assigned, by "agent"): the reason cleared, the clock's pause ended at
 * now (0: the server's clock) and its deadlines recomputed from the
 * segments, in one transaction that
 * locks the ticket. Returns 0, STORE_ENOTFOUND, STORE_EFORBIDDEN,
 * STORE_EINVALID (not pending) or STORE_EDB. (A requester's message
 * resumes it too: store_conv.h.) */
int store_ticket_resume(struct store *s, const char *number, int64_t agent_id, time_t now);

#endif
