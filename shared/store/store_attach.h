/* store_attach: the rows of attachments (migration 016_attach.sql): one
 * per upload, naming the content by its SHA-256 (the bytes are on disk,
 * chatdesk/attach.h), and what it is attached to: a message of a
 * conversation or a ticket. Who may read one: its uploader, and whoever
 * may see the conversation or ticket it is attached to (st_may_view: the
 * requester who owns it, enabled agents and admins). */
#ifndef STORE_ATTACH_H
#define STORE_ATTACH_H

#include "store_pg.h"

#define STORE_ATTACH_NAME_MAX 200 /* characters of a name */
#define STORE_ATTACH_PER_MESSAGE 8

struct store_attachment {
    int64_t id;
    char sha256[65];
    int64_t size;
    char type[64];
    char name[STORE_ATTACH_NAME_MAX * 4 + 1];
    int64_t uploader_id;
    int64_t conversation_id;   /* 0: not on a message */
    int message_seq;
    char ticket[STORE_NUMBER_MAX]; /* "" : not on a ticket */
    int64_t created_at;
};

/* Records an upload of uploader (any enabled person) of content sha256
 * (64 lowercase hex), size bytes (> 0) of type, named name (1..200
 * characters of valid UTF-8), unattached. Returns 0 with *id set,
 * STORE_EINVALID, STORE_ENOTFOUND (no such enabled person) or STORE_EDB. */
int store_attach_add(struct store *s, int64_t uploader, const char *sha256, int64_t size,
                     const char *type, const char *name, int64_t *id);

/* Reads attachment id for viewer into *out. Returns 0, STORE_ENOTFOUND (no
 * such attachment, or one viewer may not see: the same answer) or
 * STORE_EDB. */
int store_attach_get(struct store *s, int64_t id, int64_t viewer, struct store_attachment *out);

/* Checks that ids[0..n) (n <= STORE_ATTACH_PER_MESSAGE) are all uploads of
 * person still unattached. Returns 0, STORE_ENOTFOUND (naming the first
 * that is not, in the message), STORE_EINVALID (too many, repeated) or
 * STORE_EDB. */
int store_attach_check(struct store *s, int64_t person, const int64_t *ids, int n);

/* Attaches ids[0..n) (unattached uploads of person) to message seq of
 * conversation conv, in one transaction. Returns 0, STORE_ENOTFOUND (one is
 * not person's unattached upload: nothing attached) or STORE_EDB. */
int store_attach_to_message(struct store *s, int64_t person, const int64_t *ids, int n,
                            int64_t conv, int seq);

/* Attaches upload id of person to ticket number: person must be the
 * ticket's requester (ticket not closed) or an agent who may work on it
 * (st_may_work: an admin, a member of its team, its holder, anyone for a
 * ticket without a team). Returns 0, STORE_ENOTFOUND (no such ticket, or
 * one person may not see; no such unattached upload of person),
 * STORE_EFORBIDDEN (may see the ticket, may not work on it), STORE_EINVALID
 * (closed) or STORE_EDB. */
int store_attach_to_ticket(struct store *s, int64_t person, int64_t id, const char *number);

/* Return nonzero to stop the iteration. */
typedef int (*store_attach_cb)(void *arg, const struct store_attachment *a);

/* The attachments of ticket number that viewer may see (the ticket's own
 * and those of its conversation's messages), oldest first, to cb. Returns
 * 0, the callback's nonzero value, STORE_ENOTFOUND (no ticket, or one
 * viewer may not see) or STORE_EDB. */
int store_attach_of_ticket(struct store *s, const char *number, int64_t viewer,
                           store_attach_cb cb, void *arg);

/* The attachments of the messages of conversation conv that viewer may
 * see, by seq, to cb. Returns as store_attach_of_ticket. */
int store_attach_of_conversation(struct store *s, int64_t conv, int64_t viewer,
                                 store_attach_cb cb, void *arg);

#endif
