/* store_knowledge: desk-authored knowledge (articles and known errors) in
 * the tables knowledge_items, knowledge_versions and knowledge_events, and
 * the extra roles of person_roles (knowledge_reviewer). Every save is a new
 * numbered version; the review lifecycle is one transition table (event:
 * from-state -> to-state):
 *
 *     created    (no item)                               -> draft
 *     imported   (no item)                               -> published
 *     saved      draft, published, retired               -> draft
 *     restored   draft, published, retired               -> draft
 *     submitted  draft                                   -> in_review
 *     approved   in_review                               -> approved
 *     returned   in_review, approved                     -> draft
 *     published  approved                                -> published
 *     retired    draft, in_review, approved, published   -> retired
 *
 * A published item that gets a new draft stays live in the index (its
 * published_version) until the new version is published or the item is
 * retired. A change the table does not allow is refused with
 * STORE_EINVALID and writes nothing.
 *
 * Who may: every enabled agent or admin may create, save, restore, submit
 * and publish an approved item; approve and return need the
 * knowledge_reviewer role (store_person_role) or an admin, and approving a
 * version one wrote oneself needs allow_self; retire needs a reviewer, an
 * admin or the item's owner. Requesters may do none of it
 * (STORE_EFORBIDDEN).
 *
 * Each change runs in one transaction that locks the item's row, writes
 * the item, its version if any and its knowledge_events row. Publish and
 * retire move the item's index_seq (from the sequence knowledge_index_seq)
 * and NOTIFY channel STORE_KNOWLEDGE_CHANNEL, delivered at commit, which
 * the indexer's follower listens to. They draw index_seq under a
 * transaction-level advisory lock, so the values commit in their order and
 * a reader that saw N missed no smaller one. */
#ifndef STORE_KNOWLEDGE_H
#define STORE_KNOWLEDGE_H

#include "store_pg.h"

struct kb_doc;

/* The NOTIFY channel of publish and retire. */
#define STORE_KNOWLEDGE_CHANNEL "kbdesk_knowledge"
/* A document id with its NUL (64 characters of [A-Za-z0-9._-]). */
#define STORE_DOCID_MAX 65
/* Days from publishing to the review-due date when the caller gives none. */
#define STORE_KNOWLEDGE_REVIEW_DAYS 180

/* The state an item in state `from` goes to on event (as in
 * knowledge_events.type; from NULL: no item yet), by the table above; NULL
 * when the table does not allow it. The string is static. */
const char *store_knowledge_next(const char *from, const char *event);

struct store_knowledge {
    int64_t id;
    char doc_id[STORE_DOCID_MAX];
    char kind[STORE_WORD_MAX];      /* article, known_error */
    char state[STORE_WORD_MAX];     /* draft, in_review, approved, published, retired */
    int version;                    /* the latest saved version */
    int published_version;          /* live in the index, 0: none */
    int64_t owner_id;
    int64_t author_id;              /* of the version in doc */
    int64_t review_due;             /* 0 while nothing is live */
    int64_t created_at, updated_at;
    int doc_version;                /* the version doc holds */
    char source_ticket[STORE_NUMBER_MAX]; /* the ticket it was written from, "" if none */
    struct kb_doc *doc;             /* owned: free with store_knowledge_fin */
};

/* Frees k->doc and zeroes k. Safe on a zeroed struct. */
void store_knowledge_fin(struct store_knowledge *k);

/* Creates a draft (event "created", version 1) from doc (kind article or
 * known_error, non-empty title, visibility public or internal) by actor,
 * who becomes its owner. doc->id is ignored: the item gets KB-D000001 (or
 * KE-... for a known error) from its row id; *doc_id (may be NULL) gets it.
 * With an idempotency key (may be NULL; 1..255 bytes), an item actor
 * created before with the same key is found instead: nothing is written,
 * *doc_id is that item and *existed (may be NULL) is set to 1. One
 * transaction. Returns 0, STORE_EFORBIDDEN (not an enabled agent or
 * admin), STORE_EINVALID (bad kind, title or visibility) or STORE_EDB. */
