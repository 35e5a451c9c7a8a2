/* store_escalation: who hears of a service-level mark and what else it
 * does (store_escalation.h): the rule matcher and the quiet-hours
 * arithmetic (pure), the step the SLA timer runs inside its transaction for
 * each mark (st_sla_marked: rules, the functional move, the notified
 * people, their mails), the escalation file's loader, the listing, and the
 * agents' notification addresses. */
#include "store_int.h"

#include <string.h>

#include "kb_calendar.h"

/* ---- pure ----------------------------------------------------------------------- */

int store_esc_matches(const struct store_esc_rule *r, int64_t service_id, int priority,
                      const char *kind, const char *target)
{
    if (r->service_id && r->service_id != service_id)
        return 0;
    if (r->priority && r->priority != priority)
        return 0;
    if (!kind || strcmp(r->on_kind, kind) != 0)
        return 0;
    if (r->target[0] && (!target || strcmp(r->target, target) != 0))
        return 0;
    return 1;
}

int64_t store_quiet_end(int64_t t, int32_t utc_offset, int from_min, int to_min)
{
    if (from_min == to_min || from_min < 0 || to_min < 0 || from_min >= 1440 || to_min >= 1440)
        return 0;
    int64_t from = (int64_t)from_min * 60, to = (int64_t)to_min * 60;
    int64_t sod = ((t + utc_offset) % 86400 + 86400) % 86400; /* local second of the day */
    if (from < to)
        return sod >= from && sod < to ? t + (to - sod) : 0;
    if (sod >= from)
        return t + (86400 - sod) + to; /* over midnight, before it */
    if (sod < to)
        return t + (to - sod); /* over midnight, after it */
    return 0;
}

/* ---- the timer's step ------------------------------------------------------------- */

static const char *target_zh(const char *target)
{
    return strcmp(target, "response") == 0 ? "响应" : "解决";
}

