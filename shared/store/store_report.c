/* store_report: the key indicators (see store_report.h), each a count in
 * SQL over event rows (ticket_events, conversations and deflections,
 * ratings, knowledge_events and knowledge_use, problem_events, ticket_sla)
 * between the period's bounds, which PostgreSQL turns from local dates in
 * the time zone into instants; the rates are divided here. Every counted
 * set is a named CTE (TICKET_SETS, CHAT_SETS, PROBLEM_SETS): a figure is
 * its count(*), its drill-down (store_report_items) its rows. Working
 * hours need the ticket's calendar version (kb_calendar), which SQL cannot
 * do: the rows of the timed sets come from SQL and are summed here. */
#include "store_int.h"

#include <stdlib.h>
#include <string.h>

#include "kb_calendar.h"
#include "kb_util.h"

/* The period's bounds: $1 from-date, $2 to-date (inclusive), $3 tz, $4 the
 * recontact window in days; tf the tickets the filters let through ($5
 * service, $6 team, $7 category, $8 channel, $9 priority; '' / 0 = all).
 * Every statement binds all nine. A ticket's channel is TICKET_CHANNEL:
 * every ticket is raised from a requester's chat today; a second way in
 * (mail, API) is a column here. */
#define TICKET_CHANNEL "'chat'"
#define BOUNDS                                                                              \
    "WITH b AS (SELECT ($1::date)::timestamp AT TIME ZONE $3 AS lo,"                        \
    " ($2::date + 1)::timestamp AT TIME ZONE $3 AS hi, $4::int AS days),"                   \
    " tf AS (SELECT t.id FROM tickets t WHERE ($5::text = '' OR EXISTS (SELECT 1"           \
    "  FROM ticket_sla ts JOIN services v ON v.id = ts.service_id"                          \
    "  WHERE ts.ticket_id = t.id AND v.name = $5))"                                         \
    "  AND ($6::text = '' OR t.team_id = (SELECT id FROM teams WHERE slug = $6))"           \
    "  AND ($7::text = '' OR t.category = $7"                                               \
    "   OR left(t.category, char_length($7) + 1) = $7 || '/')"                              \
    "  AND ($8::text = '' OR " TICKET_CHANNEL " = $8)"                                      \
    "  AND ($9::int = 0 OR t.priority = $9))"

/* The sets of tickets every ticket figure counts, one CTE each (a figure
 * is count(*) of its set; its drill-down lists the same set). Unused CTEs
 * cost nothing: PostgreSQL does not run them. */
