/* store_session: sessions kept under the BLAKE2b hash of their token
 * (table sessions): creating, looking up, the per-frame check with sliding
 * expiry, logout and purging the expired ones. */
#include "store_int.h"

#include <string.h>

int st_session_insert(struct store *s, int64_t person,
                      const unsigned char token_hash[STORE_TOKEN_HASH_BYTES], int ttl_seconds)
{
    if (ttl_seconds <= 0)
        return st_seterr(s, STORE_EINVALID, "a session lives a positive time");
    struct params p = {0};
    p_bin(&p, token_hash, STORE_TOKEN_HASH_BYTES);
    p_i64(&p, person);
    p_i64(&p, ttl_seconds);
    return st_exec(s,
                   "INSERT INTO sessions (token_hash, person_id, expires_at)"
                   " VALUES ($1, $2, now() + $3::integer * interval '1 second')",
                   &p, NULL);
}

int store_session_create(struct store *s, int64_t person_id,
                         const unsigned char token_hash[STORE_TOKEN_HASH_BYTES], int ttl_seconds)
{
    int rc = st_begin(s, "session_create");
    if (rc)
        return rc;
    return st_finish(s, st_session_insert(s, person_id, token_hash, ttl_seconds));
}

int store_session_lookup(struct store *s, const unsigned char token_hash[STORE_TOKEN_HASH_BYTES],
                         struct store_session *out)
{
    memset(out, 0, sizeof *out);
    int rc = st_begin(s, "session_lookup");
    if (rc)
        return rc;
    struct params p = {0};
    p_bin(&p, token_hash, STORE_TOKEN_HASH_BYTES);
    PGresult *r = st_run(s, &rc,
                         "SELECT p.id, p.role, p.name, " EPOCH("s.expires_at")
                         " FROM sessions s JOIN people p ON p.id = s.person_id"
                         " WHERE s.token_hash = $1 AND s.expires_at > now() AND NOT p.disabled",
                         &p);
    rc = st_finish(s, rc);
    if (rc == 0 && PQntuples(r) == 0)
        rc = st_seterr(s, STORE_ENOTFOUND, "no such session, or it expired");
    if (rc == 0) {
        out->person_id = g_i64(r, 0, 0);
        g_copy(out->role, sizeof out->role, r, 0, 1);
        g_copy(out->name, sizeof out->name, r, 0, 2);
        out->expires_at = g_i64(r, 0, 3);
    }
    PQclear(r);
    return rc;
}

int store_session_touch(struct store *s, const unsigned char token_hash[STORE_TOKEN_HASH_BYTES],
                        int ttl_seconds)
{
    int rc = st_begin(s, "session_touch");
    if (rc)
        return rc;
    struct params p = {0};
    p_bin(&p, token_hash, STORE_TOKEN_HASH_BYTES);
    p_i64(&p, ttl_seconds > 0 ? ttl_seconds : 0);
    rc = st_exec_found(s,
                       "UPDATE sessions SET last_seen_at = now(),"
                       " expires_at = greatest(expires_at, now() + $2::integer * interval '1 second')"
                       " WHERE token_hash = $1 AND expires_at > now()",
                       &p, "no such session, or it expired");
    return st_finish(s, rc);
}

int store_session_check(struct store *s, const unsigned char token_hash[STORE_TOKEN_HASH_BYTES],
                        int64_t person_id, int ttl_seconds, int touch_after)
{
    /* one statement, no BEGIN / COMMIT around it: one round trip */
    int rc = st_single(s, "session_check");
    if (rc)
        return rc;
    struct params p = {0};
    p_bin(&p, token_hash, STORE_TOKEN_HASH_BYTES);
    p_i64(&p, person_id);
    p_i64(&p, ttl_seconds > 0 ? ttl_seconds : 0);
    p_i64(&p, touch_after > 0 ? touch_after : 0);
    /* the UPDATE of a data-modifying WITH runs whether or not it is read */
    PGresult *r = st_run(s, &rc,
                         "WITH live AS ("
                         "  SELECT s.token_hash, s.last_seen_at"
                         "  FROM sessions s JOIN people p ON p.id = s.person_id"
                         "  WHERE s.token_hash = $1 AND s.person_id = $2"
                         "    AND s.expires_at > now() AND NOT p.disabled),"
                         " touched AS ("
                         "  UPDATE sessions SET last_seen_at = now(),"
                         "   expires_at = greatest(expires_at,"
                         "                         now() + $3::integer * interval '1 second')"
                         "  WHERE token_hash IN (SELECT token_hash FROM live"
                         "   WHERE last_seen_at <= now() - $4::integer * interval '1 second')"
                         "  RETURNING 1)"
                         " SELECT count(*) FROM live",
                         &p);
    if (r && g_i64(r, 0, 0) == 0)
        rc = st_seterr(s, STORE_ENOTFOUND, "no such session, or it expired");
    PQclear(r);
    return rc;
}

int store_session_delete(struct store *s, const unsigned char token_hash[STORE_TOKEN_HASH_BYTES])
{
    int rc = st_begin(s, "session_delete");
    if (rc)
        return rc;
    struct params p = {0};
    p_bin(&p, token_hash, STORE_TOKEN_HASH_BYTES);
    rc = st_exec_found(s, "DELETE FROM sessions WHERE token_hash = $1", &p, "no such session");
    return st_finish(s, rc);
}

int store_session_purge(struct store *s, int *count)
{
    int rows = 0;
    int rc = st_begin(s, "session_purge");
    if (rc)
        return rc;
    rc = st_finish(s, st_exec(s, "DELETE FROM sessions WHERE expires_at <= now()", NULL, &rows));
    if (count)
        *count = rc == 0 ? rows : 0;
    return rc;
}
