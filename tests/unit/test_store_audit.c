/* Unit tests for the audit log (shared/store/store_audit.c): rows chain
 * and verify; an edited row, a deleted row in the middle and deleted newest
 * rows are each named by verify; the table refuses UPDATE and DELETE;
 * retention keeps the rest verifiable; only administrators search it; bad
 * entries are refused, against a real
 * PostgreSQL 15 server started with scripts/pg.sh in a fresh temporary
 * directory, with shared/store/migrations applied; the teardown destroys
 * it. Run from the repository root (scripts/testrun.sh does). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "../../chatdesk/auth.h"
#include "kb_doc.h"
#include "store.h"
#define PGS_ONE_GROUP
#include "pgstore.h"

PGS_GROUP("kbaudit")

/* ---- helpers of this file ------------------------------------------------- */

static void add_read(int64_t actor, const char *type, const char *id)
{
    json_t *d = json_pack("{s:s}", "via", "test");
    struct store_audit_entry e = {actor, "agent", "127.0.0.1", "read", type, id, d};
    OK(store_audit_add(g.s, &e));
    json_decref(d);
}

/* Runs sql as the superuser with the table's guard off (what an intruder
 * with database access would do). */
static void tamper(const char *sql)
{
    char buf[512];
    snprintf(buf, sizeof buf,
             "BEGIN; ALTER TABLE audit_log DISABLE TRIGGER audit_log_guard; %s;"
             " ALTER TABLE audit_log ENABLE TRIGGER audit_log_guard; COMMIT", sql);
    PGresult *r = PQexec(g.pg, buf);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        fail_msg("tamper: %s", PQresultErrorMessage(r));
    PQclear(r);
}

static void expect_bad(long long id, const char *word)
{
    struct store_audit_check c;
    OK(store_audit_verify(g.s, &c));
    assert_false(c.ok);
    assert_int_equal(c.bad_id, id);
    if (!strstr(c.why, word))
        fail_msg("why: %s (wanted %s)", c.why, word);
}

/* ---- tests ------------------------------------------------------------------ */

static void chain_verifies_and_names_the_tampered_row(void **state)
{
    (void)state;
    int64_t a = mk_agent();
    for (int i = 0; i < 6; i++) {
        char id[32];
        snprintf(id, sizeof id, "INC-%06d", i + 1);
        add_read(a, "ticket", id);
    }
    struct store_audit_check c;
    OK(store_audit_verify(g.s, &c));
    assert_true(c.ok);
    assert_int_equal(c.rows, 6);
    /* the guard refuses edits and deletions */
    PGresult *r = PQexec(g.pg, "UPDATE audit_log SET object_id = 'x' WHERE id = 2");
    assert_int_not_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    r = PQexec(g.pg, "DELETE FROM audit_log WHERE id = 2");
    assert_int_not_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    /* an edited row is named */
    long long second = q_ll("SELECT min(id) + 1 FROM audit_log", NULL);
    char sql[256];
    snprintf(sql, sizeof sql, "UPDATE audit_log SET object_id = 'INC-999999' WHERE id = %lld",
             second);
    tamper(sql);
    expect_bad(second, "changed");
    snprintf(sql, sizeof sql, "UPDATE audit_log SET object_id = 'INC-000002' WHERE id = %lld",
             second);
    tamper(sql);
    OK(store_audit_verify(g.s, &c));
    assert_true(c.ok); /* put back exactly: whole again */
    /* a row deleted in the middle: the next one is named */
    snprintf(sql, sizeof sql, "DELETE FROM audit_log WHERE id = %lld", second + 1);
    tamper(sql);
    expect_bad(second + 2, "deleted");
}

