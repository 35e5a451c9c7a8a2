/* Unit tests for shared/kb_calendar: working-time deadlines on the shipped
 * China 5x8 calendar (corpora/calendars/cn-2026-2027.json: the 2026
 * holidays and 调休 days) and on small calendars built here: a ticket
 * raised before the National Day holiday, on an adjusted working Saturday
 * and Sunday, at 17:29, across midnight, inside the lunch break; 7x24;
 * round trips between(t, add(t, n)) == n; random instants checked against
 * a minute-by-minute count written independently (gmtime_r and the date
 * strings of the JSON); the JSON form and its errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kb_calendar.h"

#define DATA "corpora/calendars/cn-2026-2027.json"
#define H 3600
#define M 60

static json_t *shipped_calendar(const char *name)
{
    json_error_t je;
    json_t *root = json_load_file(DATA, 0, &je);
    assert_non_null(root);
    json_t *cals = json_object_get(root, "calendars"), *v, *found = NULL;
    size_t i;
    json_array_foreach(cals, i, v) {
        if (strcmp(json_string_value(json_object_get(v, "name")), name) == 0)
            found = json_incref(v);
    }
    json_decref(root);
    assert_non_null(found);
    return found;
}

static void load(struct kbcal *c, const char *name)
{
    json_t *j = shipped_calendar(name);
    char *s = json_dumps(j, 0);
    char err[256] = "";
    int rc = kbcal_from_json(s, strlen(s), c, err, sizeof err);
    if (rc)
        fail_msg("%s: %s", name, err);
    free(s);
    json_decref(j);
}

static void parse(struct kbcal *c, const char *json)
{
    char err[256] = "";
    int rc = kbcal_from_json(json, strlen(json), c, err, sizeof err);
    if (rc)
        fail_msg("%s", err);
}

#define AT(y, mo, d, h, mi) kbcal_instant(&c, y, mo, d, h, mi, 0)

static int64_t add(const struct kbcal *c, int64_t t, int64_t n)
{
    int64_t out = 0;
    assert_int_equal(kbcal_add(c, t, n, &out), 0);
    return out;
}

static void dates_and_zone(void **state)
{
    (void)state;
    struct kbcal c;
    load(&c, "cn-5x8");
    assert_int_equal(c.utc_offset, 8 * H);
    assert_string_equal(c.tz, "Asia/Shanghai");
    /* 2026-10-01 00:00 in Shanghai is 2026-09-30 16:00 UTC */
    assert_int_equal(AT(2026, 10, 1, 0, 0), 1790784000); /* 2026-09-30T16:00:00Z */
    assert_int_equal(kbcal_weekday(kbcal_day_of(2026, 9, 30)), 2);  /* Wednesday */
    assert_int_equal(kbcal_weekday(kbcal_day_of(2026, 10, 10)), 5); /* Saturday */
    assert_int_equal(kbcal_weekday(kbcal_day_of(1970, 1, 1)), 3);
    int y, m, d;
    kbcal_date_of(kbcal_day_of(2028, 2, 29), &y, &m, &d);
    assert_int_equal(y * 10000 + m * 100 + d, 20280229);
    /* the one parser of YYYY-MM-DD (calendars, documents' updated, the
     * ticket list's date bounds) */
    int32_t day = -1;
    assert_int_equal(kbcal_parse_date("2028-02-29", &day), 0);
    assert_int_equal(day, kbcal_day_of(2028, 2, 29));
    assert_int_equal(kbcal_parse_date("1970-01-01", &day), 0);
    assert_int_equal(day, 0);
    static const char *const bad[] = {"2026-02-29", "2026-13-01", "2026-00-10", "2026-04-31",
                                      "2026-4-01",  "2026-+4-01", "2026/04/01", " 2026-04-01",
                                      "1969-12-31", "2026-04-01x", "",          NULL};
    for (int i = 0; bad[i]; i++)
        assert_int_equal(kbcal_parse_date(bad[i], &day), -1);
    assert_int_equal(kbcal_parse_date(NULL, &day), -1);
    int32_t off;
    assert_int_equal(kbcal_zone_offset("Asia/Shanghai", &off), 0);
    assert_int_equal(off, 28800);
    assert_int_equal(kbcal_zone_offset("Europe/Berlin", &off), KBCAL_E_INVAL); /* has DST */
    kbcal_fin(&c);
}

