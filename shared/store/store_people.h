/* store_people: the people of the desk (agents, admins and requesters) in
 * the table people: creating them, finding an agent by user name for a
 * login, disabling and re-enabling. Roles: a requester talks to the desk and
 * owns conversations and tickets; an agent or admin works tickets. */
#ifndef STORE_PEOPLE_H
#define STORE_PEOPLE_H

#include "store_pg.h"

/* Creates an agent (role "agent") with a unique user name (ASCII letters,
 * digits, '.', '_', '-'; case-insensitively unique), a display name and an
 * Argon2id hash string from auth_hash_password. *id gets the new id.
 * Returns 0, STORE_ECONFLICT (user name taken), STORE_EINVALID (bad user
 * name, name or hash) or STORE_EDB. */
int store_agent_create(struct store *s, const char *username, const char *name,
                       const char *password_hash, int64_t *id);

struct store_agent {
    int64_t id;
    char role[STORE_WORD_MAX];              /* "agent" or "admin" */
    char name[STORE_NAME_MAX];
    char password_hash[STORE_PWHASH_MAX];
    int locked_for;                         /* seconds the account stays locked
                                               (store_login_failed), 0: not locked */
};

/* Finds an enabled agent or admin by user name (any case). Returns 0 with
 * *out filled, STORE_ENOTFOUND (unknown or disabled) or STORE_EDB. */
int store_agent_by_username(struct store *s, const char *username, struct store_agent *out);

/* Creates a requester (an end user of the chat). email may be NULL.
 * Returns 0 with *id set, STORE_EINVALID (empty or too long name, bad email)
 * or STORE_EDB. */
int store_requester_create(struct store *s, const char *name, const char *email, int64_t *id);

/* Starts a requester's identity at its first message, in one transaction:
 * the person (name, email may be NULL), its session under token_hash
 * (valid ttl_seconds) and an open conversation. Returns 0 with *person and
 * *conv set, STORE_EINVALID (bad name or email, bad ttl), STORE_ECONFLICT
 * (the token hash exists already) or STORE_EDB; nothing is stored on
 * failure. */
int store_requester_start(struct store *s, const char *name, const char *email,
                          const unsigned char token_hash[STORE_TOKEN_HASH_BYTES],
                          int ttl_seconds, int64_t *person, int64_t *conv);

/* Deletes idle requester identities, in one transaction: conversations
 * without any message, ticket, suggestion or deflection whose requester
 * has no session left, then requesters with no session and no
 * conversation (run it after store_session_purge). People with messages,
 * tickets or a live session, agents and admins are never touched. *count
 * (may be NULL) gets the number of people deleted. Returns 0 or
 * STORE_EDB. */
int store_requester_purge(struct store *s, int *count);

/* Disables (or re-enables) a person: their sessions stop being found, a
 * disabled agent can take nothing, and tickets reopened while their agent
 * is disabled go back to the queue. Returns 0, STORE_ENOTFOUND, STORE_EDB. */
int store_person_set_disabled(struct store *s, int64_t person_id, int disabled);

#endif
