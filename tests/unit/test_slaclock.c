/* Unit tests for shared/kb_slaclock: deadlines of a clock that pauses
 * (a ticket waiting for its requester). On a 5x8 calendar built here
 * (09:00-12:00, 13:00-18:00, +08:00, Wednesday 2026-03-04 a holiday) and on
 * the shipped China calendar across the National Day holiday: a pause over
 * working hours pushes the deadline by exactly the paused working time, a
 * pause over a night or a holiday by nothing, an open pause counts up to
 * "now", a deadline reached before a pause stays, a change of target (a
 * new priority) during a pause keeps the paused time earned; random pauses
 * checked against the identity between(start, due) - paused-in-[start,due)
 * == target, counted with kbcal_between alone; bad input refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kb_calendar.h"
#include "kb_slaclock.h"

#define H 3600
#define M 60

static const char *CAL = "{\"utc_offset\":\"+08:00\",\"week\":{"
                         "\"mon\":[\"09:00-12:00\",\"13:00-18:00\"],"
                         "\"tue\":[\"09:00-12:00\",\"13:00-18:00\"],"
                         "\"wed\":[\"09:00-12:00\",\"13:00-18:00\"],"
                         "\"thu\":[\"09:00-12:00\",\"13:00-18:00\"],"
                         "\"fri\":[\"09:00-12:00\",\"13:00-18:00\"],"
                         "\"sat\":[],\"sun\":[]},\"holidays\":[\"2026-03-04\"]}";

static void parse(struct kbcal *c, const char *json)
{
    char err[256] = "";
    if (kbcal_from_json(json, strlen(json), c, err, sizeof err))
        fail_msg("%s", err);
}

#define AT(d, h, mi) kbcal_instant(&c, 2026, 3, d, h, mi, 0)

static int64_t due(const struct kbcal *c, int64_t start, int64_t secs,
                   const struct kbclock_pause *p, size_t n, int64_t now)
{
    int64_t out = -1;
    assert_int_equal(kbclock_due(c, start, secs, p, n, now, &out), 0);
    return out;
}

static void no_pause_is_kbcal_add(void **state)
{
    (void)state;
    struct kbcal c;
    parse(&c, CAL);
    assert_int_equal(kbcal_weekday(kbcal_day_of(2026, 3, 2)), 0); /* a Monday */
    int64_t want;
    assert_int_equal(kbcal_add(&c, AT(2, 10, 0), 8 * H, &want), 0);
    assert_int_equal(want, AT(3, 10, 0));
    assert_int_equal(due(&c, AT(2, 10, 0), 8 * H, NULL, 0, 0), want);
    kbcal_fin(&c);
}

static void pause_across_a_night(void **state)
{
    (void)state;
    struct kbcal c;
    parse(&c, CAL);
    /* Mon 10:00, 8 working hours: Tue 10:00. Paused Mon 17:00 .. Tue 10:00:
     * 1 h of Monday and 1 h of Tuesday paused, the night not counted */
    struct kbclock_pause p = {AT(2, 17, 0), AT(3, 10, 0)};
    assert_int_equal(kbclock_paused(&c, &p, 1, 0), 2 * H);
    assert_int_equal(due(&c, AT(2, 10, 0), 8 * H, &p, 1, 0), AT(3, 12, 0));
    /* a pause over the night only (18:30 .. 08:30) moves nothing */
    struct kbclock_pause night = {AT(2, 18, 30), AT(3, 8, 30)};
    assert_int_equal(kbclock_paused(&c, &night, 1, 0), 0);
    assert_int_equal(due(&c, AT(2, 10, 0), 8 * H, &night, 1, 0), AT(3, 10, 0));
    kbcal_fin(&c);
}

static void pause_across_a_holiday(void **state)
{
    (void)state;
    struct kbcal c;
    parse(&c, CAL);
    /* Tue 17:00, 4 h: 1 h on Tuesday, Wednesday a holiday, Thu 12:00 */
    int64_t start = AT(3, 17, 0);
    assert_int_equal(due(&c, start, 4 * H, NULL, 0, 0), AT(5, 12, 0));
    /* paused from Tuesday's closing to Thursday's opening: nothing earned */
    struct kbclock_pause off = {AT(3, 18, 0), AT(5, 9, 0)};
    assert_int_equal(kbclock_paused(&c, &off, 1, 0), 0);
    assert_int_equal(due(&c, start, 4 * H, &off, 1, 0), AT(5, 12, 0));
    /* Tue 17:30 .. Thu 10:00: 0.5 h + 1 h earned; 3.5 h left at Thu 10:00:
     * 10-12 and 13:00-14:30 */
    struct kbclock_pause p = {AT(3, 17, 30), AT(5, 10, 0)};
    assert_int_equal(kbclock_paused(&c, &p, 1, 0), 90 * M);
    assert_int_equal(due(&c, start, 4 * H, &p, 1, 0), AT(5, 14, 30));
    kbcal_fin(&c);
}