static void before_the_national_day_holiday(void **state)
{
    (void)state;
    struct kbcal c;
    load(&c, "cn-5x8");
    /* Wed 2026-09-30 16:00, 4 working hours: 1.5 h that day, then 1-7
     * October off, Thursday 8 October 08:30 + 2.5 h */
    int64_t t = AT(2026, 9, 30, 16, 0);
    assert_int_equal(add(&c, t, 4 * H), AT(2026, 10, 8, 11, 0));
    /* 8 h: the morning of the 8th (3.5 h) and 3 h of its afternoon */
    assert_int_equal(add(&c, t, 8 * H), AT(2026, 10, 8, 16, 30));
    assert_int_equal(kbcal_between(&c, t, AT(2026, 10, 8, 16, 30)), 8 * H);
    /* nothing counts during the holiday */
    assert_int_equal(kbcal_between(&c, AT(2026, 10, 1, 0, 0), AT(2026, 10, 8, 0, 0)), 0);
    assert_int_equal(kbcal_is_working(&c, AT(2026, 10, 5, 10, 0)), 0); /* a Monday */
    /* Mid-Autumn (Fri 25 - Sun 27 September): Thursday 17:00 + 1 h is Monday 09:00 */
    assert_int_equal(add(&c, AT(2026, 9, 24, 17, 0), H), AT(2026, 9, 28, 9, 0));
    /* Spring Festival: Fri 13 Feb 17:00 + 1 h lands on the working Saturday 14th */
    assert_int_equal(add(&c, AT(2026, 2, 13, 17, 0), H), AT(2026, 2, 14, 9, 0));
    /* and Saturday 17:00 + 1 h waits for Tuesday 24 February */
    assert_int_equal(add(&c, AT(2026, 2, 14, 17, 0), H), AT(2026, 2, 24, 9, 0));
    kbcal_fin(&c);
}

static void on_an_adjusted_working_weekend_day(void **state)
{
    (void)state;
    struct kbcal c;
    load(&c, "cn-5x8");
    /* Saturday 10 October 2026 is a working day (调休) with weekday hours */
    assert_int_equal(kbcal_is_working(&c, AT(2026, 10, 10, 9, 0)), 1);
    assert_int_equal(add(&c, AT(2026, 10, 10, 9, 0), 2 * H), AT(2026, 10, 10, 11, 0));
    /* Friday 9th 17:00 + 1 h: half an hour on Friday, half on Saturday */
    assert_int_equal(add(&c, AT(2026, 10, 9, 17, 0), H), AT(2026, 10, 10, 9, 0));
    /* an ordinary Saturday a week later is not: Friday 16th + 1 h is Monday 19th */
    assert_int_equal(kbcal_is_working(&c, AT(2026, 10, 17, 9, 0)), 0);
    assert_int_equal(add(&c, AT(2026, 10, 16, 17, 0), H), AT(2026, 10, 19, 9, 0));
    /* Sunday 20 September is one too */
    assert_int_equal(add(&c, AT(2026, 9, 19, 10, 0), 30 * M), AT(2026, 9, 20, 9, 0));
    kbcal_fin(&c);

    /* a working day with another weekday's hours, or hours of its own */
    parse(&c, "{\"tz\":\"Asia/Shanghai\",\"week\":{\"mon\":[\"09:00-17:00\"],"
              "\"fri\":[\"09:00-12:00\"]},\"workdays\":[{\"date\":\"2026-10-10\",\"as\":\"fri\"},"
              "{\"date\":\"2026-10-11\",\"hours\":[\"14:00-15:00\"]},\"2026-10-17\"]}");
    assert_int_equal(add(&c, AT(2026, 10, 10, 8, 0), 3 * H), AT(2026, 10, 10, 12, 0));
    assert_int_equal(add(&c, AT(2026, 10, 10, 8, 0), 3 * H + 1), AT(2026, 10, 11, 14, 0) + 1);
    assert_int_equal(add(&c, AT(2026, 10, 17, 16, 0), H), AT(2026, 10, 17, 17, 0)); /* Monday's */
    kbcal_fin(&c);
}

