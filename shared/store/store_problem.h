/* store_problem: problem management (the operations-and-maintenance
 * standard, 8.3.4) in the tables problems, problem_events and
 * tickets.problem_id: a problem record (summary, description, affected
 * service, impact, root cause, workaround, permanent fix), the incidents
 * (tickets) linked to it, many to one, and the known error drafted from it
 * into the knowledge lifecycle (store_knowledge), linked both ways. The
 * lifecycle is one transition table (event: from-status -> to-status):
 *
 *     created        (no problem)                        -> new
 *     investigating  new                                 -> investigating
 *     known_error    new, investigating                  -> known_error
 *     resolved       new, investigating, known_error     -> resolved
 *     closed         resolved                            -> closed
 *     reopened       resolved                            -> investigating
 *
 * and, without a change of status, edited, linked, unlinked and
 * known_error_drafted (which also moves new / investigating to
 * known_error). A change the table does not allow is STORE_EINVALID and
 * writes nothing. Each change is one transaction that locks the problem's
 * row and writes its problem_events row.
 *
 * Who may: every enabled agent or admin may do all of it; requesters none
 * (STORE_EFORBIDDEN; a problem is internal to the desk). */
#ifndef STORE_PROBLEM_H
#define STORE_PROBLEM_H

#include "store_pg.h"
#include "store_knowledge.h"

/* Longest text fields, in characters. */
#define STORE_PROBLEM_SUMMARY_MAX 1000
#define STORE_PROBLEM_TEXT_MAX 20000

/* The status a problem in `from` goes to on event (NULL from: no problem
 * yet), by the table above; NULL when it does not allow it. Static. */
const char *store_problem_next(const char *from, const char *event);

struct store_problem {
    int64_t id;
    char number[STORE_NUMBER_MAX];    /* PRB-000001 */
    char status[STORE_WORD_MAX];
    char *summary, *description;      /* owned (never NULL after a read) */
    char *service;                    /* owned, NULL: none */
    char *root_cause, *workaround, *fix; /* owned, "" when not written */
    int impact;                       /* 1 high .. 3 low */
    char known_error_doc[STORE_DOCID_MAX]; /* "" until drafted */
    int64_t owner_id;
    char owner_name[STORE_NAME_MAX];
    int incidents, open_incidents;    /* linked tickets, those not resolved or closed */
    int64_t created_at, updated_at, resolved_at, closed_at; /* 0: not yet */
};

/* Frees p's strings and zeroes it. Safe on a zeroed struct. */
void store_problem_fin(struct store_problem *p);

/* What create and edit set. NULL strings (and impact 0) mean "not given":
 * create needs a summary; edit changes only what is given (service "" clears
 * it). Lengths: summary 1..STORE_PROBLEM_SUMMARY_MAX characters, not blank;
 * the other texts up to STORE_PROBLEM_TEXT_MAX, service up to 200. */
struct store_problem_fields {
    const char *summary, *description, *service, *root_cause, *workaround, *fix;
    int impact; /* 1..3, 0: not given */
};

/* Creates a problem owned by actor (event "created") and reads it into
 * *out (free with store_problem_fin). Returns 0, STORE_EFORBIDDEN,
 * STORE_EINVALID (a field out of range, message says which) or STORE_EDB. */
int store_problem_create(struct store *s, int64_t actor, const struct store_problem_fields *f,
                         struct store_problem *out);

/* Reads problem number for viewer (an enabled agent or admin) into *out.
 * Returns 0, STORE_ENOTFOUND, STORE_EFORBIDDEN or STORE_EDB. */
int store_problem_get(struct store *s, const char *number, int64_t viewer,
                      struct store_problem *out);

/* Problems for viewer, newest first, those with id below after (0: from
 * the newest), at most limit (1..200), with status (NULL: any; "open":
 * not resolved or closed; else one status). cb gets each (borrowed for the
 * call); a non-zero return stops. Returns 0, STORE_EFORBIDDEN,
 * STORE_EINVALID (bad status or limit) or STORE_EDB. */
int store_problem_list(struct store *s, int64_t viewer, const char *status, int64_t after,
                       int limit, int (*cb)(void *ud, const struct store_problem *p), void *ud);

