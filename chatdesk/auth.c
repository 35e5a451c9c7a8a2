/* auth: Argon2id password hashes, random session tokens and their BLAKE2b
 * hashes, on libsodium. See auth.h for the parameters and the reasons. */
#include "auth.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include <sodium.h>

_Static_assert(AUTH_PWHASH_MAX == crypto_pwhash_STRBYTES, "password hash size");
_Static_assert(AUTH_TOKEN_HASH_BYTES >= crypto_generichash_BYTES_MIN &&
                   AUTH_TOKEN_HASH_BYTES <= crypto_generichash_BYTES_MAX,
               "token hash size");
_Static_assert(AUTH_TOKEN_LEN + 1 ==
                   sodium_base64_ENCODED_LEN(AUTH_TOKEN_BYTES,
                                             sodium_base64_VARIANT_URLSAFE_NO_PADDING),
               "token length");

#define ARGON2ID_PREFIX "$argon2id$"

/* An Argon2id hash (interactive limits) of a random password nobody knows,
 * for auth_verify_password(NULL, ...). */
static const char dummy_hash[] =
    "$argon2id$v=19$m=65536,t=2,p=1$jcnlM45oM844n/1fPYxdCw$"
    "buShbhrDeB9iYGDCcJh7oZ/5dxKb4lHIyrvhevMVLsg";

static atomic_ulong verify_count;

/* the gate: places in use (running + waiting) and places running */
static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static int gate_running_max = 1, gate_waiting_max = 2;
static int gate_running, gate_waiting;

void auth_gate_config(int running, int waiting)
{
    pthread_mutex_lock(&gate_mu);
    gate_running_max = running < 1 ? 1 : running;
    gate_waiting_max = waiting < 0 ? 0 : waiting;
    pthread_mutex_unlock(&gate_mu);
}

int auth_gate_enter(void)
{
    pthread_mutex_lock(&gate_mu);
    if (gate_running >= gate_running_max) {
        if (gate_waiting >= gate_waiting_max) {
            pthread_mutex_unlock(&gate_mu);
            return -1;
        }
        gate_waiting++;
        while (gate_running >= gate_running_max)
            pthread_cond_wait(&gate_cv, &gate_mu);
        gate_waiting--;
    }
    gate_running++;
    pthread_mutex_unlock(&gate_mu);
    return 0;
}

void auth_gate_leave(void)
{
    pthread_mutex_lock(&gate_mu);
    gate_running--;
    pthread_cond_signal(&gate_cv);
    pthread_mutex_unlock(&gate_mu);
}

void auth_gate_state(int *running, int *waiting)
{
    pthread_mutex_lock(&gate_mu);
    *running = gate_running;
    *waiting = gate_waiting;
    pthread_mutex_unlock(&gate_mu);
}

unsigned long auth_verify_count(void)
{
    return atomic_load(&verify_count);
}

int auth_init(void)
{
    /* 0: initialised now, 1: already initialised, -1: failure */
    return sodium_init() < 0 ? -1 : 0;
}

static int password_ok(const char *pw)
{
    if (!pw)
        return 0;
    size_t n = strnlen(pw, AUTH_PASSWORD_MAX + 1);
    return n >= 1 && n <= AUTH_PASSWORD_MAX;
}

int auth_hash_password(const char *pw, char out[AUTH_PWHASH_MAX])
{
    out[0] = '\0';
    if (!password_ok(pw))
        return -1;
    if (crypto_pwhash_str_alg(out, pw, strlen(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE,
                              crypto_pwhash_ALG_ARGON2ID13) != 0) {
        out[0] = '\0';
        return -1;
    }
    return 0;
}

int auth_verify_password(const char *hash, const char *pw)
{
    int dummy = hash == NULL;
    if (dummy)
        hash = dummy_hash;
    /* a password we would never have hashed still costs a verification */
    if (!password_ok(pw))
        pw = "";
    if (strncmp(hash, ARGON2ID_PREFIX, strlen(ARGON2ID_PREFIX)) != 0 ||
        strnlen(hash, AUTH_PWHASH_MAX) >= AUTH_PWHASH_MAX)
        return -1;
    atomic_fetch_add(&verify_count, 1);
    int rc = crypto_pwhash_str_verify(hash, pw, strlen(pw));
    return rc == 0 && !dummy && pw[0] != '\0' ? 0 : -1;
}

int auth_password_needs_rehash(const char *hash)
{
    if (!hash || strncmp(hash, ARGON2ID_PREFIX, strlen(ARGON2ID_PREFIX)) != 0 ||
        strnlen(hash, AUTH_PWHASH_MAX) >= AUTH_PWHASH_MAX)
        return -1;
    int rc = crypto_pwhash_str_needs_rehash(hash, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                            crypto_pwhash_MEMLIMIT_INTERACTIVE);
    return rc < 0 ? -1 : rc;
}

void auth_new_token(char out[AUTH_TOKEN_LEN + 1])
{
    unsigned char raw[AUTH_TOKEN_BYTES];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(out, AUTH_TOKEN_LEN + 1, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
}

int auth_token_hash(const char *token, unsigned char out[AUTH_TOKEN_HASH_BYTES])
{
    unsigned char raw[AUTH_TOKEN_BYTES];
    size_t rawlen = 0;
    const char *end = NULL;
    memset(out, 0, AUTH_TOKEN_HASH_BYTES);
    if (!token || strnlen(token, AUTH_TOKEN_LEN + 1) != AUTH_TOKEN_LEN)
        return -1;
    /* decoding checks the alphabet and that the unused low bits are zero,
     * so every token has exactly one spelling */
    if (sodium_base642bin(raw, sizeof raw, token, AUTH_TOKEN_LEN, NULL, &rawlen, &end,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        rawlen != AUTH_TOKEN_BYTES || end != token + AUTH_TOKEN_LEN) {
        sodium_memzero(raw, sizeof raw);
        return -1;
    }
    sodium_memzero(raw, sizeof raw);
    crypto_generichash(out, AUTH_TOKEN_HASH_BYTES, (const unsigned char *)token, AUTH_TOKEN_LEN,
                       NULL, 0);
    return 0;
}

int auth_equal(const void *a, const void *b, size_t n)
{
    return sodium_memcmp(a, b, n) == 0;
}
