/* store_int: what the files of the store library share and nobody else
 * sees: the handle's insides, the error helpers, query parameters and result
 * readers, the statement runners and the transaction helpers (store_pg.c),
 * and the few cross-aggregate steps one aggregate's transaction calls in
 * another's file (people: who may act; conversations: a message inside a
 * ticket reply; tickets: an event row, a link, an agent's reply). Include
 * it only from the .c files of shared/store.
 *
 * The transaction helpers: st_begin(s, "op") starts the transaction of
 * public operation op (reconnecting a dead connection first, and once more
 * if BEGIN finds it dead); st_finish(s, rc) commits when rc is 0 (a failed
 * COMMIT becomes the result) or rolls back keeping rc and its message;
 * st_single(s, "op") prepares an operation made of autocommit statements
 * (one write, or reads). Every function of the library runs between one of
 * those and its end, so each public call is one transaction. */
#ifndef STORE_INT_H
#define STORE_INT_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "store.h"
#include "store_workspace.h"

/* Seconds since the epoch of a timestamptz expression, in SQL. */
#define EPOCH(x) "floor(extract(epoch FROM " x "))::bigint"

/* Statements prepared on the connection (named "s<slot>"), so that each is
 * parsed and planned once per connection instead of once per call: an open
 * hash table keyed by the SQL text. Emptied when the connection is reset
 * (the server forgets them). When it is full, statements run unprepared. */
#define PREP_SLOTS 256

struct prepared {
    char *sql; /* owned; NULL: a free slot */
};

struct store {
    PGconn *conn;
    const char *op; /* the operation running, for messages */
    char err[STORE_ERR_MAX];
    struct prepared prep[PREP_SLOTS];
    int nprep;
    store_terms_fn terms;  /* the analyzer's terms (store_terms_set); NULL: none */
    void *terms_ctx;
    int listen_pid; /* the backend LISTENing (store_cluster.c); 0: none */
    int batch;      /* inside store_batch_begin ... store_batch_commit: each
                       operation is a savepoint of the batch's transaction,
                       and a lost connection is not reconnected */
    int batch_sp;     /* the last operation's savepoint is still open */
    int batch_doomed; /* an item aborted the batch: its commit will fail */
};

/* ---- errors (store_pg.c) ---------------------------------------------- */

/* Formats "[store][op] message" into s->err on one line; returns code. */
__attribute__((format(printf, 3, 4))) int st_seterr(struct store *s, int code, const char *fmt,
                                                    ...);

/* STORE_E* for a failed result r (may be NULL), with its message in s->err:
 * a lost connection is STORE_EDB; unique violations and serialisation
 * failures STORE_ECONFLICT; other integrity violations and data exceptions
 * STORE_EINVALID; the rest STORE_EDB. */
int st_pgfail(struct store *s, const PGresult *r);

/* ---- parameters and results ------------------------------------------- */

#define PMAX 20

/* Query parameters in text format (binary for bytea). Never copy one: the
 * value pointers point into it. */
struct params {
    int n;
    const char *v[PMAX];
    int len[PMAX];
    int fmt[PMAX];
    char num[PMAX][24];
};

static inline void p_add(struct params *p, const char *v, int len, int fmt)
{
    if (p->n >= PMAX)
        abort(); /* a programming error: raise PMAX */
    p->v[p->n] = v;
    p->len[p->n] = len;
    p->fmt[p->n] = fmt;
    p->n++;
}

static inline void p_str(struct params *p, const char *v)
{
    p_add(p, v, 0, 0);
}

static inline void p_i64(struct params *p, int64_t x)
{
    if (p->n >= PMAX)
        abort();
    snprintf(p->num[p->n], sizeof p->num[0], "%lld", (long long)x);
    p_add(p, p->num[p->n], 0, 0);
}

/* an id, with 0 as NULL */
static inline void p_id(struct params *p, int64_t id)
{
    if (id == 0)
        p_add(p, NULL, 0, 0);
    else
        p_i64(p, id);
}

/* a time for "to_timestamp($n::float8)", with 0 as NULL (the server's now) */
static inline void p_time(struct params *p, time_t t)
{
    if (t == 0)
        p_add(p, NULL, 0, 0);
    else
        p_i64(p, (int64_t)t);
}

static inline void p_bool(struct params *p, int b)
{
    p_add(p, b ? "true" : "false", 0, 0);
}

static inline void p_bin(struct params *p, const void *v, int len)
{
    p_add(p, (const char *)v, len, 1);
}

