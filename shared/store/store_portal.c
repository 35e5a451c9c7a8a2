/* store_portal: private links, e-mail sign-in codes, verified addresses,
 * the mail preference and a requester's tickets (see store_portal.h).
 * Tokens and codes are never stored, only their hashes (the caller hashes
 * them: auth.h). */
#include "store_int.h"
#include "kb_util.h"

#include <string.h>

int store_link_issue(struct store *s, int64_t person,
                     const unsigned char token_hash[STORE_TOKEN_HASH_BYTES],
                     const char *link_url)
{
    int rc = st_begin(s, "link_issue");
    if (rc)
        return rc;
    struct params p = {0};
    p_i64(&p, person);
    int rows = 0;
    /* lock the person: two issues at once leave one live link */
    rc = st_exec(s,
                 "SELECT 1 FROM people WHERE id = $1 AND role = 'requester' AND NOT disabled"
                 " FOR UPDATE",
                 &p, &rows);
    if (rc == 0 && rows == 0)
        rc = st_seterr(s, STORE_ENOTFOUND, "no such requester");
    if (rc == 0)
        rc = st_exec(s,
                     "UPDATE requester_links SET revoked_at = now()"
                     " WHERE person_id = $1 AND revoked_at IS NULL",
                     &p, NULL);
    if (rc == 0) {
        struct params q = {0};
        p_bin(&q, token_hash, STORE_TOKEN_HASH_BYTES);
        p_i64(&q, person);
        rc = st_exec(s, "INSERT INTO requester_links (token_hash, person_id) VALUES ($1, $2)", &q,
                     NULL);
    }
    if (rc == 0 && link_url) {
        struct params q = {0};
        p_i64(&q, person);
        p_str(&q, link_url);
        rc = st_exec(s,
                     "UPDATE mail_outbox SET body = replace(body, '{link}', $2),"
                     " status = 'queued', next_attempt_at = now()"
                     " WHERE person_id = $1 AND status = 'held'",
                     &q, NULL);
    }
    return st_finish(s, rc);
}

int store_link_open(struct store *s, const unsigned char link_hash[STORE_TOKEN_HASH_BYTES],
                    const unsigned char session_hash[STORE_TOKEN_HASH_BYTES], int ttl_seconds,
                    int64_t *person, char *name)
{
    *person = 0;
    name[0] = '\0';
    int rc = st_begin(s, "link_open");
    if (rc)
        return rc;
    if (ttl_seconds <= 0)
        return st_finish(s, st_seterr(s, STORE_EINVALID, "a session lives a positive time"));
    struct params p = {0};
    p_bin(&p, link_hash, STORE_TOKEN_HASH_BYTES);
    PGresult *r = st_run(s, &rc,
                         "UPDATE requester_links l SET used_at = now() FROM people p"
                         " WHERE l.token_hash = $1 AND l.revoked_at IS NULL"
                         "   AND p.id = l.person_id AND p.role = 'requester' AND NOT p.disabled"
                         " RETURNING p.id, p.name",
                         &p);
    if (r && PQntuples(r) == 0)
        rc = st_seterr(s, STORE_ENOTFOUND, "no such link, or it was replaced");
    int64_t pid = rc == 0 ? g_i64(r, 0, 0) : 0;
    if (rc == 0)
        g_copy(name, STORE_NAME_MAX, r, 0, 1);
    PQclear(r);
    if (rc == 0) {
        struct params q = {0};
        p_bin(&q, session_hash, STORE_TOKEN_HASH_BYTES);
        p_i64(&q, pid);
        p_i64(&q, ttl_seconds);
        rc = st_exec(s,
                     "INSERT INTO sessions (token_hash, person_id, expires_at)"
                     " VALUES ($1, $2, now() + $3::integer * interval '1 second')",
                     &q, NULL);
    }
    rc = st_finish(s, rc);
    if (rc == 0)
        *person = pid;
    else
        name[0] = '\0';
    return rc;
}

