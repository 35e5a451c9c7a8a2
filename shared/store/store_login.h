/* store_login: login throttling in PostgreSQL (store_login.c): consecutive
 * wrong passwords per agent account, lockouts and their record, an
 * administrator's unlock. Each function runs in one transaction of its own. */
#ifndef STORE_LOGIN_H
#define STORE_LOGIN_H

#include "store_pg.h"

#include <stdint.h>

/* A client address as recorded (text form of an IPv4 / IPv6 address). */
#define STORE_ADDR_MAX 65

/* Records a wrong password for agent person_id, tried from client address
 * addr (may be NULL), in one transaction: the account's count of
 * consecutive failures goes up by one; when it reaches max_failures the
 * account is locked for lockout_seconds (people.locked_until), the count
 * starts again from 0 and the lockout is recorded in login_lockouts.
 * *locked_for gets the seconds of that new lockout, or 0. Returns 0,
 * STORE_ENOTFOUND (no such person) or STORE_EDB. */
int store_login_failed(struct store *s, int64_t person_id, int max_failures, int lockout_seconds,
                       const char *addr, int *locked_for);

/* A successful login of person_id: its count of failures goes back to 0
 * (no write when it is 0 already). Returns 0 or STORE_EDB. */
int store_login_succeeded(struct store *s, int64_t person_id);

/* An administrator's unlock of agent `username` (any case), in one
 * transaction: the lockout ends now, the count of failures goes back to 0,
 * and a lockout still running is marked in login_lockouts as ended by `by`
 * (1..128 characters). *was_locked (may be NULL) tells whether the account
 * was locked. Returns 0, STORE_ENOTFOUND (no such agent), STORE_EINVALID
 * (bad `by`) or STORE_EDB. */
int store_login_unlock(struct store *s, const char *username, const char *by, int *was_locked);

struct store_lockout {
    int64_t id;
    const char *username;
    const char *address;     /* NULL when unknown */
    int failures;
    int64_t locked_at, locked_until;
    int64_t unlocked_at;     /* 0: not unlocked by hand */
    const char *unlocked_by; /* NULL when not unlocked by hand */
    int active;              /* the account is locked now by this lockout */
};
typedef int (*store_lockout_cb)(void *arg, const struct store_lockout *l);

/* Calls cb for the latest `limit` lockouts (1..10000), newest first (the
 * strings are borrowed for the call). Returns 0, cb's nonzero value or
 * STORE_EDB. */
int store_lockouts(struct store *s, int limit, store_lockout_cb cb, void *arg);

#endif