#define TICKET_SETS                                                                         \
    BOUNDS ","                                                                              \
    /* each ticket's last resolved / reopened event before the end */                       \
    " ev AS (SELECT e.ticket_id, e.type, e.at, row_number() OVER"                           \
    "        (PARTITION BY e.ticket_id ORDER BY e.id DESC) AS n"                            \
    "        FROM ticket_events e, b WHERE e.type IN ('resolved', 'reopened') AND e.at < b.hi" \
    "        AND e.ticket_id IN (SELECT id FROM tf)),"                                      \
    " last AS (SELECT ticket_id, type, at FROM ev WHERE n = 1),"                            \
    " recv AS (SELECT t.id FROM tickets t, b WHERE t.created_at >= b.lo AND t.created_at < b.hi" \
    "          AND t.id IN (SELECT id FROM tf)),"                                           \
    " res AS (SELECT l.ticket_id AS id FROM last l, b WHERE l.type = 'resolved' AND l.at >= b.lo)," \
    " recv_res AS (SELECT recv.id FROM recv JOIN last l ON l.ticket_id = recv.id"           \
    "              AND l.type = 'resolved'),"                                               \
    " fcr AS (SELECT r.id FROM res r WHERE NOT EXISTS (SELECT 1 FROM ticket_events e"       \
    "         WHERE e.ticket_id = r.id AND e.type = 'reopened')"                            \
    "         AND (SELECT count(*) FROM ticket_events e WHERE e.ticket_id = r.id"           \
    "              AND e.type = 'replied') <= 1),"                                          \
    " with_k AS (SELECT recv.id FROM recv WHERE EXISTS (SELECT 1 FROM ticket_links k"       \
    "            WHERE k.ticket_id = recv.id)),"                                            \
    " p1 AS (SELECT recv.id FROM recv JOIN tickets t ON t.id = recv.id WHERE t.priority = 1)," \
    /* declared a major incident in the period (cleared or not) */                          \
    " major AS (SELECT m.ticket_id AS id FROM major_incidents m, b WHERE m.declared_at >= b.lo" \
    "           AND m.declared_at < b.hi AND m.ticket_id IN (SELECT id FROM tf)),"           \
    " cl AS (SELECT t.id FROM tickets t, b WHERE t.closed_at >= b.lo AND t.closed_at < b.hi" \
    "        AND t.id IN (SELECT id FROM tf)),"                                             \
    " cl_rated AS (SELECT cl.id FROM cl JOIN ratings r ON r.ticket_id = cl.id),"            \
    " rt AS (SELECT r.ticket_id AS id, r.score FROM ratings r, b WHERE r.at >= b.lo"        \
    "        AND r.at < b.hi AND r.ticket_id IN (SELECT id FROM tf)),"                      \
    " rt_good AS (SELECT id FROM rt WHERE score >= 4),"                                     \
    /* timeliness: deadlines in the period, decided (answered / resolved by    \
       the end, or the deadline has passed) */                                              \
    " rsp_due AS (SELECT ts.ticket_id AS id FROM ticket_sla ts JOIN tickets t"              \
    "  ON t.id = ts.ticket_id, b WHERE ts.response_due >= b.lo AND ts.response_due < b.hi"  \
    "  AND ts.ticket_id IN (SELECT id FROM tf)"                                             \
    "  AND ((t.first_response_at IS NOT NULL AND t.first_response_at < b.hi)"              \
    "       OR ts.response_due <= now())),"                                                 \
    " rsp_met AS (SELECT d.id FROM rsp_due d JOIN ticket_sla ts ON ts.ticket_id = d.id"     \
    "  JOIN tickets t ON t.id = d.id WHERE t.first_response_at <= ts.response_due),"        \
    " rsl_due AS (SELECT ts.ticket_id AS id FROM ticket_sla ts LEFT JOIN last l"            \
    "  ON l.ticket_id = ts.ticket_id AND l.type = 'resolved', b"                            \
    "  WHERE ts.resolve_due >= b.lo AND ts.resolve_due < b.hi"                              \
    "  AND ts.ticket_id IN (SELECT id FROM tf)"                                             \
    "  AND (l.at IS NOT NULL OR ts.resolve_due <= now())),"                                 \
    " rsl_met AS (SELECT d.id FROM rsl_due d JOIN ticket_sla ts ON ts.ticket_id = d.id"     \
    "  JOIN last l ON l.ticket_id = d.id AND l.type = 'resolved'"                           \
    "  WHERE l.at <= ts.resolve_due),"                                                      \
    " breached AS ((SELECT id FROM rsp_due EXCEPT SELECT id FROM rsp_met)"                  \
    "  UNION (SELECT id FROM rsl_due EXCEPT SELECT id FROM rsl_met)),"                      \
    /* working times: started -> first reply, started -> last resolution */                 \
    " rsp_timed AS (SELECT t.id, ts.started_at AS a, t.first_response_at AS z"              \
    "  FROM tickets t JOIN ticket_sla ts ON ts.ticket_id = t.id, b"                         \
    "  WHERE t.first_response_at >= b.lo AND t.first_response_at < b.hi"                    \
    "  AND t.id IN (SELECT id FROM tf)),"                                                   \
    " rsl_timed AS (SELECT r.id, ts.started_at AS a, l.at AS z FROM res r"                  \
    "  JOIN ticket_sla ts ON ts.ticket_id = r.id JOIN last l ON l.ticket_id = r.id)"

/* The chat sets: chats started in the period with a requester message,
 * those that ended self-solved, and of those the honest deflections. */