static void at_17_29_and_the_lunch_break(void **state)
{
    (void)state;
    struct kbcal c;
    load(&c, "cn-5x8");
    /* Monday 7 December 2026 17:29 + 15 min: one minute today, 14 tomorrow */
    int64_t t = AT(2026, 12, 7, 17, 29);
    assert_int_equal(add(&c, t, 15 * M), AT(2026, 12, 8, 8, 44));
    /* exactly the minute left ends at 17:30, not tomorrow morning */
    assert_int_equal(add(&c, t, M), AT(2026, 12, 7, 17, 30));
    /* inside the lunch break the clock stands still */
    assert_int_equal(kbcal_is_working(&c, AT(2026, 12, 7, 12, 30)), 0);
    assert_int_equal(kbcal_is_working(&c, AT(2026, 12, 7, 12, 0)), 0);  /* end excluded */
    assert_int_equal(kbcal_is_working(&c, AT(2026, 12, 7, 11, 59)), 1);
    assert_int_equal(kbcal_is_working(&c, AT(2026, 12, 7, 13, 30)), 1);
    assert_int_equal(add(&c, AT(2026, 12, 7, 12, 30), 30 * M), AT(2026, 12, 7, 14, 0));
    assert_int_equal(add(&c, AT(2026, 12, 7, 11, 45), 30 * M), AT(2026, 12, 7, 13, 45));
    assert_int_equal(kbcal_between(&c, AT(2026, 12, 7, 11, 0), AT(2026, 12, 7, 14, 0)), 90 * M);
    /* a whole working day is 7.5 h; a week 37.5 h */
    assert_int_equal(kbcal_between(&c, AT(2026, 12, 7, 0, 0), AT(2026, 12, 8, 0, 0)), 450 * M);
    assert_int_equal(kbcal_between(&c, AT(2026, 12, 7, 0, 0), AT(2026, 12, 14, 0, 0)),
                     5 * 450 * M);
    kbcal_fin(&c);
}

static void across_midnight(void **state)
{
    (void)state;
    struct kbcal c;
    load(&c, "cn-5x8");
    /* Tuesday 23:30 local (15:30 UTC, the same UTC day) + 30 min: Wednesday
     * 09:00 local */
    int64_t t = AT(2026, 12, 8, 23, 30);
    assert_int_equal(add(&c, t, 30 * M), AT(2026, 12, 9, 9, 0));
    /* Friday 17:00 + 1 h crosses two midnights and a weekend */
    assert_int_equal(add(&c, AT(2026, 12, 11, 17, 0), H), AT(2026, 12, 14, 9, 0));
    /* 00:00 local is 16:00 UTC of the day before: the local date decides */
    assert_int_equal(kbcal_is_working(&c, AT(2026, 12, 12, 8, 30)), 0); /* a Saturday */
    assert_int_equal(kbcal_is_working(&c, AT(2026, 12, 11, 8, 30)), 1);
    kbcal_fin(&c);

    /* a night shift written as two intervals on two days */
    parse(&c, "{\"utc_offset\":\"+08:00\",\"week\":{\"mon\":[\"20:00-24:00\"],"
              "\"tue\":[\"00:00-04:00\",\"20:00-24:00\"]}}");
    assert_string_equal(c.tz, "+08:00");
    t = AT(2026, 12, 7, 23, 0); /* a Monday */
    assert_int_equal(add(&c, t, 2 * H), AT(2026, 12, 8, 1, 0));
    assert_int_equal(kbcal_between(&c, t, AT(2026, 12, 8, 1, 0)), 2 * H);
    assert_int_equal(add(&c, t, H), AT(2026, 12, 8, 0, 0));
    assert_int_equal(add(&c, t, 5 * H + 1), AT(2026, 12, 8, 20, 0) + 1);
    kbcal_fin(&c);
}

