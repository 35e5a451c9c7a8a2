/* Unit tests for chatdesk/auth: Argon2id password hashes, session tokens and
 * their hashes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../chatdesk/auth.h"
#include "kb_clock.h"

static int setup(void **state)
{
    (void)state;
    return auth_init();
}

static void hash_and_verify(void **state)
{
    (void)state;
    char h[AUTH_PWHASH_MAX];
    assert_int_equal(auth_hash_password("correct horse 电池 staple", h), 0);
    assert_int_equal(auth_verify_password(h, "correct horse 电池 staple"), 0);
    assert_int_equal(auth_verify_password(h, "correct horse 电池 stapl"), -1);
    assert_int_equal(auth_verify_password(h, "Correct horse 电池 staple"), -1);
    assert_int_equal(auth_verify_password(h, ""), -1);
    assert_int_equal(auth_password_needs_rehash(h), 0);
}

static void hash_is_argon2id_with_interactive_limits(void **state)
{
    (void)state;
    char h[AUTH_PWHASH_MAX];
    assert_int_equal(auth_hash_password("s3cret", h), 0);
    /* m = 64 MiB in KiB, t = 2 passes, one lane */
    if (strncmp(h, "$argon2id$v=19$m=65536,t=2,p=1$", 31) != 0)
        fail_msg("unexpected hash string %s", h);
    assert_true(strlen(h) < AUTH_PWHASH_MAX);
}

static void hashes_are_salted(void **state)
{
    (void)state;
    char a[AUTH_PWHASH_MAX], b[AUTH_PWHASH_MAX];
    assert_int_equal(auth_hash_password("same password", a), 0);
    assert_int_equal(auth_hash_password("same password", b), 0);
    assert_string_not_equal(a, b);
    assert_int_equal(auth_verify_password(a, "same password"), 0);
    assert_int_equal(auth_verify_password(b, "same password"), 0);
}

static void bad_passwords_and_hashes(void **state)
{
    (void)state;
    char h[AUTH_PWHASH_MAX];
    assert_int_equal(auth_hash_password("", h), -1);
    assert_string_equal(h, "");
    char *longpw = malloc(AUTH_PASSWORD_MAX + 2);
    assert_non_null(longpw);
    memset(longpw, 'x', AUTH_PASSWORD_MAX + 1);
    longpw[AUTH_PASSWORD_MAX + 1] = '\0';
    assert_int_equal(auth_hash_password(longpw, h), -1);
    longpw[AUTH_PASSWORD_MAX] = '\0'; /* exactly the maximum is fine */
    assert_int_equal(auth_hash_password(longpw, h), 0);
    assert_int_equal(auth_verify_password(h, longpw), 0);
    free(longpw);

    /* a corrupted hash, a hash of another algorithm, plain text */
    assert_int_equal(auth_hash_password("pw", h), 0);
    char bad[AUTH_PWHASH_MAX];
    strcpy(bad, h);
    bad[strlen(bad) - 2] = bad[strlen(bad) - 2] == 'A' ? 'B' : 'A';
    assert_int_equal(auth_verify_password(bad, "pw"), -1);
    memcpy(bad, "$argon2i$", 9);
    memmove(bad + 9, h + 10, strlen(h + 10) + 1);
    assert_int_equal(auth_verify_password(bad, "pw"), -1);
    assert_int_equal(auth_verify_password("pw", "pw"), -1);
    assert_int_equal(auth_password_needs_rehash("pw"), -1);
    /* the dummy check for unknown users never matches */
    assert_int_equal(auth_verify_password(NULL, "pw"), -1);
    assert_int_equal(auth_verify_password(NULL, ""), -1);
}

static void weaker_hash_needs_rehash(void **state)
{
    (void)state;
    /* an Argon2id hash of "x" made with t=3, m=64 MiB: other parameters */
    const char *other = "$argon2id$v=19$m=65536,t=3,p=1$5YX0pObY2VmmmpiY1MpZZg$"
                        "/nfHRocXczRlzOB89QBiHwMbDBmY5IUiDpHho90FOHM";
    assert_int_equal(auth_verify_password(other, "x"), 0);
    assert_int_equal(auth_password_needs_rehash(other), 1);
}

static int token_char_ok(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
}