#define CHAT_SETS                                                                           \
    BOUNDS ","                                                                              \
    " conv AS (SELECT c.id, c.requester_id, c.created_at FROM conversations c, b"           \
    "          WHERE c.created_at >= b.lo AND c.created_at < b.hi AND c.last_seq > 0),"     \
    " solved AS (SELECT conv.*, d.doc_id, d.at FROM conv JOIN deflections d"                \
    "            ON d.conversation_id = conv.id),"                                          \
    /* a recontact: another chat of the same requester within the window that  \
       was shown the same document, or any ticket raised in that time */                   \
    " honest AS (SELECT s.id, s.doc_id FROM solved s WHERE NOT EXISTS (SELECT 1"            \
    "   FROM conversations c2"                                                              \
    "   WHERE c2.requester_id = s.requester_id AND c2.id <> s.id AND c2.created_at > s.at"  \
    "   AND c2.created_at <= s.at + make_interval(days => $4::int)"                         \
    "   AND (EXISTS (SELECT 1 FROM conversation_suggestions g WHERE g.conversation_id = c2.id" \
    "                AND g.doc_id = s.doc_id)"                                              \
    "        OR EXISTS (SELECT 1 FROM tickets t WHERE t.conversation_id = c2.id))))"

/* The problem sets: opened in the period; resolved in it (the last
 * resolved / reopened event before the end is a resolution in the period). */
#define PROBLEM_SETS                                                                        \
    BOUNDS ","                                                                              \
    " op AS (SELECT p.id FROM problems p, b WHERE p.created_at >= b.lo"                     \
    "        AND p.created_at < b.hi),"                                                     \
    " pev AS (SELECT e.problem_id, e.type, e.at, row_number() OVER"                         \
    "        (PARTITION BY e.problem_id ORDER BY e.id DESC) AS n FROM problem_events e, b"  \
    "        WHERE e.type IN ('resolved', 'reopened') AND e.at < b.hi),"                    \
    " plast AS (SELECT problem_id, type, at FROM pev WHERE n = 1),"                         \
    " pres AS (SELECT l.problem_id AS id, l.at FROM plast l, b WHERE l.type = 'resolved'"   \
    "          AND l.at >= b.lo)"

static void bind(struct params *q, const struct store_report_period *p);
static PGresult *run_period(struct store *s, int *rc, const char *sql,
                            const struct store_report_period *p);

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
    if (p->channel[0] && strcmp(p->channel, "chat") != 0)
        return st_seterr(s, STORE_EINVALID,
                         "unknown channel '%.16s' (every ticket is raised from a chat: chat)",
                         p->channel);
    if (p->priority < 0 || p->priority > 4)
        return st_seterr(s, STORE_EINVALID, "priority is 1..4");
    struct params f = {0};
    p_str(&f, p->service);
    p_str(&f, p->team);
    r = st_run(s, &rc,
               "SELECT $1::text = '' OR EXISTS (SELECT 1 FROM services WHERE name = $1),"
               " $2::text = '' OR EXISTS (SELECT 1 FROM teams WHERE slug = $2)",
               &f);
    if (!r)
        return rc;
    int service_ok = g_bool(r, 0, 0), team_ok = g_bool(r, 0, 1);
    PQclear(r);
    if (!service_ok)
        return st_seterr(s, STORE_EINVALID, "unknown service '%.64s'", p->service);
    if (!team_ok)
        return st_seterr(s, STORE_EINVALID, "unknown team '%.33s'", p->team);
    return 0;
}

/* ---- working times ------------------------------------------------------------ */

/* The calendar versions met in one report, each parsed once. */
struct calcache {
    struct calentry {
        int64_t id;
        int version;
        struct kbcal cal;
        int ok;
    } *v;
    size_t n;
};

static void calcache_fin(struct calcache *c)
{
    for (size_t i = 0; i < c->n; i++)
        kbcal_fin(&c->v[i].cal);
    free(c->v);
    c->v = NULL;
    c->n = 0;
}

/* Working seconds of [a, z) in calendar version (id, version) whose JSON
 * is body; -1 when the body does not parse (never, for stored versions). */