int st_sla_marked(struct store *s, int64_t ticket, int64_t agent, const char *kind,
                  const char *target, int64_t due, time_t now)
{
    int rc = 0;
    struct params p = {0};
    p_i64(&p, ticket);
    p_time(&p, now);
    PGresult *r = st_run(s, &rc,
                         "SELECT t.number, t.team_id, t.priority, ts.service_id, sv.owner_team,"
                         " cv.body::text, q.from_min, q.to_min,"
                         " extract(epoch FROM coalesce(to_timestamp($2::float8), now()))::bigint,"
                         " t.summary, sv.name"
                         " FROM tickets t JOIN ticket_sla ts ON ts.ticket_id = t.id"
                         " JOIN services sv ON sv.id = ts.service_id"
                         " JOIN calendar_versions cv ON cv.calendar_id = ts.calendar_id"
                         "  AND cv.version = ts.calendar_version"
                         " LEFT JOIN calendar_quiet q ON q.calendar_id = ts.calendar_id"
                         " WHERE t.id = $1",
                         &p);
    if (!r)
        return rc;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return 0; /* the mark's row is gone: nothing to tell */
    }
    char number[64], owner[256] = "", summary[512] = "", service[STORE_SLA_NAME_MAX];
    g_copy(number, sizeof number, r, 0, 0);
    int64_t team = g_i64(r, 0, 1);
    int priority = g_int(r, 0, 2);
    int64_t service_id = g_i64(r, 0, 3);
    if (g_str(r, 0, 4))
        g_copy(owner, sizeof owner, r, 0, 4);
    int64_t at = g_i64(r, 0, 8);
    g_copy(summary, sizeof summary, r, 0, 9);
    g_copy(service, sizeof service, r, 0, 10);
    int64_t quiet_until = 0;
    if (g_str(r, 0, 6)) {
        struct kbcal cal;
        char err[128];
        const char *body = g_str(r, 0, 5);
        if (kbcal_from_json(body, strlen(body), &cal, err, sizeof err) == 0)
            quiet_until = store_quiet_end(at, cal.utc_offset, g_int(r, 0, 6), g_int(r, 0, 7));
    }
    PQclear(r);
    /* a major incident (its own or the one it is linked to) is told at once,
     * whatever the quiet hours (019_major.sql) */
    if (quiet_until) {
        int touched = st_major_touches(s, ticket, &rc);
        if (touched < 0)
            return rc;
        if (touched)
            quiet_until = 0;
    }

    /* the rules, in order: the first functional one moves, every
     * hierarchical one adds whom it names */
    int64_t move_to = 0;
    int have_move = 0, tell_leads = 0, tell_owner = 0;
    r = st_run(s, &rc,
               "SELECT coalesce(service_id, 0), coalesce(priority, 0), on_kind,"
               " coalesce(target, ''), action = 'functional', coalesce(to_team_id, 0),"
               " coalesce(notify, '') FROM escalation_rules ORDER BY position",
               NULL);
    for (int i = 0; r && i < PQntuples(r); i++) {
        struct store_esc_rule e = {.service_id = g_i64(r, i, 0), .priority = g_int(r, i, 1)};
        g_copy(e.on_kind, sizeof e.on_kind, r, i, 2);
        g_copy(e.target, sizeof e.target, r, i, 3);
        e.functional = g_bool(r, i, 4);
        e.to_team_id = g_i64(r, i, 5);
        g_copy(e.notify, sizeof e.notify, r, i, 6);
        if (!store_esc_matches(&e, service_id, priority, kind, target))
            continue;
        if (e.functional && !have_move) {
            have_move = 1;
            move_to = e.to_team_id;
        } else if (!e.functional) {
            tell_leads |= strcmp(e.notify, "lead") == 0;
            tell_owner |= strcmp(e.notify, "owner") == 0;
        }
    }
    PQclear(r);
    if (rc)
        return rc;
    if (have_move && !move_to && team) {
        struct params q = {0};
        p_i64(&q, team);
        r = st_run(s, &rc, "SELECT coalesce(escalates_to, 0) FROM teams WHERE id = $1", &q);
        if (r && PQntuples(r) == 1)
            move_to = g_i64(r, 0, 0);
        PQclear(r);
    }
    int64_t new_team = 0;
    if (rc == 0 && move_to) {
        char reason[64];
        snprintf(reason, sizeof reason, "SLA %s escalation", kind);
        int moved = 0;
        rc = st_ticket_escalate_team(s, number, move_to, reason, &moved);
        if (moved)
            new_team = move_to;
    }
    if (rc)
        return rc;

    /* who is told, and their mails, in one statement */
    int breach = strcmp(kind, "breach") == 0;
    char subject[256], body[2048], esubject[256], ebody[2048];
    snprintf(subject, sizeof subject, "[SLA] 工单 %s %s%s / Ticket %s: %s %s", number,
             target_zh(target), breach ? "已超时" : "即将超时", number, target,
             breach ? "deadline missed" : "deadline near");
    snprintf(body, sizeof body,
             "工单 %s（服务 %s，优先级 %d）的%s时限%s。\n摘要：%s\n\n"
             "Ticket %s (service %s, priority %d): the %s deadline %s.\n"
             "{portal}\n",
             number, service, priority, target_zh(target), breach ? "已过" : "将至", summary,
             number, service, priority, target, breach ? "has passed" : "is near");
    snprintf(esubject, sizeof esubject, "[SLA] 升级：工单 %s %s%s / Escalation: ticket %s %s %s",
             number, target_zh(target), breach ? "已超时" : "即将超时", number, target,
             breach ? "breach" : "warning");
    snprintf(ebody, sizeof ebody,
             "按升级规则通知您：工单 %s（服务 %s，优先级 %d）的%s时限%s。\n摘要：%s\n\n"
             "By escalation rule: ticket %s (service %s, priority %d), %s deadline %s.\n"
             "{portal}\n",
             number, service, priority, target_zh(target), breach ? "已过" : "将至", summary,
             number, service, priority, target, breach ? "has passed" : "is near");
    char teams[64];
    if (new_team && team)
        snprintf(teams, sizeof teams, "{%lld,%lld}", (long long)team, (long long)new_team);
    else if (team || new_team)
        snprintf(teams, sizeof teams, "{%lld}", (long long)(team ? team : new_team));
    else
        snprintf(teams, sizeof teams, "{}");
    struct params q = {0};
    p_i64(&q, ticket);
    p_str(&q, kind);
    p_str(&q, target);
    p_id(&q, agent);
    p_str(&q, teams);
    p_str(&q, tell_owner && owner[0] ? owner : NULL);
    p_time(&q, at);
    p_time(&q, quiet_until ? quiet_until : at);
    p_str(&q, subject);
    p_str(&q, body);
    p_str(&q, esubject);
    p_str(&q, ebody);
    p_bool(&q, tell_leads);
    (void)due;
    rc = st_exec(s,
                 "WITH cand (person_id, why, rank) AS ("
                 "  SELECT $4::bigint, 'assignee', 1 WHERE $4::bigint IS NOT NULL"
                 "  UNION ALL SELECT m.person_id, CASE WHEN EXISTS (SELECT 1 FROM person_roles x"
                 "   WHERE x.person_id = m.person_id AND x.role = 'team_lead')"
                 "   THEN 'lead' ELSE 'team' END, 2"
                 "   FROM team_members m WHERE m.team_id = ANY ($5::bigint[])"
                 "  UNION ALL SELECT m.person_id, 'owner', 3 FROM team_members m"
                 "   JOIN teams tm ON tm.id = m.team_id JOIN person_roles x"
                 "   ON x.person_id = m.person_id AND x.role = 'team_lead'"
                 "   WHERE $6::text IS NOT NULL AND (tm.slug = $6 OR tm.name = $6)),"
                 " pick AS (SELECT DISTINCT ON (person_id) person_id, why FROM cand"
                 "  ORDER BY person_id, rank),"
                 " ins AS (INSERT INTO sla_notifications (ticket_id, kind, target, person_id, why,"
                 "  mailed, at) SELECT $1, $2, $3, p.id, pick.why,"
                 "  p.email IS NOT NULL AND p.email !~ '[\\r\\n<>,]', to_timestamp($7::float8)"
                 "  FROM pick JOIN people p ON p.id = pick.person_id AND NOT p.disabled"
                 "  AND p.role IN ('agent', 'admin')"
                 "  ON CONFLICT DO NOTHING RETURNING person_id, why, mailed)"
                 " INSERT INTO mail_outbox (kind, person_id, ticket_id, to_addr, subject, body,"
                 "  next_attempt_at)"
                 " SELECT CASE WHEN e.esc THEN 'sla_escalated' ELSE 'sla_' || $2 END, p.id, $1,"
                 "  p.email, CASE WHEN e.esc THEN $11 ELSE $9 END,"
                 "  CASE WHEN e.esc THEN $12 ELSE $10 END, to_timestamp($8::float8)"
                 " FROM ins JOIN people p ON p.id = ins.person_id,"
                 " LATERAL (SELECT ins.why = 'owner' OR (ins.why = 'lead' AND $13::bool) AS esc) e"
                 " WHERE ins.mailed",
                 &q, NULL);
    return rc;
}

