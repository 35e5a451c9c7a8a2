/* store_portal: a requester's identity beyond one browser tab: private
 * links (a long random token per person, kept hashed, a new one revoking
 * the old), e-mail sign-in codes (a six-digit code and a link token mailed
 * to an address, kept hashed, valid for a while and a few tries, used
 * once), verified addresses (one person per verified address), the
 * per-person mail preference, and "my tickets" (a requester's tickets with
 * their rating). Tables requester_links, signin_codes and people's
 * email_verified / ticket_mail (migration 012_portal.sql). The mails these
 * steps cause go into mail_outbox in the same transaction (store_mail.h). */
#ifndef STORE_PORTAL_H
#define STORE_PORTAL_H

#include "store_pg.h"
#include "store_ticket.h"

/* Issues a private link for requester person: the link under token_hash
 * (the caller keeps the token), every older link of the person revoked.
 * link_url (may be NULL) is the link as the requester opens it: the
 * ticket-created mails of the person held for it ({link} in their body) get
 * it and are queued. One transaction. Returns 0, STORE_ENOTFOUND (no such
 * enabled requester), STORE_ECONFLICT (the hash exists) or STORE_EDB. */
int store_link_issue(struct store *s, int64_t person,
                     const unsigned char token_hash[STORE_TOKEN_HASH_BYTES],
                     const char *link_url);

/* Opens a private link: finds the live link under link_hash (not revoked,
 * its person an enabled requester) and starts a session for that person
 * under session_hash (valid ttl_seconds), in one transaction. *person and
 * name (STORE_NAME_MAX bytes) get who it is. Returns 0, STORE_ENOTFOUND
 * (unknown or revoked link; nothing written) or STORE_EDB. */
int store_link_open(struct store *s, const unsigned char link_hash[STORE_TOKEN_HASH_BYTES],
                    const unsigned char session_hash[STORE_TOKEN_HASH_BYTES], int ttl_seconds,
                    int64_t *person, char *name);

/* Records a sign-in code for email (code_hash and link_hash: hashes of the
 * code and of the link token, see auth_code_hash), valid ttl_seconds, and
 * queues its mail (subject, body) to email, in one transaction; older
 * unused codes of the address stop working. Returns 0, STORE_EINVALID (bad
 * address, subject or body) or STORE_EDB. */
int store_signin_request(struct store *s, const char *email,
                         const unsigned char code_hash[STORE_TOKEN_HASH_BYTES],
                         const unsigned char link_hash[STORE_TOKEN_HASH_BYTES], int ttl_seconds,
                         const char *subject, const char *body);

/* Who a sign-in made. */
struct store_signin {
    int64_t person;
    char name[STORE_NAME_MAX];
    char email[256];
    int tries_left; /* after a wrong code */
    int merged;     /* the anonymous person's conversations were attached */
};

/* Checks a sign-in: either email with the hash of the code typed
 * (code_hash), or link_hash alone (email NULL). The address's latest code
 * must be unused, unexpired and have had fewer than max_tries wrong tries.
 * A wrong code counts a try (committed). A right one marks the code used,
 * finds the person whose verified address it is or makes one (the
 * anonymous requester anon, if not 0 and not verified yet, becomes that
 * person; otherwise a new requester named after the address), attaches
 * to that person the conversations and tickets of anon when anon is
 * someone else, and of every requester who gave this address without
 * proving it (the ticket mails, with their private links, went to it
 * anyway), ending those identities' sessions and links, and starts a session under session_hash (valid ttl_seconds); one
 * transaction. Returns 0 with *out filled, STORE_ENOTFOUND (no live code:
 * none, used, expired or replaced; for a link, unknown), STORE_EFORBIDDEN
 * (wrong code; out->tries_left says how many remain), STORE_ECONFLICT (too
 * many wrong tries: the code is locked) or STORE_EDB. */
int store_signin_verify(struct store *s, const char *email,
                        const unsigned char code_hash[STORE_TOKEN_HASH_BYTES],
                        const unsigned char link_hash[STORE_TOKEN_HASH_BYTES], int max_tries,
                        int64_t anon, const unsigned char session_hash[STORE_TOKEN_HASH_BYTES],
                        int ttl_seconds, struct store_signin *out);

/* A requester's verified address into email (256 bytes; "" if none) and
 * mail preference. Returns 0, STORE_ENOTFOUND or STORE_EDB. */
int store_person_contact(struct store *s, int64_t person, char *email, int *ticket_mail);

/* Turns person's ticket mails on or off. Returns 0, STORE_ENOTFOUND or
 * STORE_EDB. */
int store_person_set_ticket_mail(struct store *s, int64_t person, int on);

/* One of a requester's tickets with its rating comment (borrowed by the
 * callback). */
struct store_my_ticket {
    struct store_ticket t;
    const char *rating_comment; /* NULL if none */
};

typedef int (*store_my_ticket_cb)(void *arg, const struct store_my_ticket *t);

/* Every ticket whose requester is person, newest first, open and closed,
 * at most limit (1..500). Returns 0 (the callback's nonzero stops the walk),
 * or STORE_EDB. Read only; the callback must not call the store. */
int store_my_tickets(struct store *s, int64_t person, int limit, store_my_ticket_cb cb, void *arg);

#endif