int store_signin_request(struct store *s, const char *email,
                         const unsigned char code_hash[STORE_TOKEN_HASH_BYTES],
                         const unsigned char link_hash[STORE_TOKEN_HASH_BYTES], int ttl_seconds,
                         const char *subject, const char *body)
{
    int rc = st_begin(s, "signin_request");
    if (rc)
        return rc;
    if (ttl_seconds <= 0)
        return st_finish(s, st_seterr(s, STORE_EINVALID, "a code lives a positive time"));
    struct params p = {0};
    p_str(&p, email);
    rc = st_exec(s,
                 "UPDATE signin_codes SET used_at = now()"
                 " WHERE lower(email) = lower($1) AND used_at IS NULL",
                 &p, NULL);
    if (rc == 0) {
        struct params q = {0};
        p_str(&q, email);
        p_bin(&q, code_hash, STORE_TOKEN_HASH_BYTES);
        p_bin(&q, link_hash, STORE_TOKEN_HASH_BYTES);
        p_i64(&q, ttl_seconds);
        rc = st_exec(s,
                     "INSERT INTO signin_codes (email, code_hash, link_hash, expires_at)"
                     " VALUES ($1, $2, $3, now() + $4::integer * interval '1 second')",
                     &q, NULL);
    }
    if (rc == 0) {
        struct params q = {0};
        p_str(&q, email);
        p_str(&q, subject);
        p_str(&q, body);
        rc = st_exec(s,
                     "INSERT INTO mail_outbox (kind, to_addr, subject, body)"
                     " VALUES ('signin_code', $1, $2, $3)",
                     &q, NULL);
    }
    return st_finish(s, rc);
}

/* Attaches requester from's conversations (with their tickets and
 * messages) and waiting mails to requester to, ends from's sessions and
 * links; *moved gets the number of conversations moved. One statement for
 * the rows tied by composite keys, so they hold at its end. Inside the
 * caller's transaction. */
static int attach(struct store *s, int64_t from, int64_t to, int *moved)
{
    struct params q = {0};
    p_i64(&q, from);
    p_i64(&q, to);
    int rows = 0;
    int rc = st_exec(s,
                     "WITH c AS (UPDATE conversations SET requester_id = $2"
                     "           WHERE requester_id = $1 RETURNING id),"
                     " t AS (UPDATE tickets SET requester_id = $2 WHERE requester_id = $1"
                     "       RETURNING id),"
                     " m AS (UPDATE messages SET sender_id = $2 WHERE sender_id = $1"
                     "       RETURNING id),"
                     " o AS (UPDATE mail_outbox SET person_id = $2 WHERE person_id = $1"
                     "       RETURNING id),"
                     " l AS (UPDATE requester_links SET revoked_at = now()"
                     "       WHERE person_id = $1 AND revoked_at IS NULL RETURNING 1)"
                     " SELECT id FROM c",
                     &q, &rows);
    if (rc == 0) {
        struct params d = {0};
        p_i64(&d, from);
        rc = st_exec(s, "DELETE FROM sessions WHERE person_id = $1", &d, NULL);
    }
    *moved += rows;
    return rc;
}

/* The person whose verified address is email, or anon made that person, or
 * a new requester; anon's conversations, and those of requesters who gave
 * this address without proving it (its mails, with their private links,
 * went to this address anyway), are attached to that person (*merged).
 * Inside the caller's transaction. */
