/* store_rows: the two steps every list read of the store shares: opening a
 * paged list (its operation and the bounds of its page size) and handing
 * the rows of one statement, one at a time, to a reader that fills the
 * caller's struct and calls the caller's callback. The SQL and the columns
 * stay with each aggregate's file. */
#include "store_int.h"

int st_list_open(struct store *s, const char *op, int limit, int max)
{
    int rc = st_single(s, op);
    if (rc == 0 && (limit < 1 || limit > max))
        rc = st_seterr(s, STORE_EINVALID, "limit must be 1..%d", max);
    return rc;
}

int st_rows(struct store *s, const char *sql, const struct params *p,
            int (*row)(const PGresult *r, int i, void *ud), void *ud)
{
    int rc = 0;
    PGresult *r = st_run(s, &rc, sql, p);
    if (!r)
        return rc;
    for (int i = 0; i < PQntuples(r); i++)
        if (row(r, i, ud))
            break;
    PQclear(r);
    return 0;
}
