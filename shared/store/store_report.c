/* store_report: the key indicators (see store_report.h), each a count in
 * SQL over event rows (ticket_events, conversations and deflections,
 * ratings, knowledge_events and knowledge_use, problem_events) between
 * the period's bounds, which PostgreSQL turns from local dates in the
 * time zone into instants; the rates are divided here. */
#include "store_int.h"

#include <string.h>

/* The period's bounds: $1 from-date, $2 to-date (inclusive), $3 tz, $4 the
 * recontact window in days (every statement binds all four). */
#define BOUNDS                                                                              \
    "WITH b AS (SELECT ($1::date)::timestamp AT TIME ZONE $3 AS lo,"                        \
    " ($2::date + 1)::timestamp AT TIME ZONE $3 AS hi, $4::int AS days)"

static int check(struct store *s, int64_t viewer, const struct store_report_period *p)
{
    char role[STORE_WORD_MAX];
    int rc = st_person_role(s, viewer, role);
    if (rc == STORE_ENOTFOUND || (rc == 0 && !st_is_staff(role)))
        return st_seterr(s, STORE_EFORBIDDEN, "reports are for agents and administrators");
    if (rc)
        return rc;
    if (p->recontact_days < 1 || p->recontact_days > 90)
        return st_seterr(s, STORE_EINVALID, "recontact_days must be 1..90");
    struct params q = {0};
    p_str(&q, p->from);
    p_str(&q, p->to);
    p_str(&q, p->tz);
    PGresult *r = st_run(s, &rc,
                         "SELECT $2::date - $1::date, (SELECT count(*) FROM pg_timezone_names"
                         " WHERE name = $3)",
                         &q);
    if (!r)
        return rc == STORE_EDB ? rc
                               : st_seterr(s, STORE_EINVALID, "from and to are dates YYYY-MM-DD");
    int days = g_int(r, 0, 0), tz = g_int(r, 0, 1);
    PQclear(r);
    if (days < 0 || days > 365)
        return st_seterr(s, STORE_EINVALID, "from must not be after to; at most 366 days");
    if (!tz)
        return st_seterr(s, STORE_EINVALID, "unknown time zone '%.64s'", p->tz);
    return 0;
}

static double rate(int num, int den)
{
    return den > 0 ? (double)num / (double)den : -1;
}

static void bind(struct params *q, const struct store_report_period *p)
{
    p_str(q, p->from);
    p_str(q, p->to);
    p_str(q, p->tz);
    p_i64(q, p->recontact_days);
}

/* Runs sql (one row of integer columns) into the ints at v[0..n). */
static int ints(struct store *s, const char *sql, const struct store_report_period *p, int *const *v,
                int n)
{
    struct params q = {0};
    bind(&q, p);
    int rc = 0;
    PGresult *r = st_run(s, &rc, sql, &q);
    if (!r)
        return rc;
    for (int i = 0; i < n; i++)
        *v[i] = g_int(r, 0, i);
    PQclear(r);
    return 0;
}

static const char SQL_DESK[] =
    BOUNDS ","
    /* each ticket's last resolved / reopened event before the end */
    " ev AS (SELECT e.ticket_id, e.type, e.at, row_number() OVER"
    "        (PARTITION BY e.ticket_id ORDER BY e.id DESC) AS n"
    "        FROM ticket_events e, b WHERE e.type IN ('resolved', 'reopened') AND e.at < b.hi),"
    " last AS (SELECT ticket_id, type, at FROM ev WHERE n = 1),"
    " recv AS (SELECT t.id FROM tickets t, b WHERE t.created_at >= b.lo AND t.created_at < b.hi),"
    " res AS (SELECT l.ticket_id FROM last l, b WHERE l.type = 'resolved' AND l.at >= b.lo),"
    " fcr AS (SELECT r.ticket_id FROM res r WHERE NOT EXISTS (SELECT 1 FROM ticket_events e"
    "         WHERE e.ticket_id = r.ticket_id AND e.type = 'reopened')"
    "         AND (SELECT count(*) FROM ticket_events e WHERE e.ticket_id = r.ticket_id"
    "              AND e.type = 'replied') <= 1)"
    " SELECT (SELECT count(*) FROM recv), (SELECT count(*) FROM res),"
    "  (SELECT count(*) FROM recv JOIN last l ON l.ticket_id = recv.id AND l.type = 'resolved'),"
    "  (SELECT count(*) FROM fcr),"
    "  (SELECT count(*) FROM recv WHERE EXISTS (SELECT 1 FROM ticket_links k"
    "   WHERE k.ticket_id = recv.id))";