static int signin_person(struct store *s, const char *email, int64_t anon,
                         struct store_signin *out)
{
    struct params p = {0};
    p_str(&p, email);
    int rc = 0;
    PGresult *r = st_run(s, &rc,
                         "SELECT id, name, role, disabled FROM people"
                         " WHERE email_verified AND lower(email) = lower($1) FOR UPDATE",
                         &p);
    if (!r)
        return rc;
    int64_t found = 0;
    if (PQntuples(r) > 0) {
        if (strcmp(g_str(r, 0, 2), "requester") != 0 || g_bool(r, 0, 3))
            rc = st_seterr(s, STORE_ENOTFOUND, "this address is not a requester's");
        found = g_i64(r, 0, 0);
        g_copy(out->name, sizeof out->name, r, 0, 1);
    }
    PQclear(r);
    if (rc)
        return rc;
    if (!found && anon) {
        /* the anonymous requester on the connection becomes the address's
         * person (unless it verified another address before) */
        struct params q = {0};
        p_i64(&q, anon);
        p_str(&q, email);
        r = st_run(s, &rc,
                   "UPDATE people SET email = $2, email_verified = true"
                   " WHERE id = $1 AND role = 'requester' AND NOT email_verified"
                   " RETURNING id, name",
                   &q);
        if (r && PQntuples(r) > 0) {
            found = g_i64(r, 0, 0);
            g_copy(out->name, sizeof out->name, r, 0, 1);
            anon = 0;
        }
        PQclear(r);
        if (rc)
            return rc;
    }
    if (!found) {
        /* a new requester named after the address's local part */
        char name[129];
        size_t n = strcspn(email, "@");
        if (n > 64)
            n = 64;
        snprintf(name, sizeof name, "%.*s", (int)n, email);
        struct params q = {0};
        p_str(&q, name);
        p_str(&q, email);
        rc = st_insert_id(s,
                          "INSERT INTO people (role, name, email, email_verified)"
                          " VALUES ('requester', $1, $2, true) RETURNING id",
                          &q, &found);
        if (rc)
            return rc;
        snprintf(out->name, sizeof out->name, "%s", name);
    }
    int moved = 0;
    if (anon && anon != found) {
        /* only an identity no address was proven for is attached: a
         * person signed in with another proven address stays whole */
        struct params q = {0};
        p_i64(&q, anon);
        int rows = 0;
        rc = st_exec(s,
                     "SELECT 1 FROM people WHERE id = $1 AND role = 'requester'"
                     " AND NOT email_verified",
                     &q, &rows);
        if (rc == 0 && rows > 0)
            rc = attach(s, anon, found, &moved);
    }
    if (rc == 0) {
        struct params q = {0};
        p_str(&q, email);
        p_i64(&q, found);
        r = st_run(s, &rc,
                   "SELECT id FROM people WHERE role = 'requester' AND NOT email_verified"
                   " AND lower(email) = lower($1) AND id <> $2 ORDER BY id FOR UPDATE",
                   &q);
        for (int i = 0; r && rc == 0 && i < PQntuples(r); i++)
            rc = attach(s, g_i64(r, i, 0), found, &moved);
        PQclear(r);
    }
    out->merged = moved > 0;
    out->person = found;
    return rc;
}

int store_signin_verify(struct store *s, const char *email,
                        const unsigned char code_hash[STORE_TOKEN_HASH_BYTES],
                        const unsigned char link_hash[STORE_TOKEN_HASH_BYTES], int max_tries,
                        int64_t anon, const unsigned char session_hash[STORE_TOKEN_HASH_BYTES],
                        int ttl_seconds, struct store_signin *out)
{
    memset(out, 0, sizeof *out);
    int rc = st_begin(s, "signin_verify");
    if (rc)
        return rc;
    if (ttl_seconds <= 0 || max_tries <= 0 || (!email && !link_hash) || (email && !code_hash))
        return st_finish(s, st_seterr(s, STORE_EINVALID, "bad sign-in arguments"));
    struct params p = {0};
    PGresult *r;
    if (email) {
        /* the address's latest code: older ones were replaced */
        p_str(&p, email);
        r = st_run(s, &rc,
                   "SELECT id, code_hash, tries, used_at IS NULL AND expires_at > now(), email"
                   " FROM signin_codes WHERE lower(email) = lower($1)"
                   " ORDER BY id DESC LIMIT 1 FOR UPDATE",
                   &p);
    } else {
        p_bin(&p, link_hash, STORE_TOKEN_HASH_BYTES);
        r = st_run(s, &rc,
                   "SELECT id, code_hash, tries, used_at IS NULL AND expires_at > now(), email"
                   " FROM signin_codes WHERE link_hash = $1 FOR UPDATE",
                   &p);
    }
    if (!r)
        return st_finish(s, rc);
    int64_t id = 0;
    int tries = 0, live = 0, right = 0;
    if (PQntuples(r) > 0) {
        id = g_i64(r, 0, 0);
        tries = g_int(r, 0, 2);
        live = g_bool(r, 0, 3);
        g_copy(out->email, sizeof out->email, r, 0, 4);
        if (email) {
            /* bytea in text form: \x and 64 hex digits */
            char hex[2 * STORE_TOKEN_HASH_BYTES + 3] = "\\x";
            for (int i = 0; i < STORE_TOKEN_HASH_BYTES; i++)
                snprintf(hex + 2 + 2 * i, 3, "%02x", code_hash[i]);
            right = strcmp(hex, g_str(r, 0, 1)) == 0;
        } else {
            right = 1;
        }
    }
    PQclear(r);
    if (!id || !live)
        return st_finish(s, st_seterr(s, STORE_ENOTFOUND,
                                      "no code waiting for this address, or it expired"));
    if (tries >= max_tries)
        return st_finish(s, st_seterr(s, STORE_ECONFLICT, "too many wrong codes"));
    struct params q = {0};
    p_i64(&q, id);
    if (!right) {
        rc = st_exec(s, "UPDATE signin_codes SET tries = tries + 1 WHERE id = $1", &q, NULL);
        out->tries_left = max_tries - tries - 1;
        rc = st_finish(s, rc); /* the try counts */
        return rc ? rc : st_seterr(s, STORE_EFORBIDDEN, "wrong code");
    }
    rc = st_exec(s, "UPDATE signin_codes SET used_at = now() WHERE id = $1", &q, NULL);
    if (rc == 0)
        rc = signin_person(s, out->email, anon, out);
    if (rc == 0) {
        struct params w = {0};
        p_bin(&w, session_hash, STORE_TOKEN_HASH_BYTES);
        p_i64(&w, out->person);
        p_i64(&w, ttl_seconds);
        rc = st_exec(s,
                     "INSERT INTO sessions (token_hash, person_id, expires_at)"
                     " VALUES ($1, $2, now() + $3::integer * interval '1 second')",
                     &w, NULL);
    }
    rc = st_finish(s, rc);
    if (rc) {
        int left = out->tries_left;
        memset(out, 0, sizeof *out);
        out->tries_left = left;
    }
    return rc;
}

