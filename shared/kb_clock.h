/* kb_clock: the one monotonic clock of the programs (CLOCK_MONOTONIC), in
 * seconds and in milliseconds, for durations, deadlines and timeouts; and the
 * conversion of such a deadline to the struct timespec that
 * pthread_cond_timedwait wants from a condition variable set to this clock
 * (kb_workq does that). Wall-clock time (for stored timestamps) is not here. */
#ifndef KB_CLOCK_H
#define KB_CLOCK_H

#include <time.h>

/* Seconds on the monotonic clock (an arbitrary origin). Cannot fail. */
double kb_clock_mono(void);

/* Milliseconds on the same clock. Cannot fail. */
double kb_clock_ms(void);

/* The monotonic time t (seconds, as kb_clock_mono gives) as a timespec. */
struct timespec kb_clock_timespec(double t);

#endif