static void seven_by_twenty_four(void **state)
{
    (void)state;
    struct kbcal c;
    load(&c, "7x24");
    assert_int_equal(c.always, 1);
    int64_t t = AT(2026, 10, 1, 3, 17); /* a holiday, at night */
    assert_int_equal(kbcal_is_working(&c, t), 1);
    assert_int_equal(add(&c, t, 4 * H), t + 4 * H);
    assert_int_equal(kbcal_between(&c, t, t + 86400 * 9), 86400 * 9);
    assert_int_equal(kbcal_between(&c, t, t - 5), 0);
    kbcal_fin(&c);
}

static void round_trips(void **state)
{
    (void)state;
    struct kbcal c;
    load(&c, "cn-5x8");
    static const int64_t ns[] = {0, 1, 59, 15 * M, 30 * M, 4 * H, 450 * M, 1350 * M, 2250 * M,
                                 20 * 450 * M};
    int checked = 0;
    /* every 37 minutes through 2026 (all holidays and working weekends) */
    for (int64_t t = AT(2026, 1, 1, 0, 0); t < AT(2027, 1, 1, 0, 0); t += 37 * M) {
        for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
            int64_t due = add(&c, t, ns[i]);
            assert_true(due >= t);
            assert_int_equal(kbcal_between(&c, t, due), ns[i]);
            /* and it is the earliest such instant: one second less is short */
            if (ns[i] > 0)
                assert_int_equal(kbcal_between(&c, t, due - 1), ns[i] - 1);
            checked++;
        }
    }
    assert_true(checked > 100000);
    kbcal_fin(&c);
    /* a calendar with no working time at all says so instead of looping */
    parse(&c, "{\"tz\":\"UTC\",\"week\":{}}");
    int64_t out;
    assert_int_equal(kbcal_add(&c, 0, 1, &out), KBCAL_E_NOWORK);
    assert_int_equal(kbcal_add(&c, 0, -1, &out), KBCAL_E_INVAL);
    kbcal_fin(&c);
}

/* ---- an independent minute-by-minute count ------------------------------- */

struct naive {
    json_t *cal;
    int off;
};

static int has_date(json_t *arr, const char *date)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        const char *s = json_is_string(v) ? json_string_value(v)
                                          : json_string_value(json_object_get(v, "date"));
        if (strcmp(s, date) == 0)
            return 1;
    }
    return 0;
}

static int naive_working(const struct naive *n, int64_t t)
{
    static const char *const names[7] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
    time_t lt = (time_t)(t + n->off);
    struct tm tm;
    gmtime_r(&lt, &tm);
    char date[16], hm[8];
    strftime(date, sizeof date, "%Y-%m-%d", &tm);
    strftime(hm, sizeof hm, "%H:%M", &tm);
    const char *day = names[tm.tm_wday];
    if (has_date(json_object_get(n->cal, "workdays"), date))
        day = "mon"; /* the shipped workdays are plain dates: Monday's hours */
    else if (has_date(json_object_get(n->cal, "holidays"), date))
        return 0;
    json_t *hours = json_object_get(json_object_get(n->cal, "week"), day), *v;
    size_t i;
    json_array_foreach(hours, i, v) {
        const char *s = json_string_value(v); /* "08:30-12:00": string order is time order */
        if (strncmp(hm, s, 5) >= 0 && strncmp(hm, s + 6, 5) < 0)
            return 1;
    }
    return 0;
}