int store_person_contact(struct store *s, int64_t person, char *email, int *ticket_mail)
{
    email[0] = '\0';
    *ticket_mail = 0;
    int rc = st_single(s, "person_contact");
    if (rc)
        return rc;
    struct params p = {0};
    p_i64(&p, person);
    PGresult *r = st_run(s, &rc,
                         "SELECT CASE WHEN email_verified THEN email END, ticket_mail"
                         " FROM people WHERE id = $1",
                         &p);
    if (r && PQntuples(r) == 0)
        rc = st_seterr(s, STORE_ENOTFOUND, "no such person");
    if (rc == 0) {
        g_copy(email, 256, r, 0, 0);
        *ticket_mail = g_bool(r, 0, 1);
    }
    PQclear(r);
    return rc;
}

int store_person_set_ticket_mail(struct store *s, int64_t person, int on)
{
    int rc = st_single(s, "person_set_ticket_mail");
    if (rc)
        return rc;
    struct params p = {0};
    p_i64(&p, person);
    p_bool(&p, on);
    int rows = 0;
    rc = st_exec(s, "UPDATE people SET ticket_mail = $2 WHERE id = $1", &p, &rows);
    if (rc == 0 && rows == 0)
        rc = st_seterr(s, STORE_ENOTFOUND, "no such person");
    return rc;
}

int store_my_tickets(struct store *s, int64_t person, int limit, store_my_ticket_cb cb, void *arg)
{
    if (limit < 1 || limit > 500)
        limit = 500;
    int rc = st_single(s, "my_tickets");
    if (rc)
        return rc;
    struct params p = {0};
    p_i64(&p, person);
    p_i64(&p, limit);
    PGresult *r = st_run(s, &rc,
                         "SELECT t.number, g.comment FROM tickets t"
                         " LEFT JOIN ratings g ON g.ticket_id = t.id"
                         " WHERE t.requester_id = $1 ORDER BY t.id DESC LIMIT $2",
                         &p);
    if (!r)
        return rc;
    for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
        struct store_my_ticket mt = {.rating_comment = g_str(r, i, 1)};
        rc = store_ticket_get(s, g_str(r, i, 0), person, &mt.t);
        if (rc == 0 && cb(arg, &mt)) {
            store_ticket_fin(&mt.t);
            break;
        }
        store_ticket_fin(&mt.t);
    }
    PQclear(r);
    return rc;
}