static const char SQL_CHAT[] =
    BOUNDS ","
    " conv AS (SELECT c.id, c.requester_id, c.created_at FROM conversations c, b"
    "          WHERE c.created_at >= b.lo AND c.created_at < b.hi AND c.last_seq > 0),"
    " solved AS (SELECT conv.*, d.doc_id, d.at FROM conv JOIN deflections d"
    "            ON d.conversation_id = conv.id),"
    /* a recontact: another chat of the same requester within the window that
       was shown the same document, or any ticket raised in that time */
    " honest AS (SELECT s.id FROM solved s WHERE NOT EXISTS (SELECT 1 FROM conversations c2"
    "   WHERE c2.requester_id = s.requester_id AND c2.id <> s.id AND c2.created_at > s.at"
    "   AND c2.created_at <= s.at + make_interval(days => $4::int)"
    "   AND (EXISTS (SELECT 1 FROM conversation_suggestions g WHERE g.conversation_id = c2.id"
    "                AND g.doc_id = s.doc_id)"
    "        OR EXISTS (SELECT 1 FROM tickets t WHERE t.conversation_id = c2.id))))"
    " SELECT (SELECT count(*) FROM conv), (SELECT count(*) FROM solved),"
    "  (SELECT count(*) FROM honest)";

static const char SQL_RATINGS[] =
    BOUNDS ","
    " cl AS (SELECT t.id FROM tickets t, b WHERE t.closed_at >= b.lo AND t.closed_at < b.hi)"
    " SELECT (SELECT count(*) FROM ratings r, b WHERE r.at >= b.lo AND r.at < b.hi),"
    "  (SELECT count(*) FROM ratings r, b WHERE r.at >= b.lo AND r.at < b.hi AND r.score >= 4),"
    "  (SELECT count(*) FROM cl),"
    "  (SELECT count(*) FROM cl JOIN ratings r ON r.ticket_id = cl.id)";

static const char SQL_KNOWLEDGE[] =
    BOUNDS
    " SELECT (SELECT count(*) FROM knowledge_events e, b WHERE e.at >= b.lo AND e.at < b.hi"
    "         AND e.type IN ('created', 'imported')),"
    "  (SELECT count(*) FROM knowledge_events e, b WHERE e.at >= b.lo AND e.at < b.hi"
    "   AND e.type IN ('saved', 'restored')),"
    "  (SELECT count(*) FROM knowledge_events e, b WHERE e.at >= b.lo AND e.at < b.hi"
    "   AND e.type = 'retired'),"
    "  (SELECT count(*) FROM knowledge_items WHERE published_version IS NOT NULL"
    "   AND review_due < now())";

static const char SQL_PROBLEMS[] =
    BOUNDS ","
    " op AS (SELECT p.id FROM problems p, b WHERE p.created_at >= b.lo AND p.created_at < b.hi),"
    /* each problem's last resolved / reopened event before the end */
    " ev AS (SELECT e.problem_id, e.type, e.at, row_number() OVER"
    "        (PARTITION BY e.problem_id ORDER BY e.id DESC) AS n FROM problem_events e, b"
    "        WHERE e.type IN ('resolved', 'reopened') AND e.at < b.hi),"
    " last AS (SELECT problem_id, type, at FROM ev WHERE n = 1),"
    " res AS (SELECT l.problem_id, l.at FROM last l, b WHERE l.type = 'resolved' AND l.at >= b.lo)"
    " SELECT (SELECT count(*) FROM op), (SELECT count(*) FROM res),"
    "  (SELECT count(*) FROM op JOIN last l ON l.problem_id = op.id AND l.type = 'resolved'),"
    "  (SELECT count(*) FROM problems WHERE status = 'known_error'),"
    "  coalesce((SELECT round(avg(extract(epoch FROM res.at - p.created_at)) / 36)::bigint"
    "   FROM res JOIN problems p ON p.id = res.problem_id), -100)";

