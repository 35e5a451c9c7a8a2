/* kb_calendar: business calendars (weekly hours, holidays, adjusted working
 * days, 7x24) and working-time arithmetic over Unix instants with a fixed
 * UTC offset; the JSON form of a calendar. See kb_calendar.h for the model
 * and the time zone choice. Everything walks local days: an instant is
 * split into (local day, seconds into it), each day's hours are looked up
 * (holiday, working day, or weekday) and its intervals consumed in order. */
#include "kb_calendar.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const wd_names[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

void kbcal_init(struct kbcal *c)
{
    memset(c, 0, sizeof *c);
    strcpy(c->tz, "UTC");
}

void kbcal_fin(struct kbcal *c)
{
    if (!c)
        return;
    free(c->holidays);
    free(c->workdays);
    kbcal_init(c);
}

static const struct {
    const char *name;
    int32_t off;
} zones[] = {
    {"Asia/Shanghai", 8 * 3600}, {"Asia/Chongqing", 8 * 3600}, {"Asia/Harbin", 8 * 3600},
    {"Asia/Urumqi", 6 * 3600},   {"Asia/Hong_Kong", 8 * 3600}, {"Asia/Macau", 8 * 3600},
    {"Asia/Taipei", 8 * 3600},   {"Asia/Singapore", 8 * 3600}, {"Asia/Tokyo", 9 * 3600},
    {"Asia/Seoul", 9 * 3600},    {"Asia/Kolkata", 19800},      {"UTC", 0},
    {"Etc/UTC", 0},
};

int kbcal_zone_offset(const char *tz, int32_t *off)
{
    for (size_t i = 0; tz && i < sizeof zones / sizeof zones[0]; i++)
        if (strcmp(tz, zones[i].name) == 0) {
            *off = zones[i].off;
            return 0;
        }
    return KBCAL_E_INVAL;
}

/* ---- civil dates (Howard Hinnant's days_from_civil) ---------------------- */

int32_t kbcal_day_of(int y, int m, int d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void kbcal_date_of(int32_t z, int *y, int *m, int *d)
{
    z += 719468;
    int era = (z >= 0 ? z : z - 146096) / 146097;
    int doe = z - era * 146097;
    int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yoe + era * 400 + (*m <= 2);
}

int kbcal_weekday(int32_t day)
{
    /* 1970-01-01 was a Thursday (3 when Monday is 0) */
    int w = (int)((day + 3) % 7);
    return w < 0 ? w + 7 : w;
}

int64_t kbcal_instant(const struct kbcal *c, int y, int mo, int d, int h, int mi, int s)
{
    return (int64_t)kbcal_day_of(y, mo, d) * KBCAL_DAY + h * 3600 + mi * 60 + s - c->utc_offset;
}

static int64_t floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* ---- building ------------------------------------------------------------ */

int kbcal_add_hours(struct kbcal_hours *h, int32_t start, int32_t end)
{
    if (start < 0 || end > KBCAL_DAY || start >= end || h->n >= KBCAL_MAX_IV)
        return KBCAL_E_INVAL;
    int i = h->n;
    while (i > 0 && h->iv[i - 1].start > start)
        i--;
    if (i > 0 && h->iv[i - 1].end > start)
        return KBCAL_E_INVAL;
    if (i < h->n && h->iv[i].start < end)
        return KBCAL_E_INVAL;
    memmove(&h->iv[i + 1], &h->iv[i], (size_t)(h->n - i) * sizeof h->iv[0]);
    h->iv[i].start = start;
    h->iv[i].end = end;
    h->n++;
    return 0;
}

static const int32_t *find_holiday(const struct kbcal *c, int32_t day)
{
    size_t lo = 0, hi = c->nholidays;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c->holidays[mid] < day)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < c->nholidays && c->holidays[lo] == day ? &c->holidays[lo] : NULL;
}

static size_t workday_pos(const struct kbcal *c, int32_t day)
{
    size_t lo = 0, hi = c->nworkdays;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c->workdays[mid].day < day)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static const struct kbcal_workday *find_workday(const struct kbcal *c, int32_t day)
{
    size_t i = workday_pos(c, day);
    return i < c->nworkdays && c->workdays[i].day == day ? &c->workdays[i] : NULL;
}

int kbcal_add_holiday(struct kbcal *c, int32_t day)
{
    if (find_workday(c, day))
        return KBCAL_E_INVAL;
    if (find_holiday(c, day))
        return 0;
    int32_t *n = realloc(c->holidays, (c->nholidays + 1) * sizeof *n);
    if (!n)
        return KBCAL_E_NOMEM;
    c->holidays = n;
    size_t i = c->nholidays;
    while (i > 0 && n[i - 1] > day) {
        n[i] = n[i - 1];
        i--;
    }
    n[i] = day;
    c->nholidays++;
    return 0;
}

