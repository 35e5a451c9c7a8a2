/* store_workspace: the agents' workspace over tickets: teams and roles,
 * the ticket list with filters, text search and keyset paging, editing a
 * ticket's fields, internal notes, assigning and transferring, merging a
 * duplicate. Tables of migration 013_workspace.sql.
 *
 * Roles. people.role is requester, agent or admin; person_roles adds
 * knowledge_reviewer (store_knowledge.h) and team_lead. Who may do what
 * (README, "Teams and roles", is the same table):
 *
 *     read a ticket, its history, links    its requester; every agent, admin
 *     list and search tickets, read notes  agents and admins
 *     take, edit, note, transfer           admins; an agent when the ticket has
 *                                          no team, is in one of the agent's
 *                                          teams, or is held by the agent
 *     transfer a ticket someone else holds admins; team leads of its team
 *     merge                                as edit, on both tickets
 *
 * Text search uses the project's analyzer (shared/kb_analyzer), which the
 * store does not link to a lexicon itself: the program registers a hook
 * (store_terms_set) that turns a text into terms, and the store keeps the
 * terms of every message of a ticket's conversation (those before the
 * escalation in its transaction, later ones in the transaction that stores
 * each) and of each ticket's summary in text[] columns with GIN indexes. */
#ifndef STORE_WORKSPACE_H
#define STORE_WORKSPACE_H

#include "store_pg.h"

struct store_ticket;

/* Hands each term of text[0..len) to add(acc, term, term_len). Returns 0
 * or nonzero (the text could not be analyzed: the store fails the call
 * with STORE_EINVALID). */
typedef int (*store_terms_fn)(void *ctx, const char *text, size_t len,
                              void (*add)(void *acc, const char *term, size_t term_len),
                              void *acc);

/* A terms hook over the project's analyzer: ctx is a kb_analyzer (one per
 * thread, as the store is), text analyzed as a document is (KB_TOK_DOCUMENT:
 * words, lexicon words, CJK bigrams, codes and their parts, English stems),
 * the very terms the indexer makes. Returns 0, or nonzero for text that is
 * not valid UTF-8 or holds a NUL. */
int store_terms_kb(void *ctx, const char *text, size_t len,
                   void (*add)(void *acc, const char *term, size_t term_len), void *acc);

/* Registers the terms hook of s (fn NULL: none; messages then add no terms
 * and a text query matches nothing). ctx must outlive s or the next call. */
void store_terms_set(struct store *s, store_terms_fn fn, void *ctx);

/* ---- teams, membership, roles (store_team.c) ------------------------------ */

/* Creates team slug ([a-z0-9_-]{1,32}) with a name (and an English name,
 * may be NULL). *id (may be NULL) gets its id. Returns 0, STORE_ECONFLICT
 * (slug taken), STORE_EINVALID or STORE_EDB. */
int store_team_create(struct store *s, const char *slug, const char *name, const char *name_en,
                      int64_t *id);

/* Adds (add 1) or removes (add 0) person to team slug; only agents and
 * admins are members. Adding a member twice is not an error. Returns 0,
 * STORE_ENOTFOUND (no such team or person), STORE_EINVALID (a requester) or
 * STORE_EDB. */
int store_team_member(struct store *s, int64_t person_id, const char *team, int add);

/* Gives (grant 1) or takes away (grant 0) role: "agent" or "admin" set
 * people.role of a staff member (grant 0 is refused: a staff member has one
 * of them); "team_lead" and "knowledge_reviewer" are extra roles. Returns 0,
 * STORE_ENOTFOUND, STORE_EINVALID (unknown role, a requester) or
 * STORE_EDB. */
int store_person_role(struct store *s, int64_t person_id, const char *role, int grant);

/* Does person_id hold the extra role role ("team_lead",
 * "knowledge_reviewer")? *has gets 1 or 0. Returns 0 or STORE_EDB. */
int store_role_has(struct store *s, int64_t person_id, const char *role, int *has);