static int64_t worked(struct calcache *c, int64_t id, int version, const char *body, int64_t a,
                      int64_t z)
{
    size_t i = 0;
    while (i < c->n && !(c->v[i].id == id && c->v[i].version == version))
        i++;
    if (i == c->n) {
        c->v = kb_xrealloc(c->v, (c->n + 1) * sizeof *c->v);
        struct calentry *e = &c->v[c->n++];
        e->id = id;
        e->version = version;
        e->ok = kbcal_from_json(body, strlen(body), &e->cal, NULL, 0) == 0;
        if (!e->ok)
            kbcal_init(&e->cal);
    }
    return c->v[i].ok ? kbcal_between(&c->v[i].cal, a, z) : -1;
}

/* The columns a timed set's rows carry after its own: the working-time
 * span and its calendar version (id, version, body). */
#define TIMED_COLS                                                                              EPOCH("x.a") ", " EPOCH("x.z") ", ts.calendar_id, ts.calendar_version, cv.body::text"
#define TIMED_JOIN                                                                              " JOIN ticket_sla ts ON ts.ticket_id = x.id JOIN calendar_versions cv"                      " ON cv.calendar_id = ts.calendar_id AND cv.version = ts.calendar_version"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Mean and 90th percentile (nearest rank: the ceil(0.9 n)-th smallest) of
 * the working hours of one timed set ("rsp_timed" / "rsl_timed"). */
static int timed(struct store *s, struct calcache *cc, const struct store_report_period *p,
                 const char *set, int *n, double *mean, double *p90)
{
    char sql[sizeof(TICKET_SETS) + 512];
    snprintf(sql, sizeof sql, "%s SELECT " TIMED_COLS " FROM %s x" TIMED_JOIN " ORDER BY x.id",
             TICKET_SETS, set);
    int rc = 0;
    PGresult *r = run_period(s, &rc, sql, p);
    if (!r)
        return rc;
    int rows = PQntuples(r);
    double *h = kb_xmalloc(((size_t)rows + 1) * sizeof *h), sum = 0;
    for (int i = 0; i < rows; i++) {
        int64_t w = worked(cc, g_i64(r, i, 2), g_int(r, i, 3), g_str(r, i, 4), g_i64(r, i, 0),
                           g_i64(r, i, 1));
        h[i] = w < 0 ? 0 : (double)w / 3600.0;
        sum += h[i];
    }
    PQclear(r);
    *n = rows;
    *mean = *p90 = -1;
    if (rows) {
        qsort(h, (size_t)rows, sizeof *h, cmp_double);
        *mean = sum / rows;
        int k = (9 * rows + 9) / 10; /* ceil(0.9 n) */
        *p90 = h[k - 1];
    }
    free(h);
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
    p_str(q, p->service);
    p_str(q, p->team);
    p_str(q, p->category);
    p_str(q, p->channel);
    p_i64(q, p->priority);
}

/* sql with the period's parameters ($1.. as bind() sets them); the result
 * (caller clears) or NULL with *rc set. */
static PGresult *run_period(struct store *s, int *rc, const char *sql,
                            const struct store_report_period *p)
{
    struct params q = {0};
    bind(&q, p);
    return st_run(s, rc, sql, &q);
}

/* The start of every public read: no transaction of its own (st_single),
 * then who asks and the period (check). */
static int begin_read(struct store *s, const char *op, int64_t viewer,
                      const struct store_report_period *p)
{
    int rc = st_single(s, op);
    return rc ? rc : check(s, viewer, p);
}

/* A public drill-down read: begin_read(op), then the rows of sql with the
 * period's parameters, each to row(r, i, ud) until one returns nonzero (as
 * st_rows). Returns 0 or STORE_E*. */
static int period_rows(struct store *s, const char *op, int64_t viewer,
                       const struct store_report_period *p, const char *sql,
                       int (*row)(const PGresult *r, int i, void *ud), void *ud)
{
    int rc = begin_read(s, op, viewer, p);
    if (rc)
        return rc;
    struct params q = {0};
    bind(&q, p);
    return st_rows(s, sql, &q, row, ud);
}

/* Runs sql (one row of integer columns) into the ints at v[0..n). */
static int ints(struct store *s, const char *sql, const struct store_report_period *p,
                int *const *v, int n)
{
    int rc = 0;
    PGresult *r = run_period(s, &rc, sql, p);
    if (!r)
        return rc;
    for (int i = 0; i < n; i++)
        *v[i] = g_int(r, 0, i);
    PQclear(r);
    return 0;
}