static inline const char *g_str(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

static inline int64_t g_i64(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static inline int g_int(const PGresult *r, int row, int col)
{
    return (int)g_i64(r, row, col);
}

static inline double g_dbl(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtod(PQgetvalue(r, row, col), NULL);
}

static inline int g_bool(const PGresult *r, int row, int col)
{
    return !PQgetisnull(r, row, col) && PQgetvalue(r, row, col)[0] == 't';
}

static inline void g_copy(char *dst, size_t n, const PGresult *r, int row, int col)
{
    snprintf(dst, n, "%s", PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col));
}

/* ---- statements and transactions (store_pg.c) ------------------------- */

/* Runs one statement with parameters p (may be NULL). Returns its result
 * (caller clears) or NULL with *rc set and the message in s->err. Outside a
 * transaction, a connection that died while idle is reconnected and the
 * statement sent once more. */
PGresult *st_run(struct store *s, int *rc, const char *sql, const struct params *p);

/* Runs a statement whose result is not needed. Returns 0 or a STORE_E*
 * code; *rows (may be NULL) gets the number of rows affected or returned. */
int st_exec(struct store *s, const char *sql, const struct params *p, int *rows);

/* st_exec for a statement that must touch a row: when it affects (or
 * returns) none, STORE_ENOTFOUND with the message fmt, ... in s->err.
 * Returns 0 or a STORE_E* code. */
__attribute__((format(printf, 4, 5))) int st_exec_found(struct store *s, const char *sql,
                                                        const struct params *p,
                                                        const char *fmt, ...);

/* st_run for a statement that must return a row: when it returns none,
 * NULL with *rc = STORE_ENOTFOUND and the message fmt, ... in s->err.
 * Returns its result (caller clears; at least one row) or NULL with *rc
 * set. */
__attribute__((format(printf, 5, 6))) PGresult *st_run_row(struct store *s, int *rc,
                                                           const char *sql,
                                                           const struct params *p,
                                                           const char *fmt, ...);

/* The id of an INSERT ... RETURNING id into *id. Returns 0 or STORE_E*. */
int st_insert_id(struct store *s, const char *sql, const struct params *p, int64_t *id);

/* Reconnects a broken connection. Returns 0 or STORE_EDB. */
int st_connected(struct store *s);

/* Starts the transaction of operation op. Returns 0 or STORE_EDB. */
int st_begin(struct store *s, const char *op);

/* Ends the transaction: COMMIT when rc is 0 (whose failure becomes the
 * result), else ROLLBACK keeping rc and its message. Returns the result. */
int st_finish(struct store *s, int rc);

/* st_begin for an operation only staff may run: the transaction of op,
 * then actor checked by st_staff_only (what: as there). Returns 0 inside
 * the transaction, or STORE_EDB / STORE_EFORBIDDEN with the transaction
 * ended (store_pg.c). */
int st_begin_staff(struct store *s, const char *op, int64_t actor, const char *what);

/* Starts the transaction of operation op for a JSON document loaded in
 * one go (json, len bytes) and parses it into *root (the caller's, freed
 * with json_decref; NULL on failure). Returns 0 inside the transaction, or
 * STORE_EDB / STORE_EINVALID ("line N: ...", the transaction ended). */
int st_begin_json(struct store *s, const char *op, const char *json, size_t len,
                  json_t **root);

/* Prepares operation op made of statements sent on their own (autocommit:
 * each is its own transaction), without BEGIN / COMMIT round trips: for one
 * write, or for reads. Returns 0 or STORE_EDB. */
int st_single(struct store *s, const char *op);

/* ---- list reads (store_rows.c) ------------------------------------------ */

/* st_single(s, op) for a list of limit rows at most: STORE_EINVALID
 * ("limit must be 1..max") when limit is outside 1..max. Returns 0 or
 * STORE_E*. */
int st_list_open(struct store *s, const char *op, int limit, int max);

/* Runs sql (parameters p, may be NULL) and calls row(r, i, ud) for its rows
 * in order until one returns nonzero; r is valid during the call only.
 * Returns 0, or STORE_E* when the statement failed (then no call). */
int st_rows(struct store *s, const char *sql, const struct params *p,
            int (*row)(const PGresult *r, int i, void *ud), void *ud);

/* ---- people (store_people.c), inside the caller's transaction ---------- */

/* The role of an enabled person into role. Returns 0, STORE_ENOTFOUND
 * (unknown or disabled) or STORE_EDB. */
int st_person_role(struct store *s, int64_t id, char role[STORE_WORD_MAX]);

/* Inserts a requester (name and email may be NULL) into *id, inside the
 * caller's transaction. Returns 0 or STORE_E*. */
int st_requester_insert(struct store *s, const char *name, const char *email, int64_t *id);

/* Is role "agent" or "admin"? */
int st_is_staff(const char *role);

/* 0 when who is an enabled agent or admin; else STORE_EFORBIDDEN ("person
 * N may not work on WHAT") or STORE_EDB. */
int st_staff_only(struct store *s, int64_t who, const char *what);

/* Checks an optional text field v (NULL passes): valid UTF-8, min..max
 * characters, not blank when min > 0. Returns 0 or STORE_EINVALID naming
 * the field (store_pg.c). */
int st_text_ok(struct store *s, const char *name, const char *v, size_t min, size_t max);

/* An edit's list of changed fields: appends field to the JSON array
 * changed when the edit sets it (now not NULL) to other text than old
 * (NULL reads as "") (store_pg.c). */
void st_changed_text(json_t *changed, const char *field, const char *now, const char *old);

/* An event's detail as compact JSON text (caller frees); detail (may be
 * NULL: "{}") is stolen (store_pg.c). */
char *st_detail_text(json_t *detail);

/* Returns 0 if viewer may see what owner (a requester) owns: the owner or
 * an enabled agent or admin; else STORE_EFORBIDDEN (or STORE_EDB). */
int st_may_view(struct store *s, int64_t owner, int64_t viewer);

/* ---- sessions (store_session.c), inside the caller's transaction -------- */

/* Inserts a session of person under token_hash living ttl_seconds (> 0).
 * Returns 0 or STORE_E*. */
int st_session_insert(struct store *s, int64_t person,
                      const unsigned char token_hash[STORE_TOKEN_HASH_BYTES], int ttl_seconds);

/* ---- conversations (store_conv.c), inside the caller's transaction ----- */

/* Reads conversation id into *out (locking its row if lock), checking that
 * viewer may see it when viewer is not 0. Returns 0, STORE_ENOTFOUND,
 * STORE_EFORBIDDEN or STORE_EDB. */
int st_conv_read(struct store *s, int64_t id, int64_t viewer, int lock,
                 struct store_conversation *out);

/* The body of store_message_post (same rules and results). */
int st_message_add(struct store *s, int64_t conv, int64_t sender, const char *client_id,
                   const char *body, int *seq, int *duplicate, struct store_posted *info);

/* ---- tickets (store_ticket.c), inside the caller's transaction --------- */

/* One row of a lifecycle table (tickets, knowledge): an event, a state it
 * may happen in (NULL: before the row exists) and the state after it. */
struct st_transition {
    const char *event, *from, *to;
};

/* The state after event in state from (NULL: before the row exists) by the
 * table t of n rows, or NULL when the table does not allow it. */
const char *st_transition_next(const struct st_transition *t, size_t n, const char *from,
                               const char *event);

/* Writes one ticket_events row at `at` (0: now). detail (may be NULL: {})
 * is stolen. Returns 0 or STORE_E*. */
int st_ticket_event(struct store *s, int64_t ticket, int64_t actor, const char *type,
                    const char *from, const char *to, json_t *detail, time_t at);

/* The "replied" step of an agent's message seq in the conversation of
 * ticket (status tstatus): sets first_response_at if unset and writes the
 * event. Returns 0, STORE_EINVALID (a status the table does not allow a
 * reply in) or STORE_EDB. */
int st_ticket_replied(struct store *s, int64_t ticket, const char *tstatus, int64_t agent,
                      int seq);

/* A requester wrote message seq in the conversation of ticket (status
 * tstatus, read under the conversation's lock): a pending ticket goes back
 * to its agent ("resumed" event by the requester, the clock's pause ended
 * and the deadlines recomputed); *resumed says whether it did. Any other
 * status: nothing. Returns 0 or STORE_E*. */
int st_ticket_requester_wrote(struct store *s, int64_t ticket, const char *tstatus,
                              int64_t requester, int seq, int *resumed);

/* Links doc_id to the ticket of conversation conv, if it has one, with
 * relation by actor ("linked" event when new). Returns 0 (also when the
 * conversation has no ticket), STORE_EINVALID or STORE_EDB. */
int st_ticket_link_conversation(struct store *s, int64_t conv, const char *doc_id,
                                const char *relation, int64_t actor);

/* ---- service levels (store_sla.c), inside the caller's transaction ----- */

/* Starts the service-level clock of new ticket `ticket` (status new, its
 * priority set): the default service's policy, its calendar's current
 * version, deadlines in working time written to ticket_sla and the
 * ticket, an "sla_applied" event at now (0: the server's clock). When no
 * default service exists (no SLA data loaded) it does nothing and returns
 * 0: the ticket keeps the deadlines store_escalate gave it; so it does
 * when the default service has no policy for the ticket's priority or its
 * calendar too little working time (nothing written). Returns 0 or
 * STORE_EDB. */
int st_sla_ticket_created(struct store *s, int64_t ticket, time_t now);

/* Recomputes the clock of ticket (row locked by the caller or not) after its
 * priority changed in the caller's transaction: the policy of its service
 * (the default one if it has no clock yet) for the new priority, its
 * calendar version kept, an "sla_applied" event by actor. No SLA data or no
 * policy for that priority: nothing changes. Returns 0 or STORE_EDB. */
int st_sla_priority_changed(struct store *s, int64_t ticket, int64_t actor);

/* Pauses ticket's resolution clock at now (0: the server's clock): closes
 * its open running segment and appends a paused one with reason (may be
 * NULL); nothing if it is paused already. The ticket's row is locked by
 * the caller. Returns 0 or STORE_EDB. */
int st_sla_clock_pause(struct store *s, int64_t ticket, const char *reason, time_t now);

/* Ends the pause of ticket's resolution clock at now (0: the server's
 * clock): closes the paused segment, appends a running one with reason,
 * and recomputes the deadlines from the segments with the ticket's own
 * targets and calendar version ("sla_applied" by actor with reason), in
 * the status the caller has already written. Nothing if the clock runs.
 * Returns 0, STORE_EINVALID (the ticket's status allows no clock change)
 * or STORE_EDB. */
int st_sla_clock_resume(struct store *s, int64_t ticket, int64_t actor, const char *reason,
                        time_t now);

/* A ticket's service-level state in SQL, from tickets t and ticket_sla ts
 * (LEFT JOINed: NULL when it has no clock): 'breached' or 'warning' when a
 * clock still running (or missed) carries that mark, else 'ok'. A response
 * or resolution given by its deadline ends that clock. */
#define SLA_LIVE_RESP "(t.first_response_at IS NULL OR t.first_response_at > ts.response_due)"
#define SLA_LIVE_RES "(t.resolved_at IS NULL OR t.resolved_at > ts.resolve_due)"
#define SLA_STATE_SQL                                                                       \
    "CASE WHEN ts.ticket_id IS NULL THEN NULL"                                              \
    " WHEN (ts.response_breached_at IS NOT NULL AND " SLA_LIVE_RESP ")"                     \
    "  OR (ts.resolve_breached_at IS NOT NULL AND " SLA_LIVE_RES ") THEN 'breached'"        \
    " WHEN (ts.response_warned_at IS NOT NULL AND " SLA_LIVE_RESP ")"                       \
    "  OR (ts.resolve_warned_at IS NOT NULL AND " SLA_LIVE_RES ") THEN 'warning'"           \
    " ELSE 'ok' END"
/* ---- the agent workspace (store_workspace.c, store_team.c) ------------- */

/* The columns of a ticket as st_ticket_from_row reads them: "SELECT ...
 * FROM tickets t ..." to which a WHERE clause is appended. */
#define ST_TICKET_COLS                                                                      \
    "t.id, t.number, t.conversation_id, t.requester_id, t.agent_id, t.status,"             \
    " t.impact, t.urgency, t.priority, " EPOCH("t.response_due") ", "                       \
    EPOCH("t.resolution_due") ", " EPOCH("t.first_response_at") ", "                        \
    EPOCH("t.resolved_at") ", " EPOCH("t.closed_at") ", " EPOCH("t.created_at") ", "        \
    EPOCH("t.updated_at") ", g.score, t.summary, t.category, t.resolution, r.name, a.name," \
    " sv.name, " SLA_STATE_SQL ", t.team_id, tm.slug, tm.name, g.comment, mt.number,"     \
    " t.pending_reason, mj.number, mj.message, " EPOCH("mj.declared_at")
#define ST_TICKET_COLS_N 33
#define ST_TICKET_FROM                                                                      \
    " FROM tickets t JOIN people r ON r.id = t.requester_id"                                \
    " LEFT JOIN people a ON a.id = t.agent_id LEFT JOIN ratings g ON g.ticket_id = t.id"    \
    " LEFT JOIN teams tm ON tm.id = t.team_id LEFT JOIN tickets mt ON mt.id = t.merged_into" \
    " LEFT JOIN ticket_sla ts ON ts.ticket_id = t.id"                                       \
    " LEFT JOIN services sv ON sv.id = ts.service_id"                                      \
    ST_TICKET_MAJOR_JOIN
/* The major incident that touches a ticket (019_major.sql): the ticket's
 * own, or the one it is linked to, while not cleared. */
#define ST_TICKET_MAJOR_JOIN                                                                \
    " LEFT JOIN LATERAL (SELECT mt2.number, mi.message, mi.declared_at"                    \
    "  FROM major_incidents mi JOIN tickets mt2 ON mt2.id = mi.ticket_id"                   \
    "  WHERE mi.cleared_at IS NULL AND (mi.ticket_id = t.id OR mi.ticket_id ="              \
    "  (SELECT ml.major_id FROM major_links ml WHERE ml.ticket_id = t.id))"                 \
    "  ORDER BY mi.ticket_id = t.id DESC LIMIT 1) mj ON true "
#define ST_TICKET_SELECT "SELECT " ST_TICKET_COLS ST_TICKET_FROM

/* Fills t from an ST_TICKET_SELECT row: strings borrowed from r, or copies
 * (owned by t, free with store_ticket_fin) when copy. */
void st_ticket_from_row(const PGresult *r, int row, struct store_ticket *t, int copy);

/* The fields of a ticket the state changes look at (store_ticket.c). */
struct st_ticket_head {
    int64_t id, conversation_id, requester_id, agent_id;
    char status[STORE_WORD_MAX];
};

/* The head's columns for st_ticket_select, first in its cols; a caller may
 * add its own after them (from column 5 on). */
#define ST_TICKET_HEAD_COLS "t.id, t.conversation_id, t.requester_id, t.agent_id, t.status"

/* Reads the ST_TICKET_HEAD_COLS of r's row 0 into h (store_ticket.c). */
void st_ticket_head_read(const PGresult *r, struct st_ticket_head *h);

/* Runs "SELECT cols FROM tickets t WHERE t.number = $1" (cols name the
 * table as t; "FOR UPDATE OF t" when lock). Returns 0 and *out (one row;
 * the caller clears), or STORE_EINVALID (no number), STORE_ENOTFOUND or
 * STORE_EDB with *out NULL. */
int st_ticket_select(struct store *s, const char *number, int lock, const char *cols,
                     PGresult **out);

/* Reads (and locks, if lock) ticket number's head. Returns 0,
 * STORE_EINVALID (no number), STORE_ENOTFOUND or STORE_EDB. */
int st_ticket_head(struct store *s, const char *number, int lock, struct st_ticket_head *h);

/* The status ticket `number` (now in status from) goes to on event, by
 * store_ticket.c's one transition table, into *to; STORE_EINVALID
 * ("INC-000001 is closed: cannot <what>") when the table does not allow it. */
int st_ticket_step(struct store *s, const char *number, const char *from, const char *event,
                   const char *what, const char **to);

/* 0 when agent is an enabled agent or admin; STORE_EFORBIDDEN ("person N is
 * not an enabled agent") or STORE_EDB otherwise. */
int st_check_agent(struct store *s, int64_t agent);

/* May actor work on ticket (take, edit, note, transfer it)? An enabled
 * admin may; an enabled agent may when the ticket has no team, is in a team
 * the agent belongs to, or is held by the agent. *lead (may be NULL) gets
 * whether the actor is an admin or a team lead of the ticket's team (or of
 * any team, for a ticket without one). Returns 0, STORE_EFORBIDDEN,
 * STORE_ENOTFOUND (no ticket) or STORE_EDB. */
int st_may_work(struct store *s, int64_t ticket, int64_t actor, int *lead);

/* Does person_id hold the extra role (person_roles: "team_lead",
 * "knowledge_reviewer")? *has gets 1 or 0, inside the caller's transaction.
 * Returns 0 or STORE_EDB. */
int st_role_has(struct store *s, int64_t person_id, const char *role, int *has);

/* Appends the analyzer's terms of body to conversation conv's terms (no-op
 * without a terms hook). Returns 0 or STORE_E*. */
int st_conv_terms_add(struct store *s, int64_t conv, const char *body);

/* Stores the analyzer's terms of every message conversation conv holds so
 * far (at escalation: messages are indexed for ticket search only once
 * their conversation has a ticket). Returns 0 or STORE_E*. */
int st_conv_terms_backfill(struct store *s, int64_t conv);

/* Sets ticket's summary_terms to the analyzer's terms of summary. */
int st_ticket_summary_terms(struct store *s, int64_t ticket, const char *summary);
/* ---- knowledge (store_knowledge.c), inside the caller's transaction ---- */

struct kb_doc;

/* The body of store_knowledge_create without an idempotency key: a draft
 * of doc by actor, its id into doc_id. Returns as store_knowledge_create. */
int st_knowledge_draft(struct store *s, int64_t actor, const struct kb_doc *doc,
                       char doc_id[STORE_DOCID_MAX]);
/* ---- knowledge use (store_kuse.c), inside the caller's transaction ----- */

/* A "linked" use of doc_id on ticket (its conversation too) by person.
 * Returns 0 or STORE_E*. */
int st_kuse_linked(struct store *s, const char *doc_id, int64_t person, int64_t ticket);

/* A "self_solved" use of every document suggested in conversation conv,
 * by person. Returns 0 or STORE_E*. */
int st_kuse_self_solved(struct store *s, int64_t conv, int64_t person);

/* ---- escalation (store_escalation.c, store_workspace.c), inside the
 * caller's transaction ---------------------------------------------------- */

/* After the timer marked the kind x target threshold of ticket (held by
 * agent, 0: nobody; deadline due) at now (0: the server's clock): applies
 * the escalation rules (a functional move through st_ticket_escalate_team),
 * records who is told (sla_notifications) and queues their mails, held
 * until the calendar's quiet hours end. Returns 0 or STORE_EDB. */
int st_sla_marked(struct store *s, int64_t ticket, int64_t agent, const char *kind,
                  const char *target, int64_t due, time_t now);

/* Moves ticket number (locked here) to team_id by the system, as a
 * transfer to a team does (agent cleared, the status the table gives a
 * "transferred" event, that event with reason), when the ticket is in
 * another team and its status allows a transfer (*moved = 1), else
 * nothing (*moved = 0). Returns 0 or STORE_E*. */
int st_ticket_escalate_team(struct store *s, const char *number, int64_t team_id,
                            const char *reason, int *moved);

/* ---- major incidents (store_major.c), inside the caller's transaction --- */

/* Sets the priority rule of major incidents (1..4; 0: off), for
 * store_escalation_load. Returns 0, STORE_EINVALID or STORE_EDB. */
int st_major_rule_set(struct store *s, int priority);

/* 1 when ticket is touched by a major incident not cleared (its own or the
 * one it is linked to), else 0; -1 on a database error (rc set). */
int st_major_touches(struct store *s, int64_t ticket, int *rc);

/* After one attempt at row id of an outbox table ("mail_outbox" or
 * "webhook_outbox", store_mail.c): sent (err NULL), or failed with err,
 * then queued again after the policy's back-off (retry_min doubling up to
 * retry_max seconds) or 'failed' after its max_attempts. Inside the
 * caller's transaction. Returns 0 or STORE_EDB. */
struct store_mail_policy;
int st_outbox_mark(struct store *s, const char *table, int64_t id, const char *err,
                   const struct store_mail_policy *policy);

/* One row of a claimed outbox batch: attempt(ctx, r, i, err, errlen) sends
 * row i of r (column 0: the row's id) and returns 0, or nonzero with a
 * message in err (may stay empty). */
typedef int (*st_outbox_attempt)(void *ctx, PGresult *r, int i, char *err, size_t errlen);

/* One batch of an outbox, in one transaction (named what): claims the due
 * rows with claim ($1: the batch size, policy->batch clamped to 1..100;
 * $2: arg2 when not NULL), which ends in FOR UPDATE SKIP LOCKED; hands
 * each row to attempt and marks it sent or failed (st_outbox_mark on
 * table). Returns 0 with *sent / *failed (either may be NULL) set, or a
 * store error (nothing marked, the rows stay due). store_mail.c. */
int st_outbox_run(struct store *s, const char *what, const char *table, const char *claim,
                  const char *arg2, const struct store_mail_policy *policy,
                  st_outbox_attempt attempt, void *ctx, int *sent, int *failed);

#endif
