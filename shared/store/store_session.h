/* store_session: signed-in sessions (table sessions), kept under the hash
 * of their token (the token itself is never stored), with a sliding expiry;
 * a disabled person's sessions are not found. */
#ifndef STORE_SESSION_H
#define STORE_SESSION_H

#include "store_pg.h"

struct store_session {
    int64_t person_id;
    char role[STORE_WORD_MAX];
    char name[STORE_NAME_MAX];
    int64_t expires_at;
};

/* Records a session for person_id under the hash of its token (see
 * auth_token_hash; the token itself is never stored), valid for ttl_seconds
 * (> 0). Returns 0, STORE_EINVALID (bad ttl, unknown person),
 * STORE_ECONFLICT (the hash exists already) or STORE_EDB. */
int store_session_create(struct store *s, int64_t person_id,
                         const unsigned char token_hash[STORE_TOKEN_HASH_BYTES], int ttl_seconds);

/* Finds a live session: not expired, its person not disabled. Returns 0
 * with *out filled, STORE_ENOTFOUND or STORE_EDB. */
int store_session_lookup(struct store *s, const unsigned char token_hash[STORE_TOKEN_HASH_BYTES],
                         struct store_session *out);

/* Marks a live session as seen now; with ttl_seconds > 0 also pushes its
 * expiry to at least now + ttl_seconds (sliding expiry). Returns 0,
 * STORE_ENOTFOUND (missing or expired) or STORE_EDB. */
int store_session_touch(struct store *s, const unsigned char token_hash[STORE_TOKEN_HASH_BYTES],
                        int ttl_seconds);

/* Checks, for a frame on a signed-in connection, that the session is still
 * live (not expired, not deleted, its person not disabled) and belongs to
 * person_id; if it was last seen touch_after seconds ago or more, marks it
 * seen now and pushes its expiry to at least now + ttl_seconds (sliding
 * expiry without a write per frame). One statement, no transaction around
 * it (one round trip). Returns 0, STORE_ENOTFOUND (dead) or
 * STORE_EDB. */
int store_session_check(struct store *s, const unsigned char token_hash[STORE_TOKEN_HASH_BYTES],
                        int64_t person_id, int ttl_seconds, int touch_after);

/* Deletes a session (logout). Returns 0, STORE_ENOTFOUND or STORE_EDB. */
int store_session_delete(struct store *s, const unsigned char token_hash[STORE_TOKEN_HASH_BYTES]);

/* Deletes every expired session; *count (may be NULL) gets how many.
 * Returns 0 or STORE_EDB. */
int store_session_purge(struct store *s, int *count);

#endif