static const char SQL_DESK[] =
    TICKET_SETS
    " SELECT (SELECT count(*) FROM recv), (SELECT count(*) FROM res),"
    "  (SELECT count(*) FROM recv_res), (SELECT count(*) FROM fcr),"
    "  (SELECT count(*) FROM with_k), (SELECT count(*) FROM p1),"
    "  (SELECT count(*) FROM rt), (SELECT count(*) FROM rt_good),"
    "  (SELECT count(*) FROM cl), (SELECT count(*) FROM cl_rated),"
    "  (SELECT count(*) FROM rsp_due), (SELECT count(*) FROM rsp_met),"
    "  (SELECT count(*) FROM rsl_due), (SELECT count(*) FROM rsl_met),"
    "  (SELECT count(*) FROM breached), (SELECT count(*) FROM major)";

static const char SQL_CHAT[] =
    CHAT_SETS
    " SELECT (SELECT count(*) FROM conv), (SELECT count(*) FROM solved),"
    "  (SELECT count(*) FROM honest)";

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
    PROBLEM_SETS
    " SELECT (SELECT count(*) FROM op), (SELECT count(*) FROM pres),"
    "  (SELECT count(*) FROM op JOIN plast l ON l.problem_id = op.id AND l.type = 'resolved'),"
    "  (SELECT count(*) FROM problems WHERE status = 'known_error'),"
    "  coalesce((SELECT round(avg(extract(epoch FROM pres.at - p.created_at)) / 36)::bigint"
    "   FROM pres JOIN problems p ON p.id = pres.id), -100)";

static const char SQL_SEARCH[] =
    BOUNDS ","
    " sl AS (SELECT l.* FROM search_log l, b WHERE l.at >= b.lo AND l.at < b.hi)"
    " SELECT (SELECT count(*) FROM sl), (SELECT count(*) FROM sl WHERE hits = 0),"
    "  (SELECT count(*) FROM sl WHERE no_good_match), (SELECT count(*) FROM sl WHERE hits > 0),"
    "  (SELECT count(*) FROM sl WHERE hits > 0 AND EXISTS (SELECT 1 FROM knowledge_use u"
    "   WHERE u.person_id = sl.person_id AND u.kind IN ('opened', 'helpful')"
    "   AND u.at >= sl.at AND u.at < sl.at + interval '30 minutes'))";

static const char SQL_FOLLOWUP[] =
    BOUNDS
    " SELECT count(*), count(*) FILTER (WHERE outcome = 'recurred'),"
    "  count(*) FILTER (WHERE outcome = 'stayed_solved')"
    " FROM followups f, b WHERE f.at >= b.lo AND f.at < b.hi";

int store_search_log(struct store *s, const char *source, int64_t person, int64_t conv,
                     const char *query, int hits, double top_confidence, int no_good_match,
                     const char *top_doc)
{
    int rc = st_single(s, "search_log");
    if (rc)
        return rc;
    char q[4 * 200 + 1];
    size_t n = 0, chars = 0;
    for (const char *c = query ? query : ""; *c && chars < 200; chars++) {
        size_t len = 1;
        while ((c[len] & 0xC0) == 0x80)
            len++;
        memcpy(q + n, c, len);
        n += len;
        c += len;
    }
    q[n] = '\0';
    if (!n)
        return st_seterr(s, STORE_EINVALID, "a logged search needs its query");
    char conf[32];
    snprintf(conf, sizeof conf, "%.4f", top_confidence);
    struct params p = {0};
    p_str(&p, source);
    p_id(&p, person);
    p_id(&p, conv);
    p_str(&p, q);
    p_i64(&p, hits);
    p_str(&p, top_confidence < 0 ? NULL : conf);
    p_bool(&p, no_good_match);
    p_str(&p, top_doc);
    return st_exec(s,
                   "INSERT INTO search_log (source, person_id, conversation_id, query, hits,"
                   " top_confidence, no_good_match, top_doc)"
                   " VALUES ($1, $2, $3, $4, $5, $6::real, $7, $8)",
                   &p, NULL);
}