static void open_pause_counts_to_now(void **state)
{
    (void)state;
    struct kbcal c;
    parse(&c, CAL);
    /* Mon 10:00, 8 h, paused from 11:00 and still paused at 15:00: 3 h
     * earned (11-12, 13-15); as if it resumed at 15:00: 7 h left: Mon
     * 15-18, Tue 9-12, 13-14 */
    struct kbclock_pause p = {AT(2, 11, 0), 0};
    assert_int_equal(kbclock_paused(&c, &p, 1, AT(2, 15, 0)), 3 * H);
    assert_int_equal(due(&c, AT(2, 10, 0), 8 * H, &p, 1, AT(2, 15, 0)), AT(3, 14, 0));
    /* at the pause's first instant the deadline is the running clock's */
    assert_int_equal(due(&c, AT(2, 10, 0), 8 * H, &p, 1, AT(2, 11, 0)), AT(3, 10, 0));
    /* the deadline moves later while the pause lasts */
    assert_true(due(&c, AT(2, 10, 0), 8 * H, &p, 1, AT(3, 9, 30)) >
                due(&c, AT(2, 10, 0), 8 * H, &p, 1, AT(2, 15, 0)));
    kbcal_fin(&c);
}

static void deadline_before_the_pause_stays(void **state)
{
    (void)state;
    struct kbcal c;
    parse(&c, CAL);
    struct kbclock_pause p = {AT(2, 14, 0), AT(2, 16, 0)};
    assert_int_equal(due(&c, AT(2, 10, 0), H, &p, 1, 0), AT(2, 11, 0));
    /* reached exactly as the pause begins: that instant */
    assert_int_equal(due(&c, AT(2, 10, 0), 3 * H, &p, 1, 0), AT(2, 14, 0));
    /* a pause wholly before the clock started is ignored */
    struct kbclock_pause early = {AT(2, 9, 0), AT(2, 9, 30)};
    assert_int_equal(due(&c, AT(2, 10, 0), H, &early, 1, 0), AT(2, 11, 0));
    kbcal_fin(&c);
}

static void new_target_during_a_pause_keeps_earned_time(void **state)
{
    (void)state;
    struct kbcal c;
    parse(&c, CAL);
    /* two pauses already over (Mon 11-12: 1 h; Mon 17:00 .. Tue 10:00: 2 h)
     * and one open since Tue 14:00, "now" Tue 16:00 (2 h more). A P2 target
     * of 8 h becomes a P1 target of 4 h: whatever the target, the deadline
     * is the target plus every paused working hour after the start */
    struct kbclock_pause p[] = {{AT(2, 11, 0), AT(2, 12, 0)},
                                {AT(2, 17, 0), AT(3, 10, 0)},
                                {AT(3, 14, 0), 0}};
    int64_t now = AT(3, 16, 0), start = AT(2, 10, 0);
    assert_int_equal(kbclock_paused(&c, p, 3, now), 5 * H);
    /* 4 h: 1 h before the first pause (10-11), 0 between 12:00 and 13:00, Mon
     * 13-17 gives 4 h: reached Mon 16:00, before the second pause */
    assert_int_equal(due(&c, start, 4 * H, p, 3, now), AT(2, 16, 0));
    /* 8 h: 10-11, 13-17 (5 h), Tue 10-12, 13-14 (8 h) at Tue 14:00 exactly as
     * the open pause begins */
    assert_int_equal(due(&c, start, 8 * H, p, 3, now), AT(3, 14, 0));
    /* 10 h: 2 h after the open pause ends ("now" 16:00): Tue 16-18 */
    assert_int_equal(due(&c, start, 10 * H, p, 3, now), AT(3, 18, 0));
    /* identity: between(start, due) minus the paused working time before due */
    int64_t d = due(&c, start, 10 * H, p, 3, now);
    assert_int_equal(kbcal_between(&c, start, d) - kbclock_paused(&c, p, 3, now), 10 * H);
    kbcal_fin(&c);
}