int kbcal_add_workday(struct kbcal *c, int32_t day, const struct kbcal_hours *h)
{
    if (find_holiday(c, day) || find_workday(c, day))
        return KBCAL_E_INVAL;
    struct kbcal_workday *n = realloc(c->workdays, (c->nworkdays + 1) * sizeof *n);
    if (!n)
        return KBCAL_E_NOMEM;
    c->workdays = n;
    size_t i = workday_pos(c, day);
    memmove(&n[i + 1], &n[i], (c->nworkdays - i) * sizeof *n);
    n[i].day = day;
    n[i].hours = *h;
    c->nworkdays++;
    return 0;
}

/* ---- arithmetic ---------------------------------------------------------- */

static const struct kbcal_hours no_hours;

const struct kbcal_hours *kbcal_hours_of(const struct kbcal *c, int32_t day)
{
    const struct kbcal_workday *w = find_workday(c, day);
    if (w)
        return &w->hours;
    if (find_holiday(c, day))
        return &no_hours;
    return &c->week[kbcal_weekday(day)];
}

static void split(const struct kbcal *c, int64_t t, int32_t *day, int32_t *sec)
{
    int64_t local = t + c->utc_offset;
    int64_t d = floordiv(local, KBCAL_DAY);
    *day = (int32_t)d;
    *sec = (int32_t)(local - d * KBCAL_DAY);
}

static int64_t join(const struct kbcal *c, int32_t day, int32_t sec)
{
    return (int64_t)day * KBCAL_DAY + sec - c->utc_offset;
}

int kbcal_is_working(const struct kbcal *c, int64_t t)
{
    if (c->always)
        return 1;
    int32_t day, sec;
    split(c, t, &day, &sec);
    const struct kbcal_hours *h = kbcal_hours_of(c, day);
    for (int i = 0; i < h->n; i++)
        if (sec >= h->iv[i].start && sec < h->iv[i].end)
            return 1;
    return 0;
}

int kbcal_add(const struct kbcal *c, int64_t t, int64_t secs, int64_t *out)
{
    if (secs < 0)
        return KBCAL_E_INVAL;
    if (c->always || secs == 0) {
        *out = t + secs;
        return 0;
    }
    int32_t day, sec;
    split(c, t, &day, &sec);
    for (int k = 0; k < KBCAL_MAX_DAYS; k++, day++, sec = 0) {
        const struct kbcal_hours *h = kbcal_hours_of(c, day);
        for (int i = 0; i < h->n; i++) {
            if (sec >= h->iv[i].end)
                continue;
            int32_t from = sec > h->iv[i].start ? sec : h->iv[i].start;
            int64_t avail = h->iv[i].end - from;
            if (secs <= avail) {
                *out = join(c, day, from + (int32_t)secs);
                return 0;
            }
            secs -= avail;
        }
    }
    return KBCAL_E_NOWORK;
}

int64_t kbcal_between(const struct kbcal *c, int64_t a, int64_t b)
{
    if (b <= a)
        return 0;
    if (c->always)
        return b - a;
    int32_t d0, s0, d1, s1;
    split(c, a, &d0, &s0);
    split(c, b, &d1, &s1);
    int64_t total = 0;
    for (int32_t day = d0; day <= d1; day++) {
        int32_t lo = day == d0 ? s0 : 0;
        int32_t hi = day == d1 ? s1 : KBCAL_DAY;
        const struct kbcal_hours *h = kbcal_hours_of(c, day);
        for (int i = 0; i < h->n; i++) {
            int32_t f = h->iv[i].start > lo ? h->iv[i].start : lo;
            int32_t e = h->iv[i].end < hi ? h->iv[i].end : hi;
            if (e > f)
                total += e - f;
        }
    }
    return total;
}

/* ---- JSON ---------------------------------------------------------------- */

static int fail(char *err, size_t errsz, const char *fmt, const char *what)
{
    if (err && errsz)
        snprintf(err, errsz, fmt, what);
    return KBCAL_E_INVAL;
}

/* "HH:MM" (HH 00..24, 24 only as 24:00) into seconds, or -1 */
static int32_t parse_hm(const char *s, const char **end)
{
    if (!(s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9' && s[2] == ':' &&
          s[3] >= '0' && s[3] <= '5' && s[4] >= '0' && s[4] <= '9'))
        return -1;
    int h = (s[0] - '0') * 10 + (s[1] - '0');
    int m = (s[3] - '0') * 10 + (s[4] - '0');
    if (h > 24 || (h == 24 && m != 0))
        return -1;
    *end = s + 5;
    return h * 3600 + m * 60;
}