static int cmp_tokens(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

static void tokens_unique_and_well_formed(void **state)
{
    (void)state;
    enum { N = 2000 };
    char(*tok)[AUTH_TOKEN_LEN + 1] = calloc(N, sizeof *tok);
    assert_non_null(tok);
    for (int i = 0; i < N; i++) {
        auth_new_token(tok[i]);
        assert_int_equal(strlen(tok[i]), AUTH_TOKEN_LEN);
        for (int j = 0; j < AUTH_TOKEN_LEN; j++)
            if (!token_char_ok(tok[i][j]))
                fail_msg("token %s has a character outside base64url", tok[i]);
        unsigned char h[AUTH_TOKEN_HASH_BYTES];
        assert_int_equal(auth_token_hash(tok[i], h), 0);
    }
    qsort(tok, N, sizeof *tok, cmp_tokens);
    for (int i = 1; i < N; i++)
        if (strcmp(tok[i - 1], tok[i]) == 0)
            fail_msg("token %s came twice", tok[i]);
    free(tok);
}

static void token_hash_deterministic(void **state)
{
    (void)state;
    char a[AUTH_TOKEN_LEN + 1], b[AUTH_TOKEN_LEN + 1];
    unsigned char ha[AUTH_TOKEN_HASH_BYTES], ha2[AUTH_TOKEN_HASH_BYTES], hb[AUTH_TOKEN_HASH_BYTES];
    auth_new_token(a);
    auth_new_token(b);
    assert_int_equal(auth_token_hash(a, ha), 0);
    assert_int_equal(auth_token_hash(a, ha2), 0);
    assert_int_equal(auth_token_hash(b, hb), 0);
    assert_memory_equal(ha, ha2, sizeof ha);
    assert_memory_not_equal(ha, hb, sizeof ha);
    assert_int_equal(auth_equal(ha, ha2, sizeof ha), 1);
    assert_int_equal(auth_equal(ha, hb, sizeof ha), 0);
    /* the hash is not the token: no byte run of the raw token shows */
    assert_memory_not_equal(ha, a, sizeof ha);

    /* a known value: BLAKE2b-256 of 43 'A's, from coreutils' b2sum -l 256 */
    char fixed[AUTH_TOKEN_LEN + 1];
    memset(fixed, 'A', AUTH_TOKEN_LEN);
    fixed[AUTH_TOKEN_LEN] = '\0';
    unsigned char hf[AUTH_TOKEN_HASH_BYTES];
    assert_int_equal(auth_token_hash(fixed, hf), 0);
    char hex[2 * AUTH_TOKEN_HASH_BYTES + 1];
    for (int i = 0; i < AUTH_TOKEN_HASH_BYTES; i++)
        snprintf(hex + 2 * i, 3, "%02x", hf[i]);
    assert_string_equal(hex, "6342b384e5d6294c5df1110132b93b97b395a2ff4cca498af637b3e06b3095dd");
}

static void malformed_tokens_refused(void **state)
{
    (void)state;
    unsigned char h[AUTH_TOKEN_HASH_BYTES];
    unsigned char zero[AUTH_TOKEN_HASH_BYTES] = {0};
    char t[AUTH_TOKEN_LEN + 2];
    auth_new_token(t);
    assert_int_equal(auth_token_hash(t, h), 0);

    const char *bad[] = {
        "",
        "short",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",   /* 42 */
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* 44 */
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+",  /* standard base64 */
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",  /* padding */
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB",  /* non-zero unused bits */
        "AAAAAAAAAAAAAAAAAAAA AAAAAAAAAAAAAAAAAAAAAA",  /* space */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(h, 0xff, sizeof h);
        if (auth_token_hash(bad[i], h) != -1)
            fail_msg("token '%s' accepted", bad[i]);
        assert_memory_equal(h, zero, sizeof h);
    }
    assert_int_equal(auth_token_hash(NULL, h), -1);
}

/* ---- the hashing gate ---------------------------------------------------- */

static atomic_int gate_got;

static void *gate_waiter(void *arg)
{
    (void)arg;
    assert_int_equal(auth_gate_enter(), 0); /* waits for the place */
    atomic_store(&gate_got, 1);
    auth_gate_leave();
    return NULL;
}

/* At most `running` checks hold a place, `waiting` more queue for one, any
 * other is refused at once; a queued caller gets the place when it is
 * left. auth_verify_count counts every check. */
static void the_gate_bounds_concurrent_checks(void **state)
{
    (void)state;
    auth_gate_config(1, 1);
    assert_int_equal(auth_gate_enter(), 0);
    pthread_t th;
    atomic_store(&gate_got, 0);
    pthread_create(&th, NULL, gate_waiter, NULL);
    /* wait (bounded) until the thread is in the queue; then a third
     * caller is refused at once */
    double deadline = kb_clock_mono() + 10;
    int running = 0, waiting = 0;
    while (waiting < 1 && kb_clock_mono() < deadline) {
        sched_yield();
        auth_gate_state(&running, &waiting);
    }
    assert_int_equal(running, 1);
    assert_int_equal(waiting, 1);
    assert_int_equal(auth_gate_enter(), -1);
    assert_int_equal(atomic_load(&gate_got), 0); /* still waiting */
    auth_gate_leave();
    pthread_join(th, NULL);
    assert_int_equal(atomic_load(&gate_got), 1);
    /* with no queue: the second caller is refused, and the place is free
     * again after leave */
    auth_gate_config(2, 0);
    assert_int_equal(auth_gate_enter(), 0);
    assert_int_equal(auth_gate_enter(), 0);
    assert_int_equal(auth_gate_enter(), -1);
    auth_gate_leave();
    assert_int_equal(auth_gate_enter(), 0);
    auth_gate_leave();
    auth_gate_leave();
    auth_gate_config(1, 2);
    /* the counter */
    char hash[AUTH_PWHASH_MAX];
    assert_int_equal(auth_hash_password("counted", hash), 0);
    unsigned long n = auth_verify_count();
    assert_int_equal(auth_verify_password(hash, "counted"), 0);
    assert_int_equal(auth_verify_password(NULL, "x"), -1);
    assert_int_equal(auth_verify_count(), n + 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hash_and_verify),
        cmocka_unit_test(hash_is_argon2id_with_interactive_limits),
        cmocka_unit_test(hashes_are_salted),
        cmocka_unit_test(bad_passwords_and_hashes),
        cmocka_unit_test(weaker_hash_needs_rehash),
        cmocka_unit_test(tokens_unique_and_well_formed),
        cmocka_unit_test(token_hash_deterministic),
        cmocka_unit_test(malformed_tokens_refused),
        cmocka_unit_test(the_gate_bounds_concurrent_checks),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
