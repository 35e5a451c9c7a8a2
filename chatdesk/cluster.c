/* cluster: frames between chatdesk instances over LISTEN / NOTIFY (see
 * cluster.h). A payload is compact JSON:
 *   {"i":"<instance>","n":<counter>,"to":<desk_target>,"t":<target>,
 *    "s":<seq>,"f":"<the frame's JSON text>"}
 * The counter keeps two identical frames of one job distinct (PostgreSQL
 * folds identical payloads of one transaction into one notification). A
 * frame too long for a notification goes through the cluster_events table
 * (store_cluster.c). The listener's queue holds at most CLUSTER_MAX_QUEUED
 * frames; beyond that they are dropped and a resync is reported. */
#include "cluster.h"
#include "kb_log.h"
#include "kb_util.h"

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include <sodium.h>

#define CLUSTER_MAX_QUEUED 100000
#define CLUSTER_WAIT_MS 200       /* the listener looks at its stop flag this often */
#define CLUSTER_RETRY_MIN_MS 100  /* reconnect back-off: doubling up to ... */
#define CLUSTER_RETRY_MAX_MS 2000

struct cd_cluster {
    char id[17];
    struct store *st;              /* the listener's; used only by its thread */
    pthread_t thread;
    int started;
    atomic_int stop;
    atomic_ullong counter;         /* payload numbers (publishers) */
    void (*notify)(void *);
    void *ud;
    pthread_mutex_t mu;            /* guards the queue below */
    struct desk_frame *head, *tail;
    size_t queued;
    int resync;
    unsigned long long received;
};

const char *cluster_id(const cd_cluster *c)
{
    return c->id;
}

unsigned long long cluster_received(const cd_cluster *c)
{
    pthread_mutex_lock((pthread_mutex_t *)&c->mu);
    unsigned long long n = c->received;
    pthread_mutex_unlock((pthread_mutex_t *)&c->mu);
    return n;
}

/* ---- publishing (workers) ------------------------------------------------------- */

int cluster_publish(cd_cluster *c, struct store *st, const struct desk_outbox *out)
{
    size_t n = 0;
    for (const struct desk_frame *f = out->head; f; f = f->next)
        n += f->to != DESK_TO_SELF;
    if (!n)
        return 0;
    char **payloads = kb_xcalloc(n, sizeof *payloads);
    size_t k = 0;
    for (const struct desk_frame *f = out->head; f; f = f->next) {
        if (f->to == DESK_TO_SELF)
            continue;
        json_t *o = json_pack("{s:s, s:I, s:i, s:I, s:i, s:s%}", "i", c->id, "n",
                              (json_int_t)atomic_fetch_add(&c->counter, 1), "to", (int)f->to,
                              "t", (json_int_t)f->target, "s", f->seq, "f", f->json, f->len);
        payloads[k] = o ? json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
        if (payloads[k])
            k++;
    }
    int rc = store_cluster_publish(st, (const char *const *)payloads, k);
    for (size_t i = 0; i < k; i++)
        free(payloads[i]);
    free(payloads);
    return rc ? rc : (int)k;
}

/* ---- listening (the listener thread) -------------------------------------------- */

static void queue_frame(cd_cluster *c, struct desk_frame *f)
{
    pthread_mutex_lock(&c->mu);
    if (c->queued >= CLUSTER_MAX_QUEUED) {
        c->resync = 1;
        pthread_mutex_unlock(&c->mu);
        desk_frame_free(f);
        return;
    }
    if (c->tail)
        c->tail->next = f;
    else
        c->head = f;
    c->tail = f;
    c->queued++;
    c->received++;
    pthread_mutex_unlock(&c->mu);
}

