/* store_conv: conversations of a requester with the desk and their
 * messages (numbered 1, 2, ... per conversation, deduplicated by client id),
 * the knowledge suggested during the chat and the requester's verdicts on
 * it, which may end the chat as self-solved with a deflection. The change
 * that turns a conversation into a ticket is store_escalate (store_ticket.h). */
#ifndef STORE_CONV_H
#define STORE_CONV_H

#include "store_pg.h"

struct store_conversation {
    int64_t id;
    int64_t requester_id;
    char status[STORE_WORD_MAX];    /* open, self_solved, escalated, closed */
    int last_seq;                   /* seq of the last message, 0: none */
    int64_t created_at, updated_at;
    char ticket[STORE_NUMBER_MAX];  /* its ticket's number, "" if none */
};

/* Starts an open conversation for a requester. Returns 0 with *id set,
 * STORE_EINVALID (not a requester) or STORE_EDB. */
int store_conversation_create(struct store *s, int64_t requester_id, int64_t *id);

/* Reads conversation id for viewer_id: its requester, or any agent or admin.
 * Autocommit reads, no transaction. Returns 0, STORE_ENOTFOUND,
 * STORE_EFORBIDDEN (someone else's, or the viewer is disabled or unknown)
 * or STORE_EDB. */
int store_conversation_get(struct store *s, int64_t id, int64_t viewer_id,
                           struct store_conversation *out);

/* The requester's latest conversation still going on (open or escalated),
 * for a client that comes back. One autocommit read. Returns 0,
 * STORE_ENOTFOUND or STORE_EDB. */
int store_conversation_of_requester(struct store *s, int64_t requester_id,
                                    struct store_conversation *out);

/* Stores a message of sender_id in conversation conv. The sender's role is
 * the person's. A requester writes only to their own conversation while it
 * is open or escalated; an agent only to a conversation whose ticket is
 * assigned to them and not closed (the first such reply sets the ticket's
 * first_response_at; each writes a "replied" event). The message gets the
 * next seq of the conversation (1, 2, ...), allocated atomically with the
 * insert. client_id (may be NULL: no deduplication) makes resending safe: if
 * this sender already stored a message with that client id here, nothing is
 * stored, *seq gets the first one's seq and *duplicate 1. Returns 0,
 * STORE_ENOTFOUND (conversation or sender), STORE_EFORBIDDEN,
 * STORE_EINVALID (empty, blank or too long body; a conversation that
 * ended) or STORE_EDB; *seq and *duplicate are set only on success. */
int store_message_add(struct store *s, int64_t conv, int64_t sender_id, const char *client_id,
                      const char *body, int *seq, int *duplicate);

/* What store_message_post read about the conversation, under the lock it
 * stored the message with. */
struct store_posted {
    char status[STORE_WORD_MAX];    /* the conversation's: "open", "escalated", ... */
    char ticket[STORE_NUMBER_MAX];  /* its ticket's number, "" if none */
    int64_t agent_id;               /* the agent holding that ticket, 0 if none */
    int resumed;                    /* the requester's message ended the ticket's
                                       wait for them (pending -> assigned) */
};

/* store_message_add (same rules, same results, one transaction) that also
 * fills *info (on success only) with the conversation's status and ticket,
 * which spares the caller reading them again. */
int store_message_post(struct store *s, int64_t conv, int64_t sender_id, const char *client_id,
                       const char *body, int *seq, int *duplicate, struct store_posted *info);

struct store_message {
    int64_t conversation_id;
    int seq;
    int64_t sender_id;
    const char *sender_role;
    const char *sender_name;
    const char *client_id; /* NULL if none */
    const char *body;
    int64_t created_at;
};

/* Return nonzero to stop the iteration. */
typedef int (*store_message_cb)(void *arg, const struct store_message *m);

/* Replays the messages of conv with seq > after_seq, in seq order, to cb,
 * for viewer_id (access as store_conversation_get), in autocommit reads.
 * The callback runs after the reads. Returns 0, the callback's nonzero value if it
 * stopped early, STORE_ENOTFOUND, STORE_EFORBIDDEN or STORE_EDB. */
int store_messages_since(struct store *s, int64_t conv, int64_t viewer_id, int after_seq,
                         store_message_cb cb, void *arg);

/* Records that document doc_id (kind "article", "known_error" or
 * "standard") was suggested in conv; suggesting it again updates the title
 * and time. Returns 0, STORE_ENOTFOUND (no such conversation),
 * STORE_EINVALID or STORE_EDB. */
int store_suggestion_add(struct store *s, int64_t conv, const char *doc_id, const char *kind,
                         const char *title);

/* Records n documents as suggested in conv, as store_suggestion_add does
 * for one, in one statement (one commit). The arrays are the documents'
 * ids, kinds and titles (a NULL title: the id); a document listed twice
 * counts once. n == 0 does nothing. A duplicate is not a conflict: it
 * updates the title and time. Each document also gets a "shown" row in
 * knowledge_use (store_kuse.h) by the conversation's requester, in the same
 * statement. Returns 0, STORE_ENOTFOUND (no such conversation),
 * STORE_EINVALID or STORE_EDB. */
int store_suggestions_add(struct store *s, int64_t conv, size_t n, const char *const *doc_ids,
                          const char *const *kinds, const char *const *titles);

struct store_suggestion {
    const char *doc_id;
    const char *kind;
    const char *title;
    int64_t shown_at;
    int helpful;             /* 1 yes, 0 no, -1 no verdict */
};

typedef int (*store_suggestion_cb)(void *arg, const struct store_suggestion *sg);

/* The documents suggested in conv (one per document, first shown first),
 * for viewer_id (access as store_conversation_get), to cb after the
 * transaction. Returns 0, the callback's nonzero value, STORE_ENOTFOUND,
 * STORE_EFORBIDDEN or STORE_EDB. */
int store_suggestions(struct store *s, int64_t conv, int64_t viewer_id, store_suggestion_cb cb,
                      void *arg);

/* The requester's verdict on a suggestion of their conversation. helpful on
 * an open conversation ends it as self_solved and records a deflection
 * (*ended = 1) and a "self_solved" use (store_kuse.h) of every document
 * suggested there, in the same transaction; helpful on an escalated one links the document to the
 * ticket as "helpful". Not helpful only records the verdict. *ended may be
 * NULL. Returns 0, STORE_ENOTFOUND (no such conversation, or the document
 * was not suggested there), STORE_EFORBIDDEN (not the requester's),
 * STORE_EINVALID (the conversation ended) or STORE_EDB. */
int store_feedback(struct store *s, int64_t conv, int64_t requester_id, const char *doc_id,
                   int helpful, int *ended);

#endif