/* each query of the period: its count and how many had no good match */
#define QUERY_COUNTS                                                                     \
    BOUNDS " SELECT lower(l.query), count(*), count(*) FILTER (WHERE no_good_match)"     \
           " FROM search_log l, b WHERE l.at >= b.lo AND l.at < b.hi GROUP BY 1"

struct query_cb {
    int (*cb)(void *ud, const struct store_report_query *q);
    void *ud;
};

/* period_rows reader of store_report_queries. */
static int query_row(const PGresult *r, int i, void *arg)
{
    const struct query_cb *c = arg;
    struct store_report_query x = {g_str(r, i, 0), g_int(r, i, 1), g_int(r, i, 2)};
    return c->cb(c->ud, &x);
}

int store_report_queries(struct store *s, int64_t viewer, const struct store_report_period *p,
                         int gaps, int (*cb)(void *ud, const struct store_report_query *q),
                         void *ud)
{
    struct query_cb c = {cb, ud};
    return period_rows(s, "report_queries", viewer, p,
                       gaps ? QUERY_COUNTS " HAVING count(*) FILTER (WHERE no_good_match) > 0"
                                           " ORDER BY 3 DESC, 2 DESC, 1 LIMIT 20"
                            : QUERY_COUNTS " ORDER BY 2 DESC, 1 LIMIT 20",
                       query_row, &c);
}

int store_report_indicators(struct store *s, int64_t viewer, const struct store_report_period *p,
                            struct store_indicators *out)
{
    memset(out, 0, sizeof *out);
    int rc = begin_read(s, "report_indicators", viewer, p);
    if (rc)
        return rc;
    struct store_indicators *o = out;
    int mttr_centi = 0;
    rc = ints(s, SQL_DESK, p,
              (int *const[]){&o->received, &o->resolved, &o->received_resolved, &o->first_contact,
                             &o->tickets_with_knowledge, &o->priority1, &o->ratings,
                             &o->ratings_good, &o->closed, &o->closed_rated, &o->response_due,
                             &o->response_met, &o->resolve_due, &o->resolve_met, &o->breached,
                             &o->major_incidents},
              16);
    struct calcache cc = {0};
    if (rc == 0)
        rc = timed(s, &cc, p, "rsp_timed", &o->response_timed, &o->response_mean_hours,
                   &o->response_p90_hours);
    if (rc == 0)
        rc = timed(s, &cc, p, "rsl_timed", &o->resolve_timed, &o->resolve_mean_hours,
                   &o->resolve_p90_hours);
    calcache_fin(&cc);
    if (rc == 0)
        rc = ints(s, SQL_CHAT, p, (int *const[]){&o->conversations, &o->self_solved, &o->deflected},
                  3);
    if (rc == 0)
        rc = ints(s, SQL_KNOWLEDGE, p,
                  (int *const[]){&o->k_new, &o->k_updated, &o->k_retired, &o->k_past_review}, 4);
    if (rc == 0)
        rc = ints(s, SQL_PROBLEMS, p,
                  (int *const[]){&o->p_opened, &o->p_resolved, &o->p_opened_resolved,
                                 &o->p_open_known_errors, &mttr_centi},
                  5);
    if (rc == 0)
        rc = ints(s, SQL_SEARCH, p,
                  (int *const[]){&o->searches, &o->zero_result, &o->low_confidence,
                                 &o->searches_with_hits, &o->clicked},
                  5);
    int stayed = 0;
    if (rc == 0)
        rc = ints(s, SQL_FOLLOWUP, p,
                  (int *const[]){&o->followups, &o->followups_recurred, &stayed}, 3);
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
    o->zero_result_rate = rate(o->zero_result, o->searches);
    o->low_confidence_rate = rate(o->low_confidence, o->searches);
    o->click_through = rate(o->clicked, o->searches_with_hits);
    o->stayed_solved_rate = rate(stayed, stayed + o->followups_recurred);
    o->response_attainment = rate(o->response_met, o->response_due);
    o->resolve_attainment = rate(o->resolve_met, o->resolve_due);
    return 0;
}