/* ---- reads ------------------------------------------------------------------------ */

int store_sla_notified(struct store *s, int64_t ticket_id, const char *kind, const char *target,
                       int (*cb)(void *arg, int64_t person, const char *why), void *arg,
                       int *count)
{
    if (count)
        *count = 0;
    int rc = st_single(s, "sla_notified");
    if (rc)
        return rc;
    struct params p = {0};
    p_i64(&p, ticket_id);
    p_str(&p, kind);
    p_str(&p, target);
    PGresult *r = st_run(s, &rc,
                         "SELECT person_id, why FROM sla_notifications WHERE ticket_id = $1"
                         " AND kind = $2 AND target = $3 ORDER BY person_id",
                         &p);
    for (int i = 0; r && rc == 0 && i < PQntuples(r); i++) {
        if (count)
            (*count)++;
        if (cb)
            rc = cb(arg, g_i64(r, i, 0), g_str(r, i, 1));
    }
    PQclear(r);
    return rc;
}

int store_escalation_list(struct store *s, int64_t viewer,
                          int (*rule_cb)(void *, const struct store_esc_rule_row *),
                          int (*quiet_cb)(void *, const struct store_quiet_row *), void *arg)
{
    int rc = st_single(s, "escalation_list");
    if (rc == 0)
        rc = st_staff_only(s, viewer, "escalation rules");
    if (rc)
        return rc;
    PGresult *r = st_run(s, &rc,
                         "SELECT e.position, sv.name, coalesce(e.priority, 0), e.on_kind, e.target,"
                         " e.action, tm.slug, e.notify FROM escalation_rules e"
                         " LEFT JOIN services sv ON sv.id = e.service_id"
                         " LEFT JOIN teams tm ON tm.id = e.to_team_id ORDER BY e.position",
                         NULL);
    PGresult *q = rc ? NULL
                     : st_run(s, &rc,
                              "SELECT c.name, to_char(make_time(q.from_min / 60, q.from_min % 60, 0),"
                              " 'HH24:MI'), to_char(make_time(q.to_min / 60, q.to_min % 60, 0),"
                              " 'HH24:MI') FROM calendar_quiet q JOIN calendars c"
                              " ON c.id = q.calendar_id ORDER BY c.name",
                              NULL);
    for (int i = 0; rc == 0 && r && i < PQntuples(r); i++) {
        struct store_esc_rule_row row = {
            .position = g_int(r, i, 0), .service = g_str(r, i, 1), .priority = g_int(r, i, 2),
            .on_kind = g_str(r, i, 3),  .target = g_str(r, i, 4),  .action = g_str(r, i, 5),
            .to_team = g_str(r, i, 6),  .notify = g_str(r, i, 7),
        };
        if (rule_cb)
            rc = rule_cb(arg, &row);
    }
    for (int i = 0; rc == 0 && q && i < PQntuples(q); i++) {
        struct store_quiet_row row = {g_str(q, i, 0), g_str(q, i, 1), g_str(q, i, 2)};
        if (quiet_cb)
            rc = quiet_cb(arg, &row);
    }
    PQclear(r);
    PQclear(q);
    return rc;
}

