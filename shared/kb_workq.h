/* kb_workq: the locked work queue between a daemon's event loop and its
 * worker threads (searchd's and chatdesk's pools). It holds nqueues FIFO
 * queues of submitted items (a stage each, with its own condition variable
 * and bound), one FIFO list of finished items, and a stopping flag, all
 * under one mutex. The items are the caller's (opaque pointers; the queue
 * allocates a small node per item and never looks inside). The condition
 * variables wait on kb_clock's monotonic clock, so a worker can wait for an
 * item or a deadline, whichever comes first. kb_workq_thread starts a
 * worker thread that leaves SIGINT/SIGTERM to the main thread and ignores
 * SIGPIPE. Nothing here prints. */
#ifndef KB_WORKQ_H
#define KB_WORKQ_H

#include <pthread.h>
#include <stddef.h>

typedef struct kb_workq kb_workq;

/* nqueues queues (at least 1) of at most max items each. Never NULL; free
 * with kb_workq_free. */
kb_workq *kb_workq_new(int nqueues, size_t max);

/* Stops the queue and joins the threads kb_workq_spawn started
 * (kb_workq_join), then frees the queue and its nodes, not the items (take
 * them back with kb_workq_drain first; those left are forgotten). No other
 * thread may still use it. NULL is a no-op. */
void kb_workq_free(kb_workq *q);

/* Appends item to queue `queue` and wakes one of its waiters. Returns 0, or
 * -1 when that queue holds max items or the queue is stopping (the caller
 * keeps the item). */
int kb_workq_push(kb_workq *q, int queue, void *item);

/* Waits for the oldest item of queue `queue`, at most until the monotonic
 * time deadline (kb_clock_mono seconds; 0 or less: no deadline). Returns 0
 * and *item (the caller's again), 1 when the deadline passed first, -1
 * when the queue is stopping (*item NULL in both cases). */
int kb_workq_pop(kb_workq *q, int queue, double deadline, void **item);

/* Appends a finished item to the done list. */
void kb_workq_done(kb_workq *q, void *item);

/* Hands every finished item, oldest first, to fn(arg, item) (called
 * outside the lock; the caller owns each item). Returns how many. */
size_t kb_workq_take_done(kb_workq *q, void (*fn)(void *arg, void *item), void *arg);

/* Sets the stopping flag and wakes every waiter: kb_workq_push refuses
 * from now on and kb_workq_pop returns -1. Idempotent. */
void kb_workq_stop(kb_workq *q);

/* After kb_workq_stop and the workers' end: hands every item still held to
 * fn(arg, item), the finished ones first, then each queue's in order.
 * Returns how many. */
size_t kb_workq_drain(kb_workq *q, void (*fn)(void *arg, void *item), void *arg);

/* Starts thread *t running fn(arg) with SIGINT, SIGTERM and SIGPIPE
 * blocked (the main thread handles the first two). Returns 0, or -1 with a
 * message in err. */
int kb_workq_thread(pthread_t *t, void *(*fn)(void *), void *arg, char *err, size_t errlen);

/* A worker of the queue: starts fn(arg) as kb_workq_thread does and keeps
 * the thread for kb_workq_join. Returns 0, or -1 with a message in err
 * (the threads started before stay running until kb_workq_join). */
int kb_workq_spawn(kb_workq *q, void *(*fn)(void *), void *arg, char *err, size_t errlen);

/* kb_workq_spawn for each of n workers: fn(&workers[i]), the array's
 * elements being size bytes each. Returns 0, or -1 with a message in err. */
int kb_workq_spawn_all(kb_workq *q, void *(*fn)(void *), void *workers, size_t size, int n,
                       char *err, size_t errlen);

/* kb_workq_stop, then waits for every thread kb_workq_spawn started (the
 * first call; later ones only stop). */
void kb_workq_join(kb_workq *q);

/* kb_workq_take_done / kb_workq_drain for items that link themselves: the
 * items, in the same order, chained through the pointer at byte offset
 * next_off in each (offsetof(struct job, next)); the last one's is NULL.
 * Returns the first, or NULL when none. The caller owns them. */
void *kb_workq_take_done_list(kb_workq *q, size_t next_off);
void *kb_workq_drain_list(kb_workq *q, size_t next_off);

#endif