int store_knowledge_create(struct store *s, int64_t actor, const struct kb_doc *doc,
                           const char *idempotency_key, char doc_id[STORE_DOCID_MAX],
                           int *existed);

/* Saves doc as a new version (event "saved") when the item's latest
 * version is expected_version, else STORE_ECONFLICT ("KB-D000001 is at
 * version 3, not 2: someone saved it meanwhile; reload and merge") and
 * nothing written. The state goes to draft (a published version stays
 * live). doc->kind must be the item's; doc->id is ignored. *version (may
 * be NULL) gets the new number. One transaction locking the item. Returns
 * 0, STORE_ENOTFOUND, STORE_EFORBIDDEN, STORE_ECONFLICT, STORE_EINVALID
 * (in review or approved, bad fields) or STORE_EDB. */
int store_knowledge_save(struct store *s, const char *doc_id, int64_t actor,
                         int expected_version, const struct kb_doc *doc, int *version);

/* Saves the text of version `from` again as a new version (event
 * "restored"), with the same version check and results as
 * store_knowledge_save; STORE_ENOTFOUND also when `from` does not exist. */
int store_knowledge_restore(struct store *s, const char *doc_id, int64_t actor,
                            int expected_version, int from, int *version);

/* The lifecycle steps (events submitted, approved, returned, published,
 * retired), each in one transaction locking the item, writing its event
 * with comment (may be NULL; at most 2000 characters). Returns 0,
 * STORE_ENOTFOUND, STORE_EFORBIDDEN (see "Who may" above), STORE_EINVALID
 * (a state the table refuses, a comment too long; return without a
 * comment) or STORE_EDB. Publishing sets the review-due date to
 * review_due (0: STORE_KNOWLEDGE_REVIEW_DAYS days from now). */
int store_knowledge_submit(struct store *s, const char *doc_id, int64_t actor,
                           const char *comment);
int store_knowledge_approve(struct store *s, const char *doc_id, int64_t actor, int allow_self,
                            const char *comment);
int store_knowledge_return(struct store *s, const char *doc_id, int64_t actor,
                           const char *comment);
int store_knowledge_publish(struct store *s, const char *doc_id, int64_t actor,
                            time_t review_due);
int store_knowledge_retire(struct store *s, const char *doc_id, int64_t actor,
                           const char *comment);

/* Imports doc (a corpus document with its own id) as a published item
 * owned by actor (event "imported", version 1, review due in
 * STORE_KNOWLEDGE_REVIEW_DAYS days). One transaction. Returns 0,
 * STORE_EFORBIDDEN, STORE_ECONFLICT (the id exists already: nothing
 * written), STORE_EINVALID (bad id, kind or fields) or STORE_EDB. */
int store_knowledge_import(struct store *s, int64_t actor, const struct kb_doc *doc);

/* Reads item doc_id for viewer (an enabled agent or admin, else
 * STORE_EFORBIDDEN) with version `version` (0: the latest) into *out (free
 * with store_knowledge_fin; zeroed on failure), in autocommit reads.
 * Returns 0, STORE_ENOTFOUND (no item, no such version), STORE_EFORBIDDEN
 * or STORE_EDB. */
int store_knowledge_get(struct store *s, const char *doc_id, int64_t viewer, int version,
                        struct store_knowledge *out);

struct store_kversion {
    int version;
    int64_t author_id;
    const char *author_name;
    const char *title;
    int restored_from;      /* 0: a plain save */
    int64_t at;
};

typedef int (*store_kversion_cb)(void *arg, const struct store_kversion *v);

/* The versions of doc_id, oldest first, for viewer (as store_knowledge_get),
 * to cb after the reads. Returns 0, the callback's nonzero value,
 * STORE_ENOTFOUND, STORE_EFORBIDDEN or STORE_EDB. */
int store_knowledge_versions(struct store *s, const char *doc_id, int64_t viewer,
                             store_kversion_cb cb, void *arg);

/* Called with an item whose doc is its latest version; borrowed. */
typedef int (*store_knowledge_cb)(void *arg, const struct store_knowledge *k);

