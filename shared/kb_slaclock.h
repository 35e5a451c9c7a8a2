/* kb_slaclock: a service-level clock that pauses. Pure arithmetic over
 * kb_calendar: given when a clock started, its target in working seconds
 * and the intervals during which it was paused (a ticket waiting for its
 * requester), the instant at which the target is spent counting working
 * time outside the pauses only. A pause that covers working time pushes
 * the deadline later by exactly that working time; a pause over a night
 * or a holiday (no working time) pushes it by nothing. No I/O, no clock
 * reading: "now" is the caller's. */
#ifndef KB_SLACLOCK_H
#define KB_SLACLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "kb_calendar.h"

/* One paused interval [start, end); end 0: still paused (open). */
struct kbclock_pause {
    int64_t start, end;
};

/* The deadline into *out: the instant at which secs (>= 0) working seconds
 * of calendar c have run from start, not counting the working time inside
 * the pauses p[0..n) (ascending by start, not overlapping; parts before
 * start are ignored). An open pause is taken to end at now (the deadline
 * if the clock resumed now: it moves later while the pause lasts, and a
 * caller must not fire on it while paused). A deadline reached before a
 * pause begins is not moved by it. Returns 0, KBCAL_E_INVAL (secs < 0, a
 * pause ending before it starts, pauses out of order) or KBCAL_E_NOWORK
 * (kbcal_add's). */
int kbclock_due(const struct kbcal *c, int64_t start, int64_t secs,
                const struct kbclock_pause *p, size_t n, int64_t now, int64_t *out);

/* Working seconds of c inside the pauses (an open one counted up to now):
 * the paused time a clock has earned. Cannot fail. */
int64_t kbclock_paused(const struct kbcal *c, const struct kbclock_pause *p, size_t n,
                       int64_t now);

#endif
