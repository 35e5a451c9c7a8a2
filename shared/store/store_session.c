/* store_session: sessions kept under the BLAKE2b hash of their token
 * (table sessions): creating, looking up, the per-frame check with sliding
 * expiry, logout and purging the expired ones. */
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kb_util.h"

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

int store_session_check_many(struct store *s, size_t n,
                             const unsigned char (*token_hash)[STORE_TOKEN_HASH_BYTES],
                             const int64_t *person_id, int ttl_seconds, int touch_after,
                             int *live)
{
    for (size_t i = 0; i < n; i++)
        live[i] = 0;
    if (n == 0)
        return 0;
    /* one statement, no BEGIN / COMMIT around it: one round trip */
    int rc = st_single(s, "session_check");
    if (rc)
        return rc;
    /* the pairs as two array literals: {hex,...} and {id,...} */
    static const char hex[] = "0123456789abcdef";
    size_t hlen = 2 + n * (2 * STORE_TOKEN_HASH_BYTES + 1), ilen = 2 + n * 21;
    char *hashes = kb_xmalloc(hlen + 1), *ids = kb_xmalloc(ilen + 1);
    char *h = hashes, *d = ids;
    *h++ = '{';
    *d++ = '{';
    for (size_t i = 0; i < n; i++) {
        if (i) {
            *h++ = ',';
            *d++ = ',';
        }
        for (int k = 0; k < STORE_TOKEN_HASH_BYTES; k++) {
            *h++ = hex[token_hash[i][k] >> 4];
            *h++ = hex[token_hash[i][k] & 15];
        }
        d += snprintf(d, 22, "%lld", (long long)person_id[i]);
    }
    *h++ = '}';
    *h = '\0';
    *d++ = '}';
    *d = '\0';
    struct params p = {0};
    p_str(&p, hashes);
    p_str(&p, ids);
    p_i64(&p, ttl_seconds > 0 ? ttl_seconds : 0);
    p_i64(&p, touch_after > 0 ? touch_after : 0);
    /* the UPDATE of a data-modifying WITH runs whether or not it is read */
    PGresult *r = st_run(s, &rc,
                         "WITH q AS ("
                         "  SELECT decode(u.h, 'hex') AS token_hash, u.person_id, u.ord"
                         "  FROM unnest($1::text[], $2::bigint[])"
                         "   WITH ORDINALITY AS u(h, person_id, ord)),"
                         " live AS ("
                         "  SELECT q.ord, s.token_hash, s.last_seen_at"
                         "  FROM q JOIN sessions s ON s.token_hash = q.token_hash"
                         "   AND s.person_id = q.person_id"
                         "  JOIN people p ON p.id = s.person_id"
                         "  WHERE s.expires_at > now() AND NOT p.disabled),"
                         " touched AS ("
                         "  UPDATE sessions SET last_seen_at = now(),"
                         "   expires_at = greatest(expires_at,"
                         "                         now() + $3::integer * interval '1 second')"
                         "  WHERE token_hash IN (SELECT token_hash FROM live"
                         "   WHERE last_seen_at <= now() - $4::integer * interval '1 second')"
                         "  RETURNING 1)"
                         " SELECT ord FROM live",
                         &p);
    for (int i = 0; r && i < PQntuples(r); i++) {
        int64_t ord = g_i64(r, i, 0);
        if (ord >= 1 && (size_t)ord <= n)
            live[ord - 1] = 1;
    }
    PQclear(r);
    free(hashes);
    free(ids);
    return rc;
}

int store_session_check(struct store *s, const unsigned char token_hash[STORE_TOKEN_HASH_BYTES],
                        int64_t person_id, int ttl_seconds, int touch_after)
{
    int live = 0;
    int rc = store_session_check_many(s, 1, (const unsigned char (*)[STORE_TOKEN_HASH_BYTES])token_hash,
                                      &person_id, ttl_seconds, touch_after, &live);
    if (rc == 0 && !live)
        rc = st_seterr(s, STORE_ENOTFOUND, "no such session, or it expired");
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