/* per document: the chats it solved in the period, those that stayed solved
 * (no recontact about it within $4 days), and its use counts */
static const char SQL_DOCS[] =
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
    "    OR EXISTS (SELECT 1 FROM tickets t"
    "     WHERE t.conversation_id = c2.id))))"
    "  AS honest FROM solved s GROUP BY s.doc_id),"
    " use AS (SELECT u.doc_id,"
    "  count(*) FILTER (WHERE kind = 'shown') AS shown,"
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
    " ORDER BY 2 DESC, 4 DESC, 1 LIMIT 100";

struct doc_cb {
    int (*cb)(void *ud, const struct store_report_doc *d);
    void *ud;
};

/* period_rows reader of store_report_docs. */
static int doc_row(const PGresult *r, int i, void *arg)
{
    const struct doc_cb *c = arg;
    struct store_report_doc d = {g_str(r, i, 0), g_int(r, i, 1), g_int(r, i, 2), g_int(r, i, 3),
                                 g_int(r, i, 4), g_int(r, i, 5), g_int(r, i, 6)};
    return c->cb(c->ud, &d);
}

int store_report_docs(struct store *s, int64_t viewer, const struct store_report_period *p,
                      int (*cb)(void *ud, const struct store_report_doc *d), void *ud)
{
    struct doc_cb c = {cb, ud};
    return period_rows(s, "report_docs", viewer, p, SQL_DOCS, doc_row, &c);
}

/* per service and priority: responses and resolutions due and met */
static const char SQL_POLICIES[] =
    TICKET_SETS ","
    " x AS (SELECT id, 0 AS k FROM rsp_due UNION ALL SELECT id, 1 FROM rsp_met"
    "  UNION ALL SELECT id, 2 FROM rsl_due UNION ALL SELECT id, 3 FROM rsl_met)"
    " SELECT v.name, sp.priority, count(*) FILTER (WHERE x.k = 0),"
    "  count(*) FILTER (WHERE x.k = 1), count(*) FILTER (WHERE x.k = 2),"
    "  count(*) FILTER (WHERE x.k = 3)"
    " FROM x JOIN ticket_sla ts ON ts.ticket_id = x.id"
    " JOIN services v ON v.id = ts.service_id"
    " JOIN sla_policies sp ON sp.id = ts.policy_id"
    " GROUP BY 1, 2 ORDER BY 1, 2";

struct policy_cb {
    int (*cb)(void *ud, const struct store_report_policy *x);
    void *ud;
};

/* period_rows reader of store_report_policies. */
static int policy_row(const PGresult *r, int i, void *arg)
{
    const struct policy_cb *c = arg;
    struct store_report_policy x = {g_str(r, i, 0), g_int(r, i, 1), g_int(r, i, 2),
                                    g_int(r, i, 3), g_int(r, i, 4), g_int(r, i, 5)};
    return c->cb(c->ud, &x);
}

int store_report_policies(struct store *s, int64_t viewer, const struct store_report_period *p,
                          int (*cb)(void *ud, const struct store_report_policy *x), void *ud)
{
    struct policy_cb c = {cb, ud};
    return period_rows(s, "report_policies", viewer, p, SQL_POLICIES, policy_row, &c);
}

/* ---- drill-down ------------------------------------------------------------------ */

/* indicator -> its set; kind 0 tickets, 1 timed tickets, 2 problems, 3 chats */
static const struct itemset {
    const char *name, *set;
    int kind;
} ITEMSETS[] = {
    {"desk.received", "recv", 0},
    {"desk.resolved", "res", 0},
    {"desk.received_resolved", "recv_res", 0},
    {"desk.first_contact", "fcr", 0},
    {"desk.priority1", "p1", 0},
    {"desk.major_incidents", "major", 0},
    {"desk.conversations", "conv", 3},
    {"desk.self_solved", "solved", 3},
    {"desk.deflected", "honest", 3},
    {"satisfaction.ratings", "rt", 0},
    {"satisfaction.ratings_good", "rt_good", 0},
    {"satisfaction.closed", "cl", 0},
    {"satisfaction.closed_rated", "cl_rated", 0},
    {"knowledge.tickets_with_knowledge", "with_k", 0},
    {"timeliness.response_due", "rsp_due", 0},
    {"timeliness.response_met", "rsp_met", 0},
    {"timeliness.resolve_due", "rsl_due", 0},
    {"timeliness.resolve_met", "rsl_met", 0},
    {"timeliness.breached", "breached", 0},
    {"timeliness.response_timed", "rsp_timed", 1},
    {"timeliness.resolve_timed", "rsl_timed", 1},
    {"problems.opened", "op", 2},
    {"problems.resolved", "pres", 2},
};
#define NITEMSETS (sizeof ITEMSETS / sizeof ITEMSETS[0])