struct store_team {
    int64_t id;
    const char *slug, *name, *name_en; /* name_en may be NULL */
    const char *members;               /* JSON array [{"id":..,"name":..}] */
};

typedef int (*store_team_cb)(void *arg, const struct store_team *t);

/* Every team (by id), for a staff viewer, to cb after the reads. Returns 0,
 * the callback's value, STORE_EFORBIDDEN (not staff) or STORE_EDB. */
int store_teams(struct store *s, int64_t viewer, store_team_cb cb, void *arg);

struct store_person {
    int64_t id;
    const char *name, *username; /* username NULL for requesters */
    const char *role;            /* requester, agent, admin */
    const char *roles;           /* JSON array of every role held */
    const char *teams;           /* JSON array of team slugs */
    int disabled;
};

typedef int (*store_person_cb)(void *arg, const struct store_person *p);

/* The people (staff only: agents and admins) for a staff viewer, by id,
 * holding role (NULL: any; "agent" lists agents and admins, who both work
 * tickets; "team_lead", "knowledge_reviewer", "admin") and in team (slug,
 * NULL: any). Returns 0, the callback's value, STORE_EFORBIDDEN or
 * STORE_EDB. */
int store_people_list(struct store *s, int64_t viewer, const char *role, const char *team,
                      store_person_cb cb, void *arg);

/* The open tickets (new, assigned, reopened) in viewer's queue, most urgent
 * first: for an admin all of them, for an agent those without a team, in
 * the agent's teams, or held by the agent. Returns 0, the callback's value,
 * STORE_EFORBIDDEN (not staff) or STORE_EDB. */
int store_queue_for(struct store *s, int64_t viewer, int (*cb)(void *, const struct store_ticket *),
                    void *arg);

/* ---- the ticket list (store_workspace.c) ----------------------------------- */

#define STORE_CURSOR_MAX 64

/* Filters of store_ticket_list; zero / NULL fields do not filter. */
struct store_ticket_filter {
    const char *status;       /* comma list of statuses */
    int priority;             /* 1..4 */
    const char *team;         /* a team slug, or "none" */
    int64_t assignee;         /* a person id; -1: nobody */
    const char *category;     /* exact, or a prefix path: "网络" matches "网络/VPN" */
    const char *sla;          /* the SLA state: ok, warning, breached, or none (no clock) */
    int64_t created_from, created_to, updated_from, updated_to; /* Unix seconds, inclusive */
    const char *q;            /* text: the analyzer's terms (see below) */
    const char *sort;         /* updated (default without q), created, priority,
                                 relevance (default with q) */
    const char *after;        /* the cursor of the previous page */
    int limit;                /* 1..100 (0: 25) */
};

/* One page of tickets for staff viewer, filtered by f, into cb (strings
 * borrowed) after the reads. Sorts: updated and created newest first,
 * priority P1 first then oldest, relevance by the number of the query's
 * terms the ticket holds (in its summary or any message), then most
 * recently updated. A text query q matches a ticket holding at least half
 * its distinct terms (rounded up). Every sort ends with the ticket id, so
 * paging by the cursor (the last row's keys) is stable; next (at least
 * STORE_CURSOR_MAX bytes) gets the cursor of the next page, "" on the last.
 * cb's matches is the number of query terms the ticket holds (0 without
 * q). Returns 0, the callback's value, STORE_EFORBIDDEN
 * (not staff), STORE_EINVALID (a bad filter, cursor or sort: the message
 * says which) or STORE_EDB. */
int store_ticket_list(struct store *s, int64_t viewer, const struct store_ticket_filter *f,
                      int (*cb)(void *arg, const struct store_ticket *t, int matches), void *arg,
                      char *next);

/* ---- changes (store_workspace.c) -------------------------------------------- */

/* Fields to edit: NULL / 0 leave a field as it is; category "" clears it.
 * was_*: the value the editor started from, for a field it changes (NULL /
 * 0: not checked; was_category "" is none). A changed field whose value is
 * no longer its was_* value was changed by someone else meanwhile: then
 * nothing is written (STORE_ECONFLICT), so a later save never silently
 * replaces another person's change it did not see. */