static void shipped_calendar_national_day(void **state)
{
    (void)state;
    json_error_t je;
    json_t *root = json_load_file("corpora/calendars/cn-2026-2027.json", 0, &je);
    assert_non_null(root);
    json_t *cal = NULL, *v;
    size_t i;
    json_array_foreach(json_object_get(root, "calendars"), i, v) {
        if (strcmp(json_string_value(json_object_get(v, "name")), "cn-5x8") == 0)
            cal = v;
    }
    assert_non_null(cal);
    char *js = json_dumps(cal, 0);
    struct kbcal c;
    parse(&c, js);
    free(js);
    json_decref(root);
    /* a ticket of Wed 30 September 16:00 waiting for its requester from
     * 17:00 over the whole holiday until Thu 8 October 08:30: 0.5 h of
     * the 30th earned, none of the holiday; 4 h target */
    int64_t start = kbcal_instant(&c, 2026, 9, 30, 16, 0, 0);
    struct kbclock_pause p = {kbcal_instant(&c, 2026, 9, 30, 17, 0, 0),
                              kbcal_instant(&c, 2026, 10, 8, 8, 30, 0)};
    int64_t plain = 0;
    assert_int_equal(kbcal_add(&c, start, 4 * H, &plain), 0);
    assert_int_equal(kbclock_paused(&c, &p, 1, 0), 30 * M);
    assert_int_equal(due(&c, start, 4 * H, &p, 1, 0), plain + 30 * M);
    kbcal_fin(&c);
}

/* random pauses against the identity, counted with kbcal_between alone */
static void random_pauses(void **state)
{
    (void)state;
    struct kbcal c;
    parse(&c, CAL);
    srand(20261205);
    for (int round = 0; round < 400; round++) {
        int64_t start = AT(2, 0, 0) + (rand() % (7 * 24 * 4)) * 15 * M;
        int64_t secs = (rand() % (40 * 4)) * 15 * M;
        struct kbclock_pause p[4];
        int64_t t = start - 6 * H;
        size_t n = (size_t)(rand() % 5);
        for (size_t i = 0; i < n; i++) {
            p[i].start = t + (rand() % 48) * 30 * M;
            p[i].end = p[i].start + (rand() % 48) * 30 * M;
            t = p[i].end;
        }
        int64_t d = due(&c, start, secs, p, n, 0);
        /* working time in [start, d) outside the pauses == secs */
        int64_t run = kbcal_between(&c, start, d);
        for (size_t i = 0; i < n; i++) {
            int64_t a = p[i].start > start ? p[i].start : start;
            int64_t b = p[i].end < d ? p[i].end : d;
            run -= kbcal_between(&c, a, b);
        }
        assert_int_equal(run, secs);
        /* and due is the first such instant: one working second earlier, less */
        if (secs > 0)
            assert_true(kbcal_is_working(&c, d - 1) || d == start);
    }
    kbcal_fin(&c);
}

static void bad_input(void **state)
{
    (void)state;
    struct kbcal c;
    parse(&c, CAL);
    int64_t out = 7;
    assert_int_equal(kbclock_due(&c, AT(2, 10, 0), -1, NULL, 0, 0, &out), KBCAL_E_INVAL);
    struct kbclock_pause backwards = {AT(2, 12, 0), AT(2, 11, 0)};
    assert_int_equal(kbclock_due(&c, AT(2, 10, 0), H, &backwards, 1, 0, &out), KBCAL_E_INVAL);
    struct kbclock_pause order[] = {{AT(2, 14, 0), AT(2, 15, 0)}, {AT(2, 11, 0), AT(2, 12, 0)}};
    assert_int_equal(kbclock_due(&c, AT(2, 10, 0), H, order, 2, 0, &out), KBCAL_E_INVAL);
    kbcal_fin(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_pause_is_kbcal_add),
        cmocka_unit_test(pause_across_a_night),
        cmocka_unit_test(pause_across_a_holiday),
        cmocka_unit_test(open_pause_counts_to_now),
        cmocka_unit_test(deadline_before_the_pause_stays),
        cmocka_unit_test(new_target_during_a_pause_keeps_earned_time),
        cmocka_unit_test(shipped_calendar_national_day),
        cmocka_unit_test(random_pauses),
        cmocka_unit_test(bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
