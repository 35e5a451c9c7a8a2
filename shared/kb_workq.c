/* kb_workq: the locked work queue of the daemons' worker pools (see
 * kb_workq.h): FIFO lists of nodes under one mutex, a monotonic condition
 * variable per queue. */
#include "kb_workq.h"
#include "kb_clock.h"
#include "kb_util.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct node {
    struct node *next;
    void *item;
};

struct list {
    struct node *head, *tail;
    size_t len;
};

struct queue {
    struct list l;
    pthread_cond_t cv;
};

struct kb_workq {
    pthread_mutex_t mu;
    struct queue *q; /* nq of them */
    int nq;
    size_t max;
    struct list done;
    int stopping;
    pthread_t *threads; /* started by kb_workq_spawn, nthreads of them */
    int nthreads;
    int joined;
};

static void list_add(struct list *l, struct node *n)
{
    n->next = NULL;
    if (l->tail)
        l->tail->next = n;
    else
        l->head = n;
    l->tail = n;
    l->len++;
}

/* Hands the nodes of list head to fn and frees them. */
static size_t hand_over(struct node *n, void (*fn)(void *, void *), void *arg)
{
    size_t count = 0;
    while (n) {
        struct node *next = n->next;
        fn(arg, n->item);
        free(n);
        n = next;
        count++;
    }
    return count;
}