/* store_cluster_fn: one payload; another instance's frame is queued. */
static void on_payload(void *ctx, const char *payload, size_t len)
{
    cd_cluster *c = ctx;
    json_error_t e;
    json_t *o = json_loadb(payload, len, 0, &e);
    const char *id = NULL, *frame = NULL;
    size_t flen = 0;
    int to = 0, seq = 0;
    json_int_t target = 0;
    if (!o || json_unpack(o, "{s:s, s:i, s:I, s:i, s:s%}", "i", &id, "to", &to, "t", &target,
                          "s", &seq, "f", &frame, &flen) ||
        (to != DESK_TO_PERSON && to != DESK_TO_CONV && to != DESK_TO_AGENTS)) {
        kb_warn("cluster: a notification that is not a frame was ignored");
        json_decref(o);
        return;
    }
    if (strcmp(id, c->id) != 0) {
        struct desk_frame *f = kb_xcalloc(1, sizeof *f);
        f->to = (enum desk_target)to;
        f->target = target;
        f->seq = seq;
        f->json = kb_xstrndup(frame, flen);
        f->len = flen;
        queue_frame(c, f);
        c->notify(c->ud);
    }
    json_decref(o);
}

/* Waits ms milliseconds, or less when stopping. */
static void pause_ms(cd_cluster *c, int ms)
{
    for (int left = ms; left > 0 && !atomic_load(&c->stop); left -= CLUSTER_WAIT_MS)
        poll(NULL, 0, left < CLUSTER_WAIT_MS ? left : CLUSTER_WAIT_MS);
}

static void *listen_main(void *arg)
{
    cd_cluster *c = arg;
    int listening = 1, backoff = CLUSTER_RETRY_MIN_MS;
    while (!atomic_load(&c->stop)) {
        if (!listening) {
            if (store_reconnect(c->st) || store_cluster_listen(c->st)) {
                kb_debug("cluster: %s", store_errmsg(c->st));
                pause_ms(c, backoff);
                backoff = backoff * 2 > CLUSTER_RETRY_MAX_MS ? CLUSTER_RETRY_MAX_MS : backoff * 2;
                continue;
            }
            listening = 1;
            backoff = CLUSTER_RETRY_MIN_MS;
            kb_info("cluster: listening again; requester connections catch up");
            pthread_mutex_lock(&c->mu);
            c->resync = 1;
            pthread_mutex_unlock(&c->mu);
            c->notify(c->ud);
        }
        if (store_cluster_wait(c->st, CLUSTER_WAIT_MS, on_payload, c)) {
            kb_warn("cluster: the listener lost the database (%s): reconnecting",
                    store_errmsg(c->st));
            listening = 0;
        }
    }
    return NULL;
}

int cluster_new(const char *conninfo, void (*notify)(void *), void *ud, cd_cluster **out,
                char *err, size_t errlen)
{
    *out = NULL;
    cd_cluster *c = kb_xcalloc(1, sizeof *c);
    unsigned char raw[8];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(c->id, sizeof c->id, raw, sizeof raw);
    c->notify = notify;
    c->ud = ud;
    atomic_init(&c->stop, 0);
    atomic_init(&c->counter, 1);
    pthread_mutex_init(&c->mu, NULL);
    if (store_open(conninfo, &c->st, err, errlen)) {
        cluster_free(c);
        return -1;
    }
    if (store_cluster_listen(c->st)) {
        kb_seterr(err, errlen, "cluster: %s", store_errmsg(c->st));
        cluster_free(c);
        return -1;
    }
    int rc = pthread_create(&c->thread, NULL, listen_main, c);
    if (rc) {
        kb_seterr(err, errlen, "cluster: cannot start the listener: %s", strerror(rc));
        cluster_free(c);
        return -1;
    }
    c->started = 1;
    *out = c;
    return 0;
}

void cluster_free(cd_cluster *c)
{
    if (!c)
        return;
    atomic_store(&c->stop, 1);
    if (c->started)
        pthread_join(c->thread, NULL);
    store_close(c->st);
    desk_frame_free(c->head);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

struct desk_frame *cluster_take(cd_cluster *c, int *resync)
{
    pthread_mutex_lock(&c->mu);
    struct desk_frame *f = c->head;
    c->head = c->tail = NULL;
    c->queued = 0;
    *resync = c->resync;
    c->resync = 0;
    pthread_mutex_unlock(&c->mu);
    return f;
}
