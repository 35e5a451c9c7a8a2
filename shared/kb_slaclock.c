/* kb_slaclock: deadlines of a service-level clock that pauses (see
 * kb_slaclock.h). Walks the pauses in order: the working time between the
 * clock's position and the next pause is spent first; if the target is
 * reached there, that is the deadline, else the clock jumps to the pause's
 * end and goes on; past the last pause kbcal_add finishes. */
#include "kb_slaclock.h"

static int64_t pause_end(const struct kbclock_pause *p, int64_t now)
{
    return p->end ? p->end : (now > p->start ? now : p->start);
}

int kbclock_due(const struct kbcal *c, int64_t start, int64_t secs,
                const struct kbclock_pause *p, size_t n, int64_t now, int64_t *out)
{
    if (secs < 0)
        return KBCAL_E_INVAL;
    for (size_t i = 0; i < n; i++)
        if ((p[i].end && p[i].end < p[i].start) ||
            (i > 0 && p[i].start < pause_end(&p[i - 1], now)))
            return KBCAL_E_INVAL;
    int64_t t = start, left = secs;
    for (size_t i = 0; i < n; i++) {
        int64_t ps = p[i].start, pe = pause_end(&p[i], now);
        if (pe <= t)
            continue; /* wholly before the clock's position */
        if (ps > t) {
            int64_t avail = kbcal_between(c, t, ps);
            if (avail >= left)
                return kbcal_add(c, t, left, out);
            left -= avail;
        }
        t = pe;
    }
    return kbcal_add(c, t, left, out);
}

int64_t kbclock_paused(const struct kbcal *c, const struct kbclock_pause *p, size_t n,
                       int64_t now)
{
    int64_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += kbcal_between(c, p[i].start, pause_end(&p[i], now));
    return sum;
}
