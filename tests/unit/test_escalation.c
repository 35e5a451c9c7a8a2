/* Unit tests for the pure parts of shared/store/store_escalation.c:
 * escalation rule matching (service, priority, kind, target, each left
 * open or not) and the quiet-hours arithmetic (inside or outside, an
 * interval within a day and one over midnight, zones east and west of
 * UTC, the edges, no quiet hours), the latter checked against a
 * minute-by-minute walk written independently. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "store.h"

static struct store_esc_rule rule(int64_t svc, int prio, const char *on, const char *target)
{
    struct store_esc_rule r = {.service_id = svc, .priority = prio};
    strcpy(r.on_kind, on);
    strcpy(r.target, target);
    return r;
}

static void rules_match(void **state)
{
    (void)state;
    struct store_esc_rule any = rule(0, 0, "breach", "");
    assert_true(store_esc_matches(&any, 7, 3, "breach", "response"));
    assert_true(store_esc_matches(&any, 1, 1, "breach", "resolution"));
    assert_false(store_esc_matches(&any, 7, 3, "warning", "response"));
    assert_false(store_esc_matches(&any, 7, 3, NULL, "response"));

    struct store_esc_rule svc = rule(7, 0, "warning", "");
    assert_true(store_esc_matches(&svc, 7, 4, "warning", "resolution"));
    assert_false(store_esc_matches(&svc, 8, 4, "warning", "resolution"));

    struct store_esc_rule prio = rule(0, 1, "breach", "response");
    assert_true(store_esc_matches(&prio, 9, 1, "breach", "response"));
    assert_false(store_esc_matches(&prio, 9, 2, "breach", "response"));
    assert_false(store_esc_matches(&prio, 9, 1, "breach", "resolution"));
    assert_false(store_esc_matches(&prio, 9, 1, "breach", NULL));

    struct store_esc_rule all = rule(3, 2, "warning", "resolution");
    assert_true(store_esc_matches(&all, 3, 2, "warning", "resolution"));
    assert_false(store_esc_matches(&all, 3, 2, "breach", "resolution"));
    assert_false(store_esc_matches(&all, 4, 2, "warning", "resolution"));
    assert_false(store_esc_matches(&all, 3, 3, "warning", "resolution"));
}

/* 2026-03-02 00:00:00 UTC, a Monday */
#define DAY0 1772409600LL

static void quiet_within_a_day(void **state)
{
    (void)state;
    const int32_t cst = 8 * 3600; /* Asia/Shanghai */
    /* 12:00-14:00 local = 04:00-06:00 UTC */
    assert_int_equal(store_quiet_end(DAY0 + 4 * 3600, cst, 720, 840), DAY0 + 6 * 3600);
    assert_int_equal(store_quiet_end(DAY0 + 5 * 3600 + 59 * 60 + 59, cst, 720, 840),
                     DAY0 + 6 * 3600);
    assert_int_equal(store_quiet_end(DAY0 + 6 * 3600, cst, 720, 840), 0); /* end excluded */
    assert_int_equal(store_quiet_end(DAY0 + 4 * 3600 - 1, cst, 720, 840), 0);
    assert_int_equal(store_quiet_end(DAY0 + 12 * 3600, cst, 720, 840), 0);
    /* equal bounds or out of range: no quiet hours */
    assert_int_equal(store_quiet_end(DAY0, cst, 600, 600), 0);
    assert_int_equal(store_quiet_end(DAY0, cst, -1, 600), 0);
    assert_int_equal(store_quiet_end(DAY0, cst, 0, 1440), 0);
}

static void quiet_over_midnight(void **state)
{
    (void)state;
    const int32_t cst = 8 * 3600;
    /* 20:00-08:00 local = 12:00-24:00 UTC of the day before and 00:00 UTC */
    /* 21:00 local (13:00 UTC): ends at 08:00 local next day = 00:00 UTC next day */
    assert_int_equal(store_quiet_end(DAY0 + 13 * 3600, cst, 1200, 480), DAY0 + 86400);
    /* 07:30 local (23:30 UTC the day before): ends 30 minutes later */
    assert_int_equal(store_quiet_end(DAY0 - 1800, cst, 1200, 480), DAY0);
    /* 08:00 local exactly: over */
    assert_int_equal(store_quiet_end(DAY0, cst, 1200, 480), 0);
    /* 19:59 local: not yet */
    assert_int_equal(store_quiet_end(DAY0 + 11 * 3600 + 59 * 60, cst, 1200, 480), 0);
    /* a zone west of UTC (-05:00): 22:00-06:00 local is 03:00-11:00 UTC */
    assert_int_equal(store_quiet_end(DAY0 + 3 * 3600, -5 * 3600, 1320, 360), DAY0 + 11 * 3600);
    assert_int_equal(store_quiet_end(DAY0 + 11 * 3600, -5 * 3600, 1320, 360), 0);
    /* before 1970 too (negative instants) */
    assert_int_equal(store_quiet_end(-86400 + 3600, 0, 0, 120), -86400 + 7200);
}

/* Every minute of two days against a walk: inside iff the local minute is
 * in the interval; the end is the first later minute outside. */
static void quiet_matches_a_walk(void **state)
{
    (void)state;
    const int spans[][2] = {{0, 1}, {1439, 0}, {600, 660}, {1320, 360}, {30, 29}, {1, 1439}};
    const int32_t offs[] = {0, 8 * 3600, -5 * 3600, 5 * 3600 + 1800, 14 * 3600};
    for (size_t o = 0; o < sizeof offs / sizeof *offs; o++)
        for (size_t k = 0; k < sizeof spans / sizeof *spans; k++) {
            int from = spans[k][0], to = spans[k][1];
            for (int64_t t = DAY0; t < DAY0 + 2 * 86400; t += 60) {
                int m = (int)((((t + offs[o]) % 86400) + 86400) % 86400 / 60);
                int in = from < to ? (m >= from && m < to) : (m >= from || m < to);
                int64_t end = store_quiet_end(t, offs[o], from, to);
                if (!in) {
                    assert_int_equal(end, 0);
                    continue;
                }
                int64_t u = t;
                for (;;) {
                    u += 60;
                    int mu = (int)((((u + offs[o]) % 86400) + 86400) % 86400 / 60);
                    if (!(from < to ? (mu >= from && mu < to) : (mu >= from || mu < to)))
                        break;
                }
                assert_int_equal(end, u);
            }
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rules_match),
        cmocka_unit_test(quiet_within_a_day),
        cmocka_unit_test(quiet_over_midnight),
        cmocka_unit_test(quiet_matches_a_walk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