#define ITEM_TICKET_COLS                                                                    \
    " t.number, t.summary, t.status, (SELECT v.name FROM ticket_sla s2 JOIN services v"     \
    " ON v.id = s2.service_id WHERE s2.ticket_id = t.id), t.resolution, t.priority"

int store_report_items(struct store *s, int64_t viewer, const struct store_report_period *p,
                       const char *indicator,
                       int (*cb)(void *ud, const struct store_report_item *it), void *ud)
{
    const struct itemset *set = NULL;
    for (size_t i = 0; indicator && i < NITEMSETS; i++)
        if (strcmp(ITEMSETS[i].name, indicator) == 0)
            set = &ITEMSETS[i];
    int rc = begin_read(s, "report_items", viewer, p);
    if (rc)
        return rc;
    if (!set)
        return st_seterr(s, STORE_ENOTFOUND, "no list behind indicator '%.64s'",
                         indicator ? indicator : "");
    char sql[sizeof(TICKET_SETS) + 1024];
    switch (set->kind) {
    case 0:
        snprintf(sql, sizeof sql,
                 "%s SELECT" ITEM_TICKET_COLS " FROM (SELECT DISTINCT id FROM %s) x"
                 " JOIN tickets t ON t.id = x.id ORDER BY t.id",
                 TICKET_SETS, set->set);
        break;
    case 1:
        snprintf(sql, sizeof sql,
                 "%s SELECT" ITEM_TICKET_COLS ", " TIMED_COLS " FROM %s x"
                 " JOIN tickets t ON t.id = x.id" TIMED_JOIN " ORDER BY t.id",
                 TICKET_SETS, set->set);
        break;
    case 2:
        snprintf(sql, sizeof sql,
                 "%s SELECT pr.number, pr.summary, pr.status, pr.service,"
                 " nullif(concat_ws(' / ', nullif(pr.root_cause, ''), nullif(pr.fix, '')), ''), 0"
                 " FROM %s x JOIN problems pr ON pr.id = x.id ORDER BY pr.id",
                 PROBLEM_SETS, set->set);
        break;
    default:
        snprintf(sql, sizeof sql,
                 "%s SELECT x.id::text, %s, c.status, NULL, NULL, 0"
                 " FROM %s x JOIN conversations c ON c.id = x.id ORDER BY x.id",
                 CHAT_SETS, strcmp(set->set, "conv") == 0 ? "NULL" : "x.doc_id", set->set);
    }
    PGresult *r = run_period(s, &rc, sql, p);
    if (!r)
        return rc;
    static const char *const kinds[] = {"ticket", "ticket", "problem", "conversation"};
    struct calcache cc = {0};
    for (int i = 0; i < PQntuples(r); i++) {
        struct store_report_item it = {kinds[set->kind], g_str(r, i, 0), g_str(r, i, 1),
                                       g_str(r, i, 2), g_str(r, i, 3), g_str(r, i, 4),
                                       g_int(r, i, 5), -1};
        if (set->kind == 1) {
            int64_t w = worked(&cc, g_i64(r, i, 8), g_int(r, i, 9), g_str(r, i, 10),
                               g_i64(r, i, 6), g_i64(r, i, 7));
            it.hours = w < 0 ? 0 : (double)w / 3600.0;
        }
        if (cb(ud, &it))
            break;
    }
    calcache_fin(&cc);
    PQclear(r);
    return 0;
}