/* Changes the given fields (event "edited" naming them; nothing given or
 * nothing different writes nothing) and reads the problem into *out.
 * was (may be NULL) holds the values the editor started from: when a field
 * f changes is also in was and no longer has that value, someone changed
 * it meanwhile, and nothing is written (STORE_ECONFLICT, the message names
 * those fields). Returns as store_problem_create, or STORE_ENOTFOUND,
 * STORE_ECONFLICT. */
int store_problem_edit(struct store *s, const char *number, int64_t actor,
                       const struct store_problem_fields *f,
                       const struct store_problem_fields *was, struct store_problem *out);

/* A linked incident, as store_problem_step and store_problem_incidents
 * give it. */
struct store_problem_incident {
    char number[STORE_NUMBER_MAX];
    char status[STORE_WORD_MAX];
    const char *summary;   /* borrowed for the callback */
    int64_t agent_id;      /* 0: not taken */
    int priority;
    int64_t created_at;
};

/* The lifecycle step event (investigating, known_error, resolved, closed,
 * reopened) by actor with comment (may be NULL; at most 2000 characters),
 * reading the problem after it into *out. On "resolved", each linked
 * incident that is still open (new, assigned, reopened) is passed to
 * open_cb (may be NULL) inside the transaction, for telling its agents.
 * Returns 0, STORE_ENOTFOUND, STORE_EFORBIDDEN, STORE_EINVALID (the table
 * does not allow it, or an unknown event) or STORE_EDB. */
int store_problem_step(struct store *s, const char *number, int64_t actor, const char *event,
                       const char *comment, struct store_problem *out,
                       int (*open_cb)(void *ud, const struct store_problem_incident *t),
                       void *ud);

/* Links ticket (an incident) to problem number (link 1; event "linked"),
 * or unlinks it (link 0; "unlinked"). Linking a ticket linked to another
 * problem moves it (an "unlinked" event on the other). Linking twice is
 * not an error and writes nothing. Returns 0, STORE_ENOTFOUND (no such
 * problem or ticket; unlink: the ticket is not linked to it),
 * STORE_EFORBIDDEN, STORE_EINVALID (a closed problem) or STORE_EDB. */
int store_problem_link(struct store *s, const char *number, const char *ticket, int64_t actor,
                       int link);

/* The incidents linked to problem number, oldest first, to cb. Returns 0,
 * STORE_ENOTFOUND, STORE_EFORBIDDEN or STORE_EDB. */
int store_problem_incidents(struct store *s, const char *number, int64_t viewer,
                            int (*cb)(void *ud, const struct store_problem_incident *t),
                            void *ud);

struct store_problem_event {
    char type[STORE_WORD_MAX * 2];
    char from[STORE_WORD_MAX], to[STORE_WORD_MAX]; /* from "" for created */
    int64_t actor_id;
    const char *actor_name; /* borrowed; NULL: the system */
    const char *ticket;     /* borrowed; NULL: none */
    const char *detail;     /* borrowed JSON object text */
    int64_t at;
};

/* The events of problem number, oldest first, to cb. Returns as
 * store_problem_incidents. */
int store_problem_events(struct store *s, const char *number, int64_t viewer,
                         int (*cb)(void *ud, const struct store_problem_event *e), void *ud);

/* Drafts the problem's known error into the knowledge base: a draft
 * known_error item (store_knowledge's "created" event, owner actor,
 * visibility internal) whose title is the summary, symptom the description
 * and the linked incidents' summaries, cause the root cause, workaround
 * and resolution the problem's, service its service; the item's
 * problem_id and the problem's known_error_doc point at each other, the
 * problem moves to known_error (from new / investigating) with event
 * "known_error_drafted". All in one transaction. A problem that has its
 * draft already answers it again with *existed set (may be NULL). doc_id
 * gets the item's id. Returns 0, STORE_ENOTFOUND, STORE_EFORBIDDEN,
 * STORE_EINVALID (a closed problem) or STORE_EDB. */
int store_problem_draft_known_error(struct store *s, const char *number, int64_t actor,
                                    char doc_id[STORE_DOCID_MAX], int *existed);

/* For matching a new ticket to open problems: each open problem (not
 * resolved or closed) with the text of its summary, description and its
 * linked incidents' summaries (borrowed for the call), at most 500, newest
 * first. Returns 0, STORE_EFORBIDDEN or STORE_EDB. */
int store_problem_open_texts(struct store *s, int64_t viewer,
                             int (*cb)(void *ud, const struct store_problem *p, const char *text,
                                       int incidents),
                             void *ud);

#endif
