/* store_kuse: knowledge utilisation and reader feedback, one row of table
 * knowledge_use per use of a document (migration 004_kbuse.sql), keyed by
 * the document id of the index (corpus files and desk items alike). The
 * kinds of use:
 *
 *     shown        in a requester's or an agent's suggestions, or an
 *                  agent's search results (store_suggestions_add records
 *                  the requester's in its own statement)
 *     opened       the whole document read (the desk's `doc`)
 *     helpful, not_helpful, out_of_date
 *                  a reader's feedback, with an optional comment
 *     linked       linked to a ticket by store_ticket_link (same transaction)
 *     self_solved  suggested in a conversation that store_feedback ended
 *                  self-solved (same transaction, every document suggested
 *                  there)
 *
 * Counters are SQL aggregates over the rows, so any period can be counted.
 * The rows are append-only. */
#ifndef STORE_KUSE_H
#define STORE_KUSE_H

#include <stddef.h>

#include "store_pg.h"

/* The longest feedback comment, in characters. */
#define STORE_KUSE_COMMENT_MAX 2000
/* The most feedback rows store_kuse_feedback_list returns. */
#define STORE_KUSE_FEEDBACK_MAX 50

/* Is verdict one of "helpful", "not_helpful", "out_of_date"? */
int store_kuse_verdict_ok(const char *verdict);

/* Records one use of kind ("shown" or "opened"; the other kinds have their
 * own functions) for each of the n documents doc_ids (n == 0: nothing), by
 * person (0: unknown) in conversation conv (0: none), in one statement.
 * Returns 0, STORE_EINVALID (unknown kind, bad id) or STORE_EDB. */
int store_kuse_record(struct store *s, const char *kind, int64_t person, int64_t conv, size_t n,
                      const char *const *doc_ids);

/* Stores a reader's feedback on doc_id: verdict (store_kuse_verdict_ok),
 * comment (NULL or blank: none; at most STORE_KUSE_COMMENT_MAX characters),
 * by person (0: unknown) in conversation conv (0: none). The caller checks
 * that the reader may see the document. One statement. Returns 0,
 * STORE_EINVALID (verdict, comment or id refused: nothing stored) or
 * STORE_EDB. */
int store_kuse_feedback(struct store *s, const char *doc_id, int64_t person, int64_t conv,
                        const char *verdict, const char *comment);

/* Per-document totals of each kind of use. */
struct store_kcounters {
    int64_t shown, opened, helpful, not_helpful, out_of_date, linked, self_solved;
};

/* The totals of doc_id into *out (all 0 when never used), between from and
 * to (Unix seconds, 0: unbounded), in one aggregate read. Returns 0 or
 * STORE_EDB (then *out is zeroed). */
int store_kuse_counters(struct store *s, const char *doc_id, time_t from, time_t to,
                        struct store_kcounters *out);

/* One feedback row; strings borrowed for the callback's duration. */
struct store_kfeedback {
    int64_t id;
    const char *verdict;
    const char *comment;   /* NULL: none */
    int64_t by_id;         /* 0: the person was purged */
    const char *by_name;   /* NULL: the person was purged */
    const char *by_role;   /* requester, agent, admin; NULL when purged */
    int64_t at;
};

typedef int (*store_kfeedback_cb)(void *arg, const struct store_kfeedback *f);

/* The newest feedback on doc_id first, at most limit rows (1..
 * STORE_KUSE_FEEDBACK_MAX; others are clamped), for viewer, who must be an
 * enabled agent or admin (requesters never read others' feedback), to cb
 * after the read. Returns 0, the callback's nonzero value,
 * STORE_EFORBIDDEN or STORE_EDB. */
int store_kuse_feedback_list(struct store *s, const char *doc_id, int64_t viewer, int limit,
                             store_kfeedback_cb cb, void *arg);

#endif