struct store_ticket_edit {
    const char *summary;
    const char *category;
    int impact, urgency;      /* 1..3 */
    const char *was_summary, *was_category;
    int was_impact, was_urgency;
};

/* Bits of store_ticket_edit's *conflicts: the fields changed meanwhile. */
enum {
    STORE_EDIT_SUMMARY = 1,
    STORE_EDIT_CATEGORY = 2,
    STORE_EDIT_IMPACT = 4,
    STORE_EDIT_URGENCY = 8,
};

/* actor edits ticket number: one "edited" event per field that changes
 * ({"field":..,"from":..,"to":..}), priority recomputed by store_priority
 * when impact or urgency change (its own "edited" event; the SLA clock is
 * then recomputed, st_sla_priority_changed), the summary's
 * terms renewed; one transaction that locks the ticket. Nothing changing
 * is not an error (*changed 0). Allowed in every status (a closed
 * ticket's category or priority may be corrected for reporting). *changed (may be NULL) gets the
 * number of events written; *conflicts (may be NULL) the STORE_EDIT_* bits
 * of the fields whose was_* value no longer holds. Returns 0,
 * STORE_ENOTFOUND, STORE_EFORBIDDEN (st_may_work's rule), STORE_ECONFLICT
 * (*conflicts says which fields; the message names them and their values
 * now), STORE_EINVALID or STORE_EDB. */
int store_ticket_edit(struct store *s, const char *number, int64_t actor,
                      const struct store_ticket_edit *e, int *changed, unsigned *conflicts);

/* An internal note by actor on ticket number (any status), with a "noted"
 * event; requesters never read either. *id (may be NULL) gets the note's
 * id. Returns 0, STORE_ENOTFOUND, STORE_EFORBIDDEN, STORE_EINVALID (empty,
 * blank or over 20,000 characters) or STORE_EDB. */
int store_ticket_note(struct store *s, const char *number, int64_t actor, const char *body,
                      int64_t *id);

struct store_note {
    int64_t id;
    int64_t author_id;
    const char *author_name;
    const char *body;
    int64_t at;
};

/* The notes of ticket number, oldest first, for a staff viewer. A
 * requester gets STORE_ENOTFOUND, as for a ticket that does not exist.
 * Returns 0, the callback's value, STORE_ENOTFOUND or STORE_EDB. */
int store_ticket_notes(struct store *s, const char *number, int64_t viewer,
                       int (*cb)(void *arg, const struct store_note *n), void *arg);

/* actor assigns ticket number to agent (0: none) and/or team (a slug, NULL:
 * keep the ticket's team) with a reason (required): with an agent the event
 * is "assigned" (new, assigned, reopened -> assigned; the agent must be an
 * enabled agent or admin and, with a team given, a member of it), without
 * one "transferred" (the ticket leaves its agent: assigned -> new,
 * reopened stays reopened). Who: st_may_work's rule, and a ticket held by
 * someone else only by an admin or a team lead of its team. One
 * transaction that locks the ticket; the event's detail holds the reason,
 * the old and new team and agent. Returns 0, STORE_ENOTFOUND (ticket,
 * team, agent), STORE_EFORBIDDEN, STORE_EINVALID (no reason, the agent not
 * in the team, nothing to transfer to, resolved or closed) or STORE_EDB. */
int store_ticket_transfer(struct store *s, const char *number, int64_t actor, const char *team,
                          int64_t agent, const char *reason);

/* actor merges duplicate into target: the duplicate is closed with
 * merged_into pointing to target (event "merged" on both, with the other's
 * number), target's conversation terms gain the duplicate's, so a search
 * finds the survivor by the duplicate's words. The duplicate must be new,
 * assigned or reopened; target not closed and not the duplicate. Locks
 * both tickets (in id order). Returns 0, STORE_ENOTFOUND, STORE_EFORBIDDEN,
 * STORE_EINVALID or STORE_EDB. */
int store_ticket_merge(struct store *s, const char *duplicate, const char *target,
                       int64_t actor);

#endif