int store_agent_email(struct store *s, const char *username, const char *email)
{
    int rc = st_single(s, "agent_email");
    if (rc)
        return rc;
    if (email && (strlen(email) < 3 || strlen(email) > 254 || !strchr(email + 1, '@') ||
                  strpbrk(email, "\r\n<>, ")))
        return st_seterr(s, STORE_EINVALID, "not an e-mail address: %s", email);
    struct params p = {0};
    p_str(&p, username);
    p_str(&p, email);
    return st_exec_found(s,
                         "UPDATE people SET email = $2 WHERE username = $1"
                         " AND role IN ('agent', 'admin')",
                         &p, "no agent %s", username);
}

/* ---- the loader ------------------------------------------------------------------- */

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* "HH:MM" into minutes of the day, or -1. */
static int hhmm(const char *v)
{
    if (!v || strlen(v) != 5 || v[2] != ':')
        return -1;
    for (int i = 0; i < 5; i++)
        if (i != 2 && (v[i] < '0' || v[i] > '9'))
            return -1;
    int h = (v[0] - '0') * 10 + (v[1] - '0'), m = (v[3] - '0') * 10 + (v[4] - '0');
    return h < 24 && m < 60 ? h * 60 + m : -1;
}

/* The id of the team with slug into *id (0 if slug is NULL), or a message
 * naming where. */