static int parse_hours(json_t *arr, struct kbcal_hours *h, char *err, size_t errsz)
{
    memset(h, 0, sizeof *h);
    if (!json_is_array(arr))
        return fail(err, errsz, "%s: hours must be a list of \"HH:MM-HH:MM\"", "calendar");
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        const char *s = json_string_value(v);
        if (!s)
            return fail(err, errsz, "%s: hours must be a list of \"HH:MM-HH:MM\"", "calendar");
        const char *p;
        int32_t a = parse_hm(s, &p);
        if (a < 0 || *p != '-')
            return fail(err, errsz, "bad interval \"%s\" (want HH:MM-HH:MM)", s);
        int32_t b = parse_hm(p + 1, &p);
        if (b < 0 || *p)
            return fail(err, errsz, "bad interval \"%s\" (want HH:MM-HH:MM)", s);
        if (kbcal_add_hours(h, a, b) != 0)
            return fail(err, errsz,
                        "interval \"%s\" is empty, overlaps another or is one too many", s);
    }
    return 0;
}

int kbcal_parse_date(const char *s, int32_t *day)
{
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return -1;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return -1;
    int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
    if (m < 1 || m > 12 || d < 1 || d > 31 || y < 1970)
        return -1;
    int32_t z = kbcal_day_of(y, m, d);
    int yy, mm, dd;
    kbcal_date_of(z, &yy, &mm, &dd);
    if (yy != y || mm != m || dd != d)
        return -1; /* 2026-02-30 */
    *day = z;
    return 0;
}

static int weekday_index(const char *s)
{
    for (int i = 0; s && i < 7; i++)
        if (strcmp(s, wd_names[i]) == 0)
            return i;
    return -1;
}

static int parse_offset(const char *s, int32_t *off)
{
    const char *p;
    if (!s || (s[0] != '+' && s[0] != '-'))
        return -1;
    int32_t v = parse_hm(s + 1, &p);
    if (v < 0 || *p || v > 14 * 3600)
        return -1;
    *off = s[0] == '-' ? -v : v;
    return 0;
}

static int from_json(json_t *o, struct kbcal *c, char *err, size_t errsz)
{
    if (!json_is_object(o))
        return fail(err, errsz, "%s: a calendar is a JSON object", "calendar");
    const char *tz = json_string_value(json_object_get(o, "tz"));
    json_t *jo = json_object_get(o, "utc_offset");
    int32_t off = 0;
    if (jo) {
        if (parse_offset(json_string_value(jo), &off) != 0)
            return fail(err, errsz, "utc_offset %s: want \"+HH:MM\" or \"-HH:MM\"",
                        json_string_value(jo) ? json_string_value(jo) : "(not a string)");
        int32_t zo;
        if (tz && kbcal_zone_offset(tz, &zo) == 0 && zo != off)
            return fail(err, errsz, "utc_offset does not match the zone %s", tz);
    } else if (tz) {
        if (kbcal_zone_offset(tz, &off) != 0)
            return fail(err, errsz,
                        "zone %s is not one of the known zones without daylight saving time; "
                        "give \"utc_offset\"", tz);
    }
    if (tz) {
        if (strlen(tz) >= sizeof c->tz)
            return fail(err, errsz, "%s: zone name too long", "tz");
        strcpy(c->tz, tz);
    } else if (jo) {
        snprintf(c->tz, sizeof c->tz, "%s", json_string_value(jo));
    }
    c->utc_offset = off;
    json_t *al = json_object_get(o, "always");
    if (al && !json_is_boolean(al))
        return fail(err, errsz, "%s must be true or false", "always");
    c->always = json_is_true(al);

    json_t *week = json_object_get(o, "week");
    if (week && !json_is_object(week))
        return fail(err, errsz, "%s must be an object mon..sun", "week");
    if (!week && !c->always)
        return fail(err, errsz, "%s: a calendar needs \"week\" hours or \"always\": true",
                    "calendar");
    if (week) {
        const char *k;
        json_t *v;
        json_object_foreach(week, k, v) {
            int w = weekday_index(k);
            if (w < 0)
                return fail(err, errsz, "week: unknown day \"%s\" (mon..sun)", k);
            int rc = parse_hours(v, &c->week[w], err, errsz);
            if (rc)
                return rc;
        }
    }
    json_t *hol = json_object_get(o, "holidays");
    if (hol && !json_is_array(hol))
        return fail(err, errsz, "%s must be a list of dates", "holidays");
    size_t i;
    json_t *v;
    json_array_foreach(hol, i, v) {
        int32_t day;
        const char *s = json_string_value(v);
        if (kbcal_parse_date(s, &day) != 0)
            return fail(err, errsz, "holidays: bad date %s (want YYYY-MM-DD)",
                        s ? s : "(not a string)");
        int rc = kbcal_add_holiday(c, day);
        if (rc == KBCAL_E_NOMEM)
            return rc;
    }
    json_t *wds = json_object_get(o, "workdays");
    if (wds && !json_is_array(wds))
        return fail(err, errsz, "%s must be a list", "workdays");
    json_array_foreach(wds, i, v) {
        const char *ds = json_is_string(v) ? json_string_value(v)
                                           : json_string_value(json_object_get(v, "date"));
        int32_t day;
        if (kbcal_parse_date(ds, &day) != 0)
            return fail(err, errsz, "workdays: bad date %s (want YYYY-MM-DD)",
                        ds ? ds : "(missing)");
        struct kbcal_hours h = c->week[0];
        if (json_is_object(v)) {
            json_t *as = json_object_get(v, "as");
            json_t *hours = json_object_get(v, "hours");
            if (as && hours)
                return fail(err, errsz, "workdays %s: give \"as\" or \"hours\", not both", ds);
            if (as) {
                int w = weekday_index(json_string_value(as));
                if (w < 0)
                    return fail(err, errsz, "workdays %s: \"as\" must be mon..sun", ds);
                h = c->week[w];
            } else if (hours) {
                int rc = parse_hours(hours, &h, err, errsz);
                if (rc)
                    return rc;
            }
        }
        int rc = kbcal_add_workday(c, day, &h);
        if (rc == KBCAL_E_NOMEM)
            return rc;
        if (rc)
            return fail(err, errsz, "%s is listed twice, or as a holiday and a working day", ds);
    }
    return 0;
}

