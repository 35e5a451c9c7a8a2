/* store_followup: follow-ups after closing (see store_followup.h). */
#include "store_int.h"

#include <string.h>

int store_followup_record(struct store *s, const char *number, int64_t agent, const char *outcome,
                          const char *note)
{
    int rc = st_begin(s, "followup_record");
    if (rc)
        return rc;
    rc = st_staff_only(s, agent, "follow-ups");
    if (rc == 0 && (!outcome || (strcmp(outcome, "stayed_solved") != 0 &&
                                 strcmp(outcome, "recurred") != 0 &&
                                 strcmp(outcome, "no_answer") != 0)))
        rc = st_seterr(s, STORE_EINVALID, "outcome is stayed_solved, recurred or no_answer");
    if (rc == 0)
        rc = st_text_ok(s, "note", note, 1, 2000);
    int64_t id = 0;
    if (rc == 0) {
        struct params p = {0};
        p_str(&p, number ? number : "");
        PGresult *r = st_run_row(s, &rc, "SELECT id, status FROM tickets WHERE number = $1", &p,
                                 "no such ticket %s", number ? number : "");
        if (r) {
            if (strcmp(g_str(r, 0, 1), "closed") != 0)
                rc = st_seterr(s, STORE_EINVALID, "%s is not closed: follow up once it is",
                               number);
            else
                id = g_i64(r, 0, 0);
            PQclear(r);
        }
    }
    if (rc == 0) {
        struct params p = {0};
        p_i64(&p, id);
        p_i64(&p, agent);
        p_str(&p, outcome);
        p_str(&p, note && *note ? note : NULL);
        rc = st_exec(s,
                     "INSERT INTO followups (ticket_id, agent_id, outcome, note)"
                     " VALUES ($1, $2, $3, $4)",
                     &p, NULL);
        if (rc == STORE_ECONFLICT)
            rc = st_seterr(s, STORE_ECONFLICT, "%s has its follow-up already", number);
    }
    return st_finish(s, rc);
}

int store_followup_due(struct store *s, int64_t viewer, int days,
                       int (*cb)(void *ud, const struct store_followup_due *f), void *ud)
{
    int rc = st_single(s, "followup_due");
    if (rc == 0)
        rc = st_staff_only(s, viewer, "follow-ups");
    if (rc == 0 && (days < 1 || days > 90))
        rc = st_seterr(s, STORE_EINVALID, "days must be 1..90");
    if (rc)
        return rc;
    struct params p = {0};
    p_i64(&p, days);
    PGresult *r = st_run(s, &rc,
                         "SELECT t.number, t.summary, pe.name, " EPOCH("t.closed_at")
                         " FROM tickets t JOIN people pe ON pe.id = t.requester_id"
                         " WHERE t.status = 'closed'"
                         " AND t.closed_at > now() - make_interval(days => $1::int)"
                         " AND NOT EXISTS (SELECT 1 FROM followups f WHERE f.ticket_id = t.id)"
                         " ORDER BY t.closed_at LIMIT 200",
                         &p);
    if (!r)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        struct store_followup_due f;
        memset(&f, 0, sizeof f);
        g_copy(f.number, sizeof f.number, r, i, 0);
        f.summary = g_str(r, i, 1);
        f.requester = g_str(r, i, 2);
        f.closed_at = g_i64(r, i, 3);
        if (cb(ud, &f))
            break;
    }
    PQclear(r);
    return 0;
}