static int team_id(struct store *s, const char *slug, const char *where, int64_t *id)
{
    *id = 0;
    if (!slug)
        return 0;
    int rc = 0;
    struct params p = {0};
    p_str(&p, slug);
    PGresult *r = st_run(s, &rc, "SELECT id FROM teams WHERE slug = $1", &p);
    if (r && PQntuples(r) == 1)
        *id = g_i64(r, 0, 0);
    else if (r)
        rc = st_seterr(s, STORE_EINVALID, "%s: unknown team %s", where, slug);
    PQclear(r);
    return rc;
}

static int load_order(struct store *s, json_t *order, struct store_esc_loaded *res)
{
    size_t i;
    json_t *v;
    int64_t prev = 0;
    json_array_foreach(order, i, v) {
        char where[48];
        snprintf(where, sizeof where, "team_order[%zu]", i);
        if (!json_is_string(v))
            return st_seterr(s, STORE_EINVALID, "%s: a team's slug", where);
        int64_t id;
        int rc = team_id(s, json_string_value(v), where, &id);
        if (rc)
            return rc;
        struct params p = {0};
        p_i64(&p, id);
        rc = st_exec(s, "UPDATE teams SET escalates_to = NULL WHERE id = $1", &p, NULL);
        if (rc == 0 && prev) {
            struct params q = {0};
            p_i64(&q, prev);
            p_i64(&q, id);
            rc = st_exec(s, "UPDATE teams SET escalates_to = $2 WHERE id = $1", &q, NULL);
        }
        if (rc)
            return rc;
        prev = id;
        res->team_order++;
    }
    return 0;
}