/* The items for viewer (an enabled agent or admin), by doc id: only those
 * in state (NULL: any); with due_only, only the live ones whose review-due
 * date is before now (0: the server's clock). Returns 0, the callback's
 * nonzero value, STORE_EFORBIDDEN, STORE_EINVALID (unknown state) or
 * STORE_EDB. */
int store_knowledge_list(struct store *s, int64_t viewer, const char *state, int due_only,
                         time_t now, store_knowledge_cb cb, void *arg);

/* store_knowledge_list, one page of it: only items whose doc_id sorts
 * after `after` (NULL: from the first), at most limit of them (0: all).
 * The caller pages on with the last doc_id it got (keyset paging). */
int store_knowledge_page(struct store *s, int64_t viewer, const char *state, int due_only,
                         time_t now, const char *after, int limit, store_knowledge_cb cb,
                         void *arg);

/* For the indexer: one item whose index_seq is above after, ordered by
 * index_seq. doc is its published version (owned by the library, valid
 * during the call), or NULL when nothing of it is live (retired). */
typedef int (*store_knowledge_live_cb)(void *arg, const char *doc_id, int64_t index_seq,
                                       const struct kb_doc *doc);

/* The items changed for the index since after (0: every live item, and no
 * retired one), in one read-only transaction; *last (may be NULL) gets the
 * highest index_seq seen (after when none). Returns 0, the callback's
 * nonzero value, or STORE_EDB (a stored document that does not parse is
 * STORE_EINVALID). */
int store_knowledge_changes(struct store *s, int64_t after, store_knowledge_live_cb cb,
                            void *arg, int64_t *last);

/* The highest index_seq given so far (0: none) into *seq: a follower
 * compares it with the last one it indexed (the safety poll behind
 * NOTIFY). One statement. Returns 0 or STORE_EDB. */
int store_knowledge_seq(struct store *s, int64_t *seq);

/* LISTENs on STORE_KNOWLEDGE_CHANNEL on s's connection (call it again
 * after a STORE_EDB: a new connection listens to nothing). Returns 0 or
 * STORE_EDB. */
int store_knowledge_listen(struct store *s);

/* Waits at most timeout_ms for a notification on the channel listened to;
 * *notified gets 1 if one (or more: all pending are consumed) came, else 0.
 * Returns 0, or STORE_EDB when the connection broke. */
int store_knowledge_wait(struct store *s, int timeout_ms, int *notified);

/* ---- from ticket to knowledge, and who may review ------------------------- */

/* May person_id approve and return knowledge (the knowledge_reviewer role,
 * or an admin)? *may gets 1 or 0 (0 also for a requester or nobody). One
 * autocommit read. Returns 0 or STORE_EDB. */
int store_knowledge_may_review(struct store *s, int64_t person_id, int *may);

/* Creates a draft of kind ("article" or "known_error") from ticket number
 * by actor (an enabled agent or admin, who becomes its owner), as
 * store_knowledge_create does (event "created", its comment naming the
 * ticket; the same idempotency key rule), pre-filled from the ticket: the
 * title is its summary, the category its category, visibility internal;
 * an article's body has a problem section (the summary and the requester's
 * messages, quoted) and a solution section (the resolution); a known
 * error's symptom is the summary and the requester's messages, its
 * resolution the ticket's resolution, its status "resolved". The item's
 * source_ticket is the ticket. Only a resolved or closed ticket qualifies:
 * otherwise STORE_ECONFLICT ("INC-000001 is assigned: ...") and nothing
 * written. One transaction. Returns 0, STORE_EFORBIDDEN (not an enabled
 * agent or admin), STORE_ENOTFOUND (no such ticket), STORE_ECONFLICT,
 * STORE_EINVALID (bad kind) or STORE_EDB; *doc_id (may be NULL) gets the
 * item's id and *existed (may be NULL) 1 when the key found an earlier
 * one. */
int store_knowledge_from_ticket(struct store *s, const char *number, int64_t actor,
                                const char *kind, const char *idempotency_key,
                                char doc_id[STORE_DOCID_MAX], int *existed);

#endif