static void random_against_minute_count(void **state)
{
    (void)state;
    struct kbcal c;
    load(&c, "cn-5x8");
    struct naive n = {shipped_calendar("cn-5x8"), 8 * H};
    unsigned seed = 20261005;
    int64_t base = AT(2026, 1, 1, 0, 0);
    for (int k = 0; k < 300; k++) {
        seed = seed * 1103515245u + 12345u;
        int64_t t = base + (int64_t)(seed % (365u * 1440u)) * M;
        seed = seed * 1103515245u + 12345u;
        int64_t mins = seed % 3000u;
        int64_t due = add(&c, t, mins * M);
        /* walk minutes from t: the deadline is the end of the mins-th
         * working minute (or t itself for 0) */
        int64_t u = t, left = mins;
        while (left > 0) {
            if (naive_working(&n, u))
                left--;
            u += M;
        }
        assert_int_equal(due, u);
        /* is_working agrees with the naive count minute by minute at t */
        assert_int_equal(kbcal_is_working(&c, t), naive_working(&n, t));
    }
    json_decref(n.cal);
    kbcal_fin(&c);
}

/* ---- JSON form ----------------------------------------------------------- */

static void json_round_trip_and_errors(void **state)
{
    (void)state;
    struct kbcal c, d;
    load(&c, "cn-5x8");
    assert_int_equal(c.nholidays, 39);
    assert_int_equal(c.nworkdays, 6);
    char *s = kbcal_to_json(&c);
    assert_non_null(s);
    parse(&d, s);
    char *s2 = kbcal_to_json(&d);
    assert_string_equal(s, s2);
    assert_int_equal(d.nholidays, c.nholidays);
    assert_int_equal(add(&d, AT(2026, 9, 30, 16, 0), 4 * H), AT(2026, 10, 8, 11, 0));
    free(s);
    free(s2);
    kbcal_fin(&c);
    kbcal_fin(&d);

    static const struct {
        const char *json, *msg;
    } bad[] = {
        {"{", "line"},
        {"[]", "object"},
        {"{\"tz\":\"Europe/Berlin\",\"week\":{}}", "daylight saving"},
        {"{\"tz\":\"UTC\"}", "week"},
        {"{\"utc_offset\":\"+8\",\"week\":{}}", "utc_offset"},
        {"{\"tz\":\"Asia/Shanghai\",\"utc_offset\":\"+09:00\",\"week\":{}}", "does not match"},
        {"{\"tz\":\"UTC\",\"week\":{\"mon\":[\"08:30-12:00\",\"11:00-13:00\"]}}", "overlaps"},
        {"{\"tz\":\"UTC\",\"week\":{\"mon\":[\"12:00-08:00\"]}}", "empty"},
        {"{\"tz\":\"UTC\",\"week\":{\"mon\":[\"8:30-12:00\"]}}", "bad interval"},
        {"{\"tz\":\"UTC\",\"week\":{\"mon\":[\"08:30-24:30\"]}}", "bad interval"},
        {"{\"tz\":\"UTC\",\"week\":{\"funday\":[]}}", "unknown day"},
        {"{\"tz\":\"UTC\",\"week\":{},\"holidays\":[\"2026-02-30\"]}", "bad date"},
        {"{\"tz\":\"UTC\",\"week\":{},\"holidays\":[\"2026-10-10\"],\"workdays\":[\"2026-10-10\"]}",
         "holiday and a working day"},
        {"{\"tz\":\"UTC\",\"week\":{},\"workdays\":[{\"date\":\"2026-10-10\",\"as\":\"xyz\"}]}",
         "mon..sun"},
        {"{\"tz\":\"UTC\",\"always\":\"yes\"}", "true or false"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[256] = "";
        struct kbcal e;
        assert_int_equal(kbcal_from_json(bad[i].json, strlen(bad[i].json), &e, err, sizeof err),
                         KBCAL_E_INVAL);
        if (!strstr(err, bad[i].msg))
            fail_msg("%s: error \"%s\" lacks \"%s\"", bad[i].json, err, bad[i].msg);
        assert_null(e.holidays); /* left empty */
        assert_null(e.workdays);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dates_and_zone),
        cmocka_unit_test(before_the_national_day_holiday),
        cmocka_unit_test(on_an_adjusted_working_weekend_day),
        cmocka_unit_test(at_17_29_and_the_lunch_break),
        cmocka_unit_test(across_midnight),
        cmocka_unit_test(seven_by_twenty_four),
        cmocka_unit_test(round_trips),
        cmocka_unit_test(random_against_minute_count),
        cmocka_unit_test(json_round_trip_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