static int load_rules(struct store *s, json_t *rules, struct store_esc_loaded *res)
{
    int rc = st_exec(s, "DELETE FROM escalation_rules", NULL, NULL);
    size_t i;
    json_t *v;
    json_array_foreach(rules, i, v) {
        if (rc)
            return rc;
        char where[48];
        snprintf(where, sizeof where, "rules[%zu]", i);
        if (!json_is_object(v))
            return st_seterr(s, STORE_EINVALID, "%s: an object", where);
        const char *svc = jstr(v, "service"), *on = jstr(v, "on"), *target = jstr(v, "target");
        const char *action = jstr(v, "action"), *to = jstr(v, "to_team"), *notify = jstr(v, "notify");
        json_t *pr = json_object_get(v, "priority");
        if (!on || (strcmp(on, "warning") != 0 && strcmp(on, "breach") != 0))
            return st_seterr(s, STORE_EINVALID, "%s: \"on\" is warning or breach", where);
        if (json_object_get(v, "target") &&
            (!target || (strcmp(target, "response") != 0 && strcmp(target, "resolution") != 0)))
            return st_seterr(s, STORE_EINVALID, "%s: \"target\" is response or resolution", where);
        if (pr && (!json_is_integer(pr) || json_integer_value(pr) < 1 || json_integer_value(pr) > 4))
            return st_seterr(s, STORE_EINVALID, "%s: \"priority\" is 1 to 4", where);
        int functional = action && strcmp(action, "functional") == 0;
        if (!functional && !(action && strcmp(action, "hierarchical") == 0))
            return st_seterr(s, STORE_EINVALID, "%s: \"action\" is functional or hierarchical",
                             where);
        if (functional && notify)
            return st_seterr(s, STORE_EINVALID, "%s: a functional rule has no \"notify\"", where);
        if (!functional && (to || !notify || (strcmp(notify, "lead") != 0 &&
                                              strcmp(notify, "owner") != 0)))
            return st_seterr(s, STORE_EINVALID,
                             "%s: a hierarchical rule has \"notify\": lead or owner, no \"to_team\"",
                             where);
        int64_t to_id = 0, svc_id = 0;
        rc = team_id(s, to, where, &to_id);
        if (rc == 0 && svc) {
            struct params p = {0};
            p_str(&p, svc);
            PGresult *r = st_run(s, &rc, "SELECT id FROM services WHERE name = $1", &p);
            if (r && PQntuples(r) == 1)
                svc_id = g_i64(r, 0, 0);
            else if (r)
                rc = st_seterr(s, STORE_EINVALID, "%s: unknown service %s", where, svc);
            PQclear(r);
        }
        if (rc)
            return rc;
        struct params p = {0};
        p_i64(&p, (int64_t)i);
        p_id(&p, svc_id);
        if (pr)
            p_i64(&p, json_integer_value(pr));
        else
            p_str(&p, NULL);
        p_str(&p, on);
        p_str(&p, target);
        p_str(&p, functional ? "functional" : "hierarchical");
        p_id(&p, to_id);
        p_str(&p, notify);
        rc = st_exec(s,
                     "INSERT INTO escalation_rules (position, service_id, priority, on_kind,"
                     " target, action, to_team_id, notify)"
                     " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                     &p, NULL);
        if (rc == 0)
            res->rules++;
    }
    return rc;
}

static int load_quiet(struct store *s, json_t *quiet, struct store_esc_loaded *res)
{
    int rc = st_exec(s, "DELETE FROM calendar_quiet", NULL, NULL);
    size_t i;
    json_t *v;
    json_array_foreach(quiet, i, v) {
        if (rc)
            return rc;
        const char *cal = jstr(v, "calendar");
        int from = hhmm(jstr(v, "from")), to = hhmm(jstr(v, "to"));
        if (!cal || from < 0 || to < 0 || from == to)
            return st_seterr(s, STORE_EINVALID,
                             "quiet_hours[%zu]: \"calendar\", \"from\" and \"to\" as HH:MM,"
                             " from and to different",
                             i);
        struct params p = {0};
        p_str(&p, cal);
        p_i64(&p, from);
        p_i64(&p, to);
        int rows = 0;
        rc = st_exec(s,
                     "INSERT INTO calendar_quiet (calendar_id, from_min, to_min)"
                     " SELECT id, $2, $3 FROM calendars WHERE name = $1"
                     " ON CONFLICT (calendar_id) DO UPDATE SET from_min = $2, to_min = $3",
                     &p, &rows);
        if (rc == 0 && rows == 0)
            rc = st_seterr(s, STORE_EINVALID, "quiet_hours[%zu]: unknown calendar %s", i, cal);
        if (rc == 0)
            res->quiet_hours++;
    }
    return rc;
}

int store_escalation_load(struct store *s, const char *json, size_t len,
                          struct store_esc_loaded *out)
{
    struct store_esc_loaded res = {0};
    if (out)
        *out = res;
    json_t *root;
    int rc = st_begin_json(s, "escalation_load", json, len, &root);
    if (rc)
        return rc;
    json_t *order = json_object_get(root, "team_order"), *rules = json_object_get(root, "rules");
    json_t *quiet = json_object_get(root, "quiet_hours");
    if (!json_is_object(root) || (order && !json_is_array(order)) ||
        (rules && !json_is_array(rules)) || (quiet && !json_is_array(quiet)))
        rc = st_seterr(s, STORE_EINVALID,
                       "a JSON object with lists \"team_order\", \"rules\", \"quiet_hours\"");
    if (rc == 0)
        rc = load_order(s, order, &res);
    if (rc == 0)
        rc = load_rules(s, rules, &res);
    if (rc == 0)
        rc = load_quiet(s, quiet, &res);
    /* major incidents by priority (019_major.sql): absent or 0 is off */
    json_t *mp = json_object_get(root, "major_priority");
    if (rc == 0 && mp && !json_is_integer(mp))
        rc = st_seterr(s, STORE_EINVALID, "major_priority is 1..4 (0 or absent: off)");
    if (rc == 0) {
        json_int_t v = mp ? json_integer_value(mp) : 0;
        rc = st_major_rule_set(s, v < 0 || v > 4 ? -1 : (int)v);
        res.major_priority = (int)(v < 0 || v > 4 ? 0 : v);
    }
    json_decref(root);
    rc = st_finish(s, rc);
    if (rc == 0 && out)
        *out = res;
    return rc;
}