int store_report_indicators(struct store *s, int64_t viewer, const struct store_report_period *p,
                            struct store_indicators *out)
{
    memset(out, 0, sizeof *out);
    int rc = st_single(s, "report_indicators");
    if (rc == 0)
        rc = check(s, viewer, p);
    if (rc)
        return rc;
    struct store_indicators *o = out;
    int mttr_centi = 0;
    rc = ints(s, SQL_DESK, p,
              (int *const[]){&o->received, &o->resolved, &o->received_resolved, &o->first_contact,
                             &o->tickets_with_knowledge},
              5);
    if (rc == 0)
        rc = ints(s, SQL_CHAT, p, (int *const[]){&o->conversations, &o->self_solved, &o->deflected},
                  3);
    if (rc == 0)
        rc = ints(s, SQL_RATINGS, p,
                  (int *const[]){&o->ratings, &o->ratings_good, &o->closed, &o->closed_rated}, 4);
    if (rc == 0)
        rc = ints(s, SQL_KNOWLEDGE, p,
                  (int *const[]){&o->k_new, &o->k_updated, &o->k_retired, &o->k_past_review}, 4);
    if (rc == 0)
        rc = ints(s, SQL_PROBLEMS, p,
                  (int *const[]){&o->p_opened, &o->p_resolved, &o->p_opened_resolved,
                                 &o->p_open_known_errors, &mttr_centi},
                  5);
    if (rc == 0) {
        PGresult *r = st_run(s, &rc,
                             "SELECT kind, state, count(*) FROM knowledge_items GROUP BY 1, 2",
                             NULL);
        static const char *const states[] = {"draft", "in_review", "approved", "published",
                                             "retired"};
        for (int i = 0; r && i < PQntuples(r); i++) {
            int k = strcmp(g_str(r, i, 0), "known_error") == 0;
            for (int j = 0; j < 5; j++)
                if (strcmp(g_str(r, i, 1), states[j]) == 0)
                    o->k_items[k][j] = g_int(r, i, 2);
        }
        PQclear(r);
    }
    if (rc)
        return rc;
    o->resolution_rate = rate(o->received_resolved, o->received);
    o->fcr_rate = rate(o->first_contact, o->resolved);
    o->self_service_rate = rate(o->self_solved, o->conversations);
    o->deflection_rate = rate(o->deflected, o->conversations);
    o->csat = rate(o->ratings_good, o->ratings);
    o->rating_response_rate = rate(o->closed_rated, o->closed);
    o->utilisation = rate(o->tickets_with_knowledge, o->received);
    o->p_resolution_rate = rate(o->p_opened_resolved, o->p_opened);
    o->p_mttr_hours = o->p_resolved ? mttr_centi / 100.0 : -1;
    return 0;
}

int store_report_docs(struct store *s, int64_t viewer, const struct store_report_period *p,
                      int (*cb)(void *ud, const struct store_report_doc *d), void *ud)
{
    int rc = st_single(s, "report_docs");
    if (rc == 0)
        rc = check(s, viewer, p);
    if (rc)
        return rc;
    struct params q = {0};
    bind(&q, p);
    PGresult *r = st_run(s, &rc,
                         BOUNDS ","
                         " solved AS (SELECT c.id, c.requester_id, d.doc_id, d.at"
                         "  FROM conversations c JOIN deflections d ON d.conversation_id = c.id, b"
                         "  WHERE c.created_at >= b.lo AND c.created_at < b.hi),"
                         " per AS (SELECT s.doc_id, count(*) AS solved, count(*) FILTER (WHERE"
                         "  NOT EXISTS (SELECT 1 FROM conversations c2"
                         "   WHERE c2.requester_id = s.requester_id AND c2.id <> s.id"
                         "   AND c2.created_at > s.at"
                         "   AND c2.created_at <= s.at + make_interval(days => $4::int)"
                         "   AND (EXISTS (SELECT 1 FROM conversation_suggestions g"
                         "        WHERE g.conversation_id = c2.id AND g.doc_id = s.doc_id)"
                         "    OR EXISTS (SELECT 1 FROM tickets t WHERE t.conversation_id = c2.id))))"
                         "  AS honest FROM solved s GROUP BY s.doc_id),"
                         " use AS (SELECT u.doc_id, count(*) FILTER (WHERE kind = 'shown') AS shown,"
                         "  count(*) FILTER (WHERE kind = 'opened') AS opened,"
                         "  count(*) FILTER (WHERE kind = 'helpful') AS helpful,"
                         "  count(*) FILTER (WHERE kind = 'linked') AS linked"
                         "  FROM knowledge_use u, b WHERE u.at >= b.lo AND u.at < b.hi"
                         "  GROUP BY u.doc_id)"
                         " SELECT coalesce(per.doc_id, use.doc_id), coalesce(per.solved, 0),"
                         "  coalesce(per.honest, 0), coalesce(use.shown, 0),"
                         "  coalesce(use.opened, 0), coalesce(use.helpful, 0),"
                         "  coalesce(use.linked, 0)"
                         " FROM per FULL JOIN use ON use.doc_id = per.doc_id"
                         " ORDER BY 2 DESC, 4 DESC, 1 LIMIT 100",
                         &q);
    if (!r)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        struct store_report_doc d = {g_str(r, i, 0), g_int(r, i, 1), g_int(r, i, 2),
                                     g_int(r, i, 3), g_int(r, i, 4), g_int(r, i, 5),
                                     g_int(r, i, 6)};
        if (cb(ud, &d))
            break;
    }
    PQclear(r);
    return 0;
}