kb_workq *kb_workq_new(int nqueues, size_t max)
{
    kb_workq *q = kb_xcalloc(1, sizeof *q);
    q->nq = nqueues < 1 ? 1 : nqueues;
    q->max = max;
    q->q = kb_xcalloc((size_t)q->nq, sizeof *q->q);
    pthread_mutex_init(&q->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* kb_clock_mono's clock */
    for (int i = 0; i < q->nq; i++)
        pthread_cond_init(&q->q[i].cv, &ca);
    pthread_condattr_destroy(&ca);
    return q;
}

static void list_free(struct list *l)
{
    for (struct node *n = l->head, *next; n; n = next) {
        next = n->next;
        free(n);
    }
    memset(l, 0, sizeof *l);
}

void kb_workq_free(kb_workq *q)
{
    if (!q)
        return;
    kb_workq_join(q);
    free(q->threads);
    for (int i = 0; i < q->nq; i++) {
        list_free(&q->q[i].l);
        pthread_cond_destroy(&q->q[i].cv);
    }
    list_free(&q->done);
    free(q->q);
    pthread_mutex_destroy(&q->mu);
    free(q);
}

int kb_workq_push(kb_workq *q, int queue, void *item)
{
    int rc = -1;
    struct queue *s = &q->q[queue];
    struct node *n = kb_xmalloc(sizeof *n);
    n->item = item;
    pthread_mutex_lock(&q->mu);
    if (!q->stopping && s->l.len < q->max) {
        list_add(&s->l, n);
        n = NULL;
        pthread_cond_signal(&s->cv);
        rc = 0;
    }
    pthread_mutex_unlock(&q->mu);
    free(n);
    return rc;
}

int kb_workq_pop(kb_workq *q, int queue, double deadline, void **item)
{
    struct queue *s = &q->q[queue];
    int rc = 0;
    *item = NULL;
    pthread_mutex_lock(&q->mu);
    while (!q->stopping && !s->l.head) {
        if (deadline <= 0) {
            pthread_cond_wait(&s->cv, &q->mu);
            continue;
        }
        if (kb_clock_mono() >= deadline) {
            rc = 1;
            break;
        }
        struct timespec ts = kb_clock_timespec(deadline);
        pthread_cond_timedwait(&s->cv, &q->mu, &ts);
    }
    if (q->stopping) {
        rc = -1;
    } else if (rc == 0) {
        struct node *n = s->l.head;
        s->l.head = n->next;
        if (!s->l.head)
            s->l.tail = NULL;
        s->l.len--;
        *item = n->item;
        free(n);
    }
    pthread_mutex_unlock(&q->mu);
    return rc;
}

void kb_workq_done(kb_workq *q, void *item)
{
    struct node *n = kb_xmalloc(sizeof *n);
    n->item = item;
    pthread_mutex_lock(&q->mu);
    list_add(&q->done, n);
    pthread_mutex_unlock(&q->mu);
}

size_t kb_workq_take_done(kb_workq *q, void (*fn)(void *arg, void *item), void *arg)
{
    pthread_mutex_lock(&q->mu);
    struct node *n = q->done.head;
    memset(&q->done, 0, sizeof q->done);
    pthread_mutex_unlock(&q->mu);
    return hand_over(n, fn, arg);
}

void kb_workq_stop(kb_workq *q)
{
    pthread_mutex_lock(&q->mu);
    q->stopping = 1;
    for (int i = 0; i < q->nq; i++)
        pthread_cond_broadcast(&q->q[i].cv);
    pthread_mutex_unlock(&q->mu);
}

size_t kb_workq_drain(kb_workq *q, void (*fn)(void *arg, void *item), void *arg)
{
    pthread_mutex_lock(&q->mu);
    struct node *done = q->done.head;
    memset(&q->done, 0, sizeof q->done);
    struct node **queued = kb_xcalloc((size_t)q->nq, sizeof *queued);
    for (int i = 0; i < q->nq; i++) {
        queued[i] = q->q[i].l.head;
        memset(&q->q[i].l, 0, sizeof q->q[i].l);
    }
    pthread_mutex_unlock(&q->mu);
    size_t count = hand_over(done, fn, arg);
    for (int i = 0; i < q->nq; i++)
        count += hand_over(queued[i], fn, arg);
    free(queued);
    return count;
}

int kb_workq_thread(pthread_t *t, void *(*fn)(void *), void *arg, char *err, size_t errlen)
{
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    int rc = pthread_create(t, NULL, fn, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        kb_seterr(err, errlen, "cannot start a worker thread: %s", strerror(rc));
        return -1;
    }
    return 0;
}

int kb_workq_spawn(kb_workq *q, void *(*fn)(void *), void *arg, char *err, size_t errlen)
{
    pthread_t t;
    if (kb_workq_thread(&t, fn, arg, err, errlen))
        return -1;
    q->threads = kb_xrealloc(q->threads, (size_t)(q->nthreads + 1) * sizeof *q->threads);
    q->threads[q->nthreads++] = t;
    return 0;
}

int kb_workq_spawn_all(kb_workq *q, void *(*fn)(void *), void *workers, size_t size, int n,
                       char *err, size_t errlen)
{
    for (int i = 0; i < n; i++)
        if (kb_workq_spawn(q, fn, (char *)workers + (size_t)i * size, err, errlen))
            return -1;
    return 0;
}

void kb_workq_join(kb_workq *q)
{
    kb_workq_stop(q);
    if (q->joined)
        return;
    for (int i = 0; i < q->nthreads; i++)
        pthread_join(q->threads[i], NULL);
    q->joined = 1;
}

/* A list of items linked through the pointer at byte offset off in each. */
struct chain {
    void *head, *tail;
    size_t off;
};

static void chain_add(void *arg, void *item)
{
    struct chain *c = arg;
    memset((char *)item + c->off, 0, sizeof(void *));
    if (c->tail)
        memcpy((char *)c->tail + c->off, &item, sizeof item);
    else
        c->head = item;
    c->tail = item;
}

void *kb_workq_take_done_list(kb_workq *q, size_t next_off)
{
    struct chain c = {NULL, NULL, next_off};
    kb_workq_take_done(q, chain_add, &c);
    return c.head;
}

void *kb_workq_drain_list(kb_workq *q, size_t next_off)
{
    struct chain c = {NULL, NULL, next_off};
    kb_workq_drain(q, chain_add, &c);
    return c.head;
}
