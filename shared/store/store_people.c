/* store_people: agents, admins and requesters (table people): creating
 * them, finding an agent for a login, disabling; and, for the other files of
 * the library, who a person is and whether they may see a requester's
 * things (st_person_role, st_is_staff, st_may_view). */
#include "store_int.h"

#include <string.h>

/* The role of an enabled person (ENOTFOUND if unknown or disabled). */
int st_person_role(struct store *s, int64_t id, char role[STORE_WORD_MAX])
{
    struct params p = {0};
    p_i64(&p, id);
    int rc = 0;
    PGresult *r = st_run_row(s, &rc, "SELECT role FROM people WHERE id = $1 AND NOT disabled", &p,
                             "no enabled person %lld", (long long)id);
    if (!r)
        return rc;
    g_copy(role, STORE_WORD_MAX, r, 0, 0);
    PQclear(r);
    return rc;
}

int st_is_staff(const char *role)
{
    return strcmp(role, "agent") == 0 || strcmp(role, "admin") == 0;
}

/* Returns 0 if viewer may see what owner (a requester) owns: the owner or
 * an enabled agent or admin; else EFORBIDDEN. */
int st_may_view(struct store *s, int64_t owner, int64_t viewer)
{
    char role[STORE_WORD_MAX];
    int rc = st_person_role(s, viewer, role);
    if (rc == STORE_ENOTFOUND || (rc == 0 && viewer != owner && !st_is_staff(role)))
        return st_seterr(s, STORE_EFORBIDDEN, "person %lld may not see this", (long long)viewer);
    return rc;
}

int store_agent_create(struct store *s, const char *username, const char *name,
                       const char *password_hash, int64_t *id)
{
    int64_t got = 0;
    int rc = st_begin(s, "agent_create");
    if (rc)
        return rc;
    struct params p = {0};
    p_str(&p, username);
    p_str(&p, name);
    p_str(&p, password_hash);
    rc = st_insert_id(s,
                      "INSERT INTO people (role, username, name, password_hash)"
                      " VALUES ('agent', $1, $2, $3) RETURNING id",
                      &p, &got);
    if (rc == STORE_ECONFLICT)
        st_seterr(s, rc, "user name '%s' is taken", username);
    else if (rc == STORE_EINVALID && (!username || !name || !password_hash))
        st_seterr(s, rc, "user name, name and password hash are required");
    rc = st_finish(s, rc);
    if (rc == 0)
        *id = got;
    return rc;
}

int store_agent_by_username(struct store *s, const char *username, struct store_agent *out)
{
    memset(out, 0, sizeof *out);
    int rc = st_begin(s, "agent_by_username");
    if (rc)
        return rc;
    struct params p = {0};
    p_str(&p, username);
    PGresult *r = st_run(s, &rc,
                         "SELECT id, role, name, password_hash,"
                         " coalesce(ceil(extract(epoch FROM locked_until - now())), 0)::integer"
                         " FROM people"
                         " WHERE lower(username) = lower($1) AND role IN ('agent', 'admin')"
                         " AND NOT disabled",
                         &p);
    rc = st_finish(s, rc);
    if (rc == 0 && PQntuples(r) == 0)
        rc = st_seterr(s, STORE_ENOTFOUND, "no enabled agent '%s'", username ? username : "");
    if (rc == 0) {
        out->id = g_i64(r, 0, 0);
        g_copy(out->role, sizeof out->role, r, 0, 1);
        g_copy(out->name, sizeof out->name, r, 0, 2);
        g_copy(out->password_hash, sizeof out->password_hash, r, 0, 3);
        out->locked_for = g_int(r, 0, 4) > 0 ? g_int(r, 0, 4) : 0;
    }
    PQclear(r);
    return rc;
}

int store_requester_start(struct store *s, const char *name, const char *email,
                          const unsigned char token_hash[STORE_TOKEN_HASH_BYTES],
                          int ttl_seconds, int64_t *person, int64_t *conv)
{
    int64_t pid = 0, cid = 0;
    int rc = st_begin(s, "requester_start");
    if (rc)
        return rc;
    if (ttl_seconds <= 0)
        return st_finish(s, st_seterr(s, STORE_EINVALID, "a session lives a positive time"));
    rc = st_requester_insert(s, name, email, &pid);
    if (rc == 0)
        rc = st_session_insert(s, pid, token_hash, ttl_seconds);
    if (rc == 0) {
        struct params q = {0};
        p_i64(&q, pid);
        rc = st_insert_id(s, "INSERT INTO conversations (requester_id) VALUES ($1) RETURNING id",
                       &q, &cid);
    }
    rc = st_finish(s, rc);
    if (rc == 0) {
        *person = pid;
        *conv = cid;
    }
    return rc;
}

int store_requester_purge(struct store *s, int *count)
{
    int rows = 0;
    int rc = st_begin(s, "requester_purge");
    if (rc)
        return rc;
    rc = st_exec(s,
              "DELETE FROM conversations c WHERE c.last_seq = 0"
              " AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id)"
              " AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.conversation_id = c.id)"
              " AND NOT EXISTS (SELECT 1 FROM conversation_suggestions g"
              "                 WHERE g.conversation_id = c.id)"
              " AND NOT EXISTS (SELECT 1 FROM deflections d WHERE d.conversation_id = c.id)"
              " AND NOT EXISTS (SELECT 1 FROM sessions x WHERE x.person_id = c.requester_id)",
              NULL, NULL);
    if (rc == 0)
        rc = st_exec(s,
                  "DELETE FROM people p WHERE p.role = 'requester'"
                  " AND NOT EXISTS (SELECT 1 FROM sessions x WHERE x.person_id = p.id)"
                  " AND NOT EXISTS (SELECT 1 FROM conversations c WHERE c.requester_id = p.id)"
                  " AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.sender_id = p.id)"
                  " AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.requester_id = p.id)"
                  /* a requester whose tickets moved to the address they
                   * signed in with (store_signin_verify) may still be an
                   * event's actor */
                  " AND NOT EXISTS (SELECT 1 FROM ticket_events e WHERE e.actor_id = p.id)",
                  NULL, &rows);
    rc = st_finish(s, rc);
    if (count)
        *count = rc == 0 ? rows : 0;
    return rc;
}

int st_requester_insert(struct store *s, const char *name, const char *email, int64_t *id)
{
    struct params p = {0};
    p_str(&p, name);
    p_str(&p, email);
    return st_insert_id(s,
                        "INSERT INTO people (role, name, email) VALUES ('requester', $1, $2)"
                        " RETURNING id",
                        &p, id);
}

int store_requester_create(struct store *s, const char *name, const char *email, int64_t *id)
{
    int64_t got = 0;
    int rc = st_begin(s, "requester_create");
    if (rc)
        return rc;
    rc = st_finish(s, st_requester_insert(s, name, email, &got));
    if (rc == 0)
        *id = got;
    return rc;
}

int store_person_set_disabled(struct store *s, int64_t person_id, int disabled)
{
    int rc = st_begin(s, "person_set_disabled");
    if (rc)
        return rc;
    struct params p = {0};
    p_i64(&p, person_id);
    p_bool(&p, disabled);
    rc = st_exec_found(s, "UPDATE people SET disabled = $2 WHERE id = $1", &p, "no person %lld",
                       (long long)person_id);
    return st_finish(s, rc);
}
