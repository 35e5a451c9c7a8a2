/* kb_calendar: business calendars and working-time arithmetic, for service
 * level deadlines. Pure: no I/O, no global state, no clock reading; the
 * caller passes instants in and gets instants and counts back.
 *
 * A calendar is
 *   - weekly working hours: for each weekday (Monday .. Sunday) up to
 *     KBCAL_MAX_IV intervals [start, end) in seconds from local midnight,
 *     ascending and not overlapping (08:30-12:00 and 13:30-17:30);
 *     an interval never crosses midnight (a night shift is two intervals on
 *     two days; "00:00-24:00" is a whole day);
 *   - holidays: local dates with no working time at all;
 *   - adjusted working days (调休): local dates, usually a Saturday or a
 *     Sunday, that are working days with the hours of a given weekday
 *     (Monday's, "the standard weekday hours", unless another is named) or
 *     with hours of their own;
 *   - or the 7x24 mode: every second is working time (hours, holidays and
 *     working days are then ignored).
 *
 * Time zones: instants are Unix seconds (UTC). A calendar carries a fixed
 * offset from UTC (utc_offset, seconds east) and a zone name for display;
 * local dates and hours are UTC + offset. Only zones without daylight
 * saving time are accepted by name (Asia/Shanghai +08:00 and a few others,
 * kbcal_zone_offset); any other zone must be given as an explicit offset.
 * China has had no DST since 1991, so Asia/Shanghai is exactly +08:00 for
 * every date a ticket can have; we chose the fixed offset over the C
 * library's zone database (TZ, localtime_r) because that is process-global
 * state, not thread-safe to switch, and would make the arithmetic depend on
 * the machine's files.
 *
 * The JSON form (a calendar version as the store keeps it and as files
 * ship it):
 *   {"tz":"Asia/Shanghai", "utc_offset":"+08:00",         (either or both)
 *    "always":false,                                       (7x24 when true)
 *    "week":{"mon":["08:30-12:00","13:30-17:30"], ..., "sat":[], "sun":[]},
 *    "holidays":["2026-10-01", ...],
 *    "workdays":["2026-09-20",                             (Monday's hours)
 *                {"date":"2026-10-10","as":"fri"},          (Friday's hours)
 *                {"date":"2026-10-11","hours":["09:00-12:00"]}]}
 * Unknown keys are ignored (files may carry notes). A date both a holiday
 * and a working day, a bad time, overlapping intervals or more than
 * KBCAL_MAX_IV per day are errors.
 *
 * Ownership: struct kbcal is embedded (kbcal_init / kbcal_fin); it owns its
 * holiday and working-day arrays. Strings returned by kbcal_to_json are the
 * caller's (free). */
#ifndef KB_CALENDAR_H
#define KB_CALENDAR_H

#include <stddef.h>
#include <stdint.h>

#define KBCAL_MAX_IV 8
#define KBCAL_DAY 86400

enum {
    KBCAL_OK = 0,
    KBCAL_E_INVAL = -1,   /* bad argument or bad calendar data */
    KBCAL_E_NOWORK = -2,  /* no working time within KBCAL_MAX_DAYS */
    KBCAL_E_NOMEM = -3,
};

/* how far add() looks for working time before giving up */
#define KBCAL_MAX_DAYS 3660

struct kbcal_iv {
    int32_t start, end; /* seconds from local midnight, 0 <= start < end <= 86400 */
};

struct kbcal_hours {
    struct kbcal_iv iv[KBCAL_MAX_IV];
    int n;
};

struct kbcal_workday {
    int32_t day;             /* local days since 1970-01-01 */
    struct kbcal_hours hours;
};

struct kbcal {
    char tz[64];             /* zone name, display only */
    int32_t utc_offset;      /* seconds east of UTC, -14h .. +14h */
    int always;              /* 7x24 */
    struct kbcal_hours week[7]; /* 0 = Monday .. 6 = Sunday */
    int32_t *holidays;       /* sorted local days, owned */
    size_t nholidays;
    struct kbcal_workday *workdays; /* sorted by day, owned */
    size_t nworkdays;
};

/* An empty calendar (UTC, no working hours). Cannot fail. */
void kbcal_init(struct kbcal *c);
/* Frees what c owns and leaves it empty; c may be NULL. */
void kbcal_fin(struct kbcal *c);

/* The offset of a known zone without DST ("Asia/Shanghai", "UTC", ...)
 * into *off; 0, or KBCAL_E_INVAL for a zone not in the table. */
int kbcal_zone_offset(const char *tz, int32_t *off);

/* Parses a calendar from JSON (the form above) into c (initialised or
 * not; on success the caller must kbcal_fin it, on failure c is left
 * empty). Returns 0 or KBCAL_E_INVAL / KBCAL_E_NOMEM with a message in
 * err (may be NULL). */
int kbcal_from_json(const char *json, size_t len, struct kbcal *c, char *err, size_t errsz);

/* The calendar as JSON in the same form (canonical: sorted dates, every
 * key present), caller frees; NULL on allocation failure. */
char *kbcal_to_json(const struct kbcal *c);

/* Adding data (the parser uses these; tests too). Days are local days
 * since 1970-01-01 (kbcal_day_of). Return 0, KBCAL_E_INVAL (bad interval,
 * a date both holiday and working day), KBCAL_E_NOMEM. */
int kbcal_add_hours(struct kbcal_hours *h, int32_t start, int32_t end);
int kbcal_add_holiday(struct kbcal *c, int32_t day);
int kbcal_add_workday(struct kbcal *c, int32_t day, const struct kbcal_hours *h);

/* Local day number of a civil date (proleptic Gregorian), and back. */
int32_t kbcal_day_of(int y, int m, int d);
void kbcal_date_of(int32_t day, int *y, int *m, int *d);
/* A date written YYYY-MM-DD (digits only, a real day of a year from 1970
 * on: 2026-02-30 is refused) into *day (kbcal_day_of's numbering).
 * Returns 0, or -1 for anything else (s may be NULL). */
int kbcal_parse_date(const char *s, int32_t *day);
/* 0 = Monday .. 6 = Sunday */
int kbcal_weekday(int32_t day);
/* A local wall-clock time in calendar c as a Unix instant. */
int64_t kbcal_instant(const struct kbcal *c, int y, int mo, int d, int h, int mi, int s);

/* The working hours of local day `day` (holiday: none; working day: its
 * own; otherwise the weekday's). The pointer is into c (or a static empty
 * set) and valid while c is unchanged. */
const struct kbcal_hours *kbcal_hours_of(const struct kbcal *c, int32_t day);

/* Is instant t working time? 1 or 0. */
int kbcal_is_working(const struct kbcal *c, int64_t t);

/* The instant at which `secs` (>= 0) working seconds after t have been
 * spent, into *out. Adding 0 gives t itself. A deadline falling exactly
 * at the end of an interval is that end (17:30), not the next opening.
 * Returns 0, KBCAL_E_INVAL (secs < 0), or KBCAL_E_NOWORK when the
 * calendar has too little working time within KBCAL_MAX_DAYS days. */
int kbcal_add(const struct kbcal *c, int64_t t, int64_t secs, int64_t *out);

/* Working seconds in [a, b); 0 when b <= a. Cannot fail; walks the span
 * day by day (a year is 366 steps). between(t, add(t, n)) == n. */
int64_t kbcal_between(const struct kbcal *c, int64_t a, int64_t b);

#endif