int kbcal_from_json(const char *json, size_t len, struct kbcal *c, char *err, size_t errsz)
{
    kbcal_init(c);
    json_error_t je;
    json_t *o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!o) {
        if (err && errsz)
            snprintf(err, errsz, "calendar JSON, line %d: %s", je.line, je.text);
        return KBCAL_E_INVAL;
    }
    int rc = from_json(o, c, err, errsz);
    json_decref(o);
    if (rc) {
        if (rc == KBCAL_E_NOMEM && err && errsz)
            snprintf(err, errsz, "out of memory");
        kbcal_fin(c);
    }
    return rc;
}

static json_t *hours_json(const struct kbcal_hours *h)
{
    json_t *a = json_array();
    for (int i = 0; a && i < h->n; i++) {
        char buf[48];
        snprintf(buf, sizeof buf, "%02d:%02d-%02d:%02d", h->iv[i].start / 3600,
                 h->iv[i].start / 60 % 60, h->iv[i].end / 3600, h->iv[i].end / 60 % 60);
        json_array_append_new(a, json_string(buf));
    }
    return a;
}

static void date_str(int32_t day, char buf[48])
{
    int y, m, d;
    kbcal_date_of(day, &y, &m, &d);
    snprintf(buf, 48, "%04d-%02d-%02d", y, m, d);
}

char *kbcal_to_json(const struct kbcal *c)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    char buf[48];
    int32_t a = c->utc_offset < 0 ? -c->utc_offset : c->utc_offset;
    snprintf(buf, sizeof buf, "%c%02d:%02d", c->utc_offset < 0 ? '-' : '+', a / 3600,
             a / 60 % 60);
    json_object_set_new(o, "tz", json_string(c->tz));
    json_object_set_new(o, "utc_offset", json_string(buf));
    json_object_set_new(o, "always", json_boolean(c->always));
    json_t *week = json_object();
    for (int w = 0; w < 7; w++)
        json_object_set_new(week, wd_names[w], hours_json(&c->week[w]));
    json_object_set_new(o, "week", week);
    json_t *hol = json_array();
    for (size_t i = 0; i < c->nholidays; i++) {
        date_str(c->holidays[i], buf);
        json_array_append_new(hol, json_string(buf));
    }
    json_object_set_new(o, "holidays", hol);
    json_t *wds = json_array();
    for (size_t i = 0; i < c->nworkdays; i++) {
        date_str(c->workdays[i].day, buf);
        json_array_append_new(wds, json_pack("{s:s,s:o}", "date", buf, "hours",
                                             hours_json(&c->workdays[i].hours)));
    }
    json_object_set_new(o, "workdays", wds);
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return s;
}
