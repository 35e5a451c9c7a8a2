/* Unit tests for shared/kb_workq, the locked queue of the worker pools:
 * FIFO order per queue, the bound, a deadline that passes with nothing
 * queued, stopping (waiters wake, pushes are refused) and the drain that
 * hands back every item, done ones first; and real threads taking items
 * and handing them back done. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kb_clock.h"
#include "kb_workq.h"

struct got {
    int v[64];
    int n;
};

static void collect(void *arg, void *item)
{
    struct got *g = arg;
    assert_true(g->n < 64);
    g->v[g->n++] = *(int *)item;
}

static void fifo_bound_deadline_stop_drain(void **state)
{
    (void)state;
    int x[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    kb_workq *q = kb_workq_new(2, 3);
    assert_int_equal(kb_workq_push(q, 0, &x[0]), 0);
    assert_int_equal(kb_workq_push(q, 0, &x[1]), 0);
    assert_int_equal(kb_workq_push(q, 0, &x[2]), 0);
    assert_int_equal(kb_workq_push(q, 0, &x[3]), -1); /* full: the caller keeps it */
    assert_int_equal(kb_workq_push(q, 1, &x[4]), 0);  /* each queue its own bound */
    void *it;
    assert_int_equal(kb_workq_pop(q, 0, 0, &it), 0);
    assert_ptr_equal(it, &x[0]);
    kb_workq_done(q, it);
    assert_int_equal(kb_workq_pop(q, 1, 0, &it), 0);
    assert_ptr_equal(it, &x[4]);
    /* queue 1 is empty now: a deadline 20 ms ahead passes */
    double t0 = kb_clock_mono();
    assert_int_equal(kb_workq_pop(q, 1, t0 + 0.02, &it), 1);
    assert_null(it);
    assert_true(kb_clock_mono() >= t0 + 0.02);
    kb_workq_done(q, &x[4]);
    struct got g = {0};
    assert_int_equal(kb_workq_take_done(q, collect, &g), 2);
    assert_int_equal(g.v[0], 0);
    assert_int_equal(g.v[1], 4);
    assert_int_equal(kb_workq_take_done(q, collect, &g), 0);

    kb_workq_done(q, &x[5]);
    kb_workq_push(q, 1, &x[6]);
    kb_workq_stop(q);
    assert_int_equal(kb_workq_push(q, 1, &x[7]), -1);
    assert_int_equal(kb_workq_pop(q, 0, 0, &it), -1); /* no waiting once stopping */
    assert_null(it);
    memset(&g, 0, sizeof g);
    assert_int_equal(kb_workq_drain(q, collect, &g), 4);
    int want[] = {5, 1, 2, 6}; /* done first, then queue 0, then queue 1 */
    for (int i = 0; i < 4; i++)
        assert_int_equal(g.v[i], want[i]);
    kb_workq_free(q);
    kb_workq_free(NULL);
}

static void *worker(void *arg)
{
    kb_workq *q = arg;
    void *it;
    while (kb_workq_pop(q, 0, 0, &it) == 0) {
        *(int *)it *= 2;
        kb_workq_done(q, it);
    }
    return NULL;
}

static void threads_take_and_return(void **state)
{
    (void)state;
    int x[40];
    kb_workq *q = kb_workq_new(1, 64);
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(kb_workq_thread(&t[i], worker, q, NULL, 0), 0);
    for (int i = 0; i < 40; i++) {
        x[i] = i + 1;
        assert_int_equal(kb_workq_push(q, 0, &x[i]), 0);
    }
    struct got g = {0};
    double deadline = kb_clock_mono() + 10.0;
    while (g.n < 40 && kb_clock_mono() < deadline) {
        kb_workq_take_done(q, collect, &g); /* polls, bounded by the deadline */
    }
    assert_int_equal(g.n, 40);
    int sum = 0;
    for (int i = 0; i < 40; i++)
        sum += g.v[i];
    assert_int_equal(sum, 2 * (40 * 41 / 2));
    kb_workq_stop(q);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(kb_workq_drain(q, collect, &g), 0);
    kb_workq_free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fifo_bound_deadline_stop_drain),
        cmocka_unit_test(threads_take_and_return),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