static void deleted_newest_rows_and_retention(void **state)
{
    (void)state;
    /* a fresh chain: remove what the test before left */
    tamper("DELETE FROM audit_log");
    PGresult *r = PQexec(g.pg, "UPDATE audit_tip SET hash = anchor");
    PQclear(r);
    int64_t a = mk_agent();
    for (int i = 0; i < 4; i++)
        add_read(a, "knowledge", "KE-D000001");
    struct store_audit_check c;
    OK(store_audit_verify(g.s, &c));
    assert_true(c.ok);
    tamper("DELETE FROM audit_log WHERE id = (SELECT max(id) FROM audit_log)");
    OK(store_audit_verify(g.s, &c));
    assert_false(c.ok);
    assert_int_equal(c.bad_id, 0);
    assert_non_null(strstr(c.why, "newest"));
    /* back to whole: the tip follows the last row left */
    r = PQexec(g.pg, "UPDATE audit_tip SET hash = (SELECT hash FROM audit_log ORDER BY id DESC"
                     " LIMIT 1)");
    PQclear(r);
    OK(store_audit_verify(g.s, &c));
    assert_true(c.ok);
    /* retention: the two oldest rows are made old; purge keeps the rest verifiable */
    tamper("UPDATE audit_log SET at = at - interval '40 days' WHERE id IN (SELECT id FROM"
           " audit_log ORDER BY id LIMIT 2)");
    /* (their hashes no longer match: purge removes exactly them) */
    int n = 0;
    OK(store_audit_purge(g.s, 30, &n));
    assert_int_equal(n, 2);
    OK(store_audit_verify(g.s, &c));
    assert_true(c.ok);
    assert_int_equal(c.rows, 1);
    assert_int_equal(store_audit_purge(g.s, 0, &n), STORE_EINVALID);
}

static int count_rows(void *ud, const struct store_audit_row *r)
{
    (void)r;
    (*(int *)ud)++;
    return 0;
}

static void search_is_for_admins_and_bad_entries_refused(void **state)
{
    (void)state;
    int64_t a = mk_agent();
    add_read(a, "problem", "PRB-000001");
    struct store_audit_query q = {.object_type = "problem", .object_id = "PRB-000001",
                                  .limit = 10};
    int n = 0;
    assert_int_equal(store_audit_search(g.s, a, &q, count_rows, &n), STORE_EFORBIDDEN);
    assert_int_equal(store_audit_search(g.s, mk_requester(), &q, count_rows, &n),
                     STORE_EFORBIDDEN);
    int64_t admin = mk_agent();
    char idbuf[24];
    snprintf(idbuf, sizeof idbuf, "%lld", (long long)admin);
    PGresult *r = PQexecParams(g.pg, "UPDATE people SET role = 'admin' WHERE id = $1::bigint", 1, NULL,
                     (const char *[]){idbuf}, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    OK(store_audit_search(g.s, admin, &q, count_rows, &n));
    assert_int_equal(n, 1);
    long long before = q_ll("SELECT count(*) FROM audit_log", NULL);
    struct store_audit_entry bad1 = {a, "agent", NULL, "peek", "ticket", "INC-1", NULL};
    struct store_audit_entry bad2 = {a, "agent", NULL, "read", "spaceship", "x", NULL};
    struct store_audit_entry bad3 = {a, "agent", NULL, "read", "ticket", "", NULL};
    assert_int_equal(store_audit_add(g.s, &bad1), STORE_EINVALID);
    assert_int_equal(store_audit_add(g.s, &bad2), STORE_EINVALID);
    assert_int_equal(store_audit_add(g.s, &bad3), STORE_EINVALID);
    assert_int_equal(q_ll("SELECT count(*) FROM audit_log", NULL), before);
    struct store_audit_query big = {.limit = 1001};
    assert_int_equal(store_audit_search(g.s, admin, &big, count_rows, &n), STORE_EINVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(chain_verifies_and_names_the_tampered_row),
        cmocka_unit_test(deleted_newest_rows_and_retention),
        cmocka_unit_test(search_is_for_admins_and_bad_entries_refused),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
