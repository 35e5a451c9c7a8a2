/* store_login: login throttling kept in PostgreSQL, so that it survives a
 * restart and several chatdesk instances share it: an agent's count of
 * consecutive wrong passwords and lockout (people.failed_logins,
 * people.locked_until), the record of every lockout (login_lockouts), and
 * an administrator's unlock. The per-address delays live in the daemon's
 * memory (chatdesk/hub.c), not here. */
#include "store_int.h"

#include <string.h>

int store_login_failed(struct store *s, int64_t person_id, int max_failures, int lockout_seconds,
                       const char *addr, int *locked_for)
{
    *locked_for = 0;
    int rc = st_begin(s, "login_failed");
    if (rc)
        return rc;
    struct params p = {0};
    p_i64(&p, person_id);
    p_i64(&p, max_failures);
    p_i64(&p, lockout_seconds);
    /* one statement: concurrent failures of one account count each (the row
     * lock orders them), and exactly one of them locks it */
    PGresult *r = st_run(s, &rc,
                      "UPDATE people SET"
                      " failed_logins = CASE WHEN failed_logins + 1 >= $2::integer THEN 0"
                      "                 ELSE failed_logins + 1 END,"
                      " locked_until = CASE WHEN failed_logins + 1 >= $2::integer"
                      "                THEN now() + $3::integer * interval '1 second'"
                      "                ELSE locked_until END"
                      " WHERE id = $1 RETURNING failed_logins = 0, failed_logins",
                      &p);
    int locked = 0;
    if (rc == 0 && PQntuples(r) == 0)
        rc = st_seterr(s, STORE_ENOTFOUND, "no person %lld", (long long)person_id);
    else if (rc == 0)
        locked = g_bool(r, 0, 0);
    PQclear(r);
    if (rc == 0 && locked) {
        struct params q = {0};
        p_i64(&q, person_id);
        p_str(&q, addr && *addr ? addr : NULL);
        p_i64(&q, max_failures);
        rc = st_exec(s,
                  "INSERT INTO login_lockouts (person_id, address, failures, locked_until)"
                  " SELECT id, left($2, 64), $3::integer, locked_until FROM people WHERE id = $1",
                  &q, NULL);
    }
    rc = st_finish(s, rc);
    if (rc == 0 && locked)
        *locked_for = lockout_seconds;
    return rc;
}

int store_login_succeeded(struct store *s, int64_t person_id)
{
    int rc = st_begin(s, "login_succeeded");
    if (rc)
        return rc;
    struct params p = {0};
    p_i64(&p, person_id);
    rc = st_exec(s, "UPDATE people SET failed_logins = 0 WHERE id = $1 AND failed_logins <> 0", &p,
              NULL);
    return st_finish(s, rc);
}

int store_login_unlock(struct store *s, const char *username, const char *by, int *was_locked)
{
    if (was_locked)
        *was_locked = 0;
    int rc = st_begin(s, "login_unlock");
    if (rc)
        return rc;
    if (!by || !*by || strlen(by) > 512)
        return st_finish(s, st_seterr(s, STORE_EINVALID, "who unlocks must be named"));
    struct params p = {0};
    p_str(&p, username);
    PGresult *r = st_run(s, &rc,
                      "UPDATE people n SET failed_logins = 0, locked_until = NULL"
                      " FROM people o WHERE o.id = n.id AND lower(n.username) = lower($1)"
                      " AND n.role IN ('agent', 'admin')"
                      " RETURNING n.id, coalesce(o.locked_until > now(), false)",
                      &p);
    int64_t id = 0;
    int locked = 0;
    if (rc == 0 && PQntuples(r) == 0)
        rc = st_seterr(s, STORE_ENOTFOUND, "no agent '%s'", username ? username : "");
    else if (rc == 0) {
        id = g_i64(r, 0, 0);
        locked = g_bool(r, 0, 1);
    }
    PQclear(r);
    if (rc == 0 && locked) {
        struct params q = {0};
        p_i64(&q, id);
        p_str(&q, by);
        rc = st_exec(s,
                  "UPDATE login_lockouts SET unlocked_at = now(), unlocked_by = $2"
                  " WHERE person_id = $1 AND unlocked_at IS NULL AND locked_until > now()",
                  &q, NULL);
    }
    rc = st_finish(s, rc);
    if (rc == 0 && was_locked)
        *was_locked = locked;
    return rc;
}

int store_lockouts(struct store *s, int limit, store_lockout_cb cb, void *arg)
{
    int rc = st_begin(s, "lockouts");
    if (rc)
        return rc;
    struct params p = {0};
    p_i64(&p, limit < 1 ? 1 : limit > 10000 ? 10000 : limit);
    PGresult *r = st_run(s, &rc,
                      "SELECT l.id, p.username, l.address, l.failures, " EPOCH("l.locked_at")
                      ", " EPOCH("l.locked_until") ", " EPOCH("l.unlocked_at") ", l.unlocked_by,"
                      " l.unlocked_at IS NULL AND l.locked_until > now()"
                      "   AND p.locked_until IS NOT NULL AND p.locked_until > now()"
                      " FROM login_lockouts l JOIN people p ON p.id = l.person_id"
                      " ORDER BY l.locked_at DESC, l.id DESC LIMIT $1::integer",
                      &p);
    rc = st_finish(s, rc);
    for (int i = 0; rc == 0 && i < (r ? PQntuples(r) : 0); i++) {
        struct store_lockout l = {
            .id = g_i64(r, i, 0),
            .username = g_str(r, i, 1),
            .address = g_str(r, i, 2),
            .failures = g_int(r, i, 3),
            .locked_at = g_i64(r, i, 4),
            .locked_until = g_i64(r, i, 5),
            .unlocked_at = g_i64(r, i, 6),
            .unlocked_by = g_str(r, i, 7),
            .active = g_bool(r, i, 8),
        };
        rc = cb(arg, &l);
    }
    PQclear(r);
    return rc;
}
