/* auth: password hashing and session tokens for the chat desk, on libsodium.
 *
 * Passwords are hashed with Argon2id (crypto_pwhash_ALG_ARGON2ID13) at
 * libsodium's "interactive" limits: 2 passes over 64 MiB of memory
 * (crypto_pwhash_OPSLIMIT_INTERACTIVE / MEMLIMIT_INTERACTIVE), about 0.1 s
 * per hash or check on one core. The result is a self-describing string
 * ("$argon2id$v=19$m=65536,t=2,p=1$salt$hash") holding a random salt, so two
 * hashes of one password differ and the limits can be raised later
 * (auth_password_needs_rehash).
 *
 * A session token is 32 random bytes written as 43 characters of unpadded
 * base64url; it goes to the client only. The database stores its 32-byte
 * BLAKE2b hash (auth_token_hash), so a leaked database gives no usable token.
 * Comparisons of secrets are constant-time.
 *
 * Call auth_init() once before anything else (it is safe to call again and
 * from several threads). The other functions are thread-safe. */
#ifndef DESK_AUTH_H
#define DESK_AUTH_H

#include <stddef.h>

/* Size of a password hash string, NUL included (crypto_pwhash_STRBYTES). */
#define AUTH_PWHASH_MAX 128
/* Longest password accepted, in bytes. */
#define AUTH_PASSWORD_MAX 1024
/* Random bytes in a session token, and its text length (no NUL). */
#define AUTH_TOKEN_BYTES 32
#define AUTH_TOKEN_LEN 43
/* Bytes in a token hash (what the database stores). */
#define AUTH_TOKEN_HASH_BYTES 32

/* Initialises libsodium. Returns 0, or -1 if it cannot (no randomness). */
int auth_init(void);

/* Hashes password pw (NUL-terminated, 1 to AUTH_PASSWORD_MAX bytes) into
 * out. Returns 0, or -1 for an empty or too long password or when the
 * memory for Argon2id (64 MiB) cannot be had; out is then an empty string. */
int auth_hash_password(const char *pw, char out[AUTH_PWHASH_MAX]);

/* Checks pw against a hash from auth_hash_password. Returns 0 when it
 * matches, -1 when it does not or the hash is malformed or not Argon2id.
 * With hash == NULL it checks against a fixed dummy hash and returns -1, so
 * that a login for an unknown user takes as long as one for a known user. */
int auth_verify_password(const char *hash, const char *pw);

/* ---- the hashing gate -------------------------------------------------
 * Each Argon2id check takes 64 MiB and about 0.1 s of a core. A burst of
 * logins would run that many at once (a burst of 40 took chatdesk from 46
 * to 571 MB and slowed every other request), so checks go through one
 * process-wide gate: at most `running` at a time, at most `waiting` more
 * queued for a place; any further one is refused at once (the caller
 * answers "try later"). A queued caller waits on a condition variable, at
 * most for the checks ahead of it (about 0.1 s each). */

/* Sets the gate's limits (running >= 1, waiting >= 0); call it before the
 * workers start. The default is 1 running and 2 waiting. */
void auth_gate_config(int running, int waiting);

/* Takes a place to run a check: 0 (then call auth_gate_leave when done),
 * or -1 when `running` checks run and `waiting` wait already. */
int auth_gate_enter(void);
void auth_gate_leave(void);

/* How many checks hold a place and how many wait, now (for tests). */
void auth_gate_state(int *running, int *waiting);

/* Argon2id password checks run by auth_verify_password since the start of
 * the process (for tests and logs). */
unsigned long auth_verify_count(void);

/* Returns 1 if hash was made with other parameters than today's (it should
 * be recomputed at the next successful login), 0 if not, -1 if malformed. */
int auth_password_needs_rehash(const char *hash);

/* Writes a new random session token (AUTH_TOKEN_LEN characters of base64url
 * and a NUL) into out. Cannot fail once auth_init has succeeded. */
void auth_new_token(char out[AUTH_TOKEN_LEN + 1]);

/* Hashes a token (BLAKE2b, 32 bytes) into out. Returns 0, or -1 if token is
 * not AUTH_TOKEN_LEN characters of base64url (out is then zeroed): such a
 * token can match nothing and need not reach the database. */
int auth_token_hash(const char *token, unsigned char out[AUTH_TOKEN_HASH_BYTES]);

/* Constant-time comparison of n bytes. Returns 1 if equal, 0 if not. */
int auth_equal(const void *a, const void *b, size_t n);

#endif
