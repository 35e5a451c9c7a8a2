/* pool: worker threads and job queues for chatdesk (see pool.h). One mutex
 * guards the queues; the workers of each stage wait on their stage's
 * condition variable. */
#define _GNU_SOURCE /* syscall(SYS_gettid) for the search threads' priority */
#include "pool.h"
#include "auth.h"
#include "kb_log.h"
#include "kb_lexicon.h"
#include "kb_util.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

enum { STAGE_REQUEST, STAGE_SEARCH, NSTAGES };

struct queue {
    struct desk_job *head, *tail;
    size_t len;
    pthread_cond_t cv;
};

struct worker {
    cd_pool *pool;
    int stage;
    struct desk *desk; /* owned, used only by this worker's thread */
    pthread_t thread;
    int started;
};

struct cd_pool {
    pthread_mutex_t mu;
    struct queue q[NSTAGES];          /* submitted, not started */
    struct desk_job *d_head, *d_tail; /* done, not collected */
    int stopping;
    int stopped;                      /* threads joined */
    kb_lexicon *lexicon;              /* owned; shared read-only by the searchers */
    struct worker *workers;           /* owned array */
    int nworkers;
    void (*notify)(void *);
    void *ud;
    const struct desk_config *desk_cfg; /* the API's session ttl */
};

struct desk_job *pool_job_new(void)
{
    struct desk_job *job = kb_xcalloc(1, sizeof *job);
    desk_outbox_init(&job->out);
    return job;
}

void pool_job_free(struct desk_job *job)
{
    if (!job)
        return;
    desk_msg_fin(&job->msg);
    desk_outbox_fin(&job->out);
    api_call_free(job->api);
    free(job);
}

static void append(struct desk_job **head, struct desk_job **tail, struct desk_job *job)
{
    job->next = NULL;
    if (*tail)
        (*tail)->next = job;
    else
        *head = job;
    *tail = job;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    cd_pool *p = w->pool;
    struct queue *q = &p->q[w->stage];
    if (w->stage == STAGE_SEARCH) {
        /* Linux: a thread's nice value is its own; failure only costs latency */
        pid_t tid = (pid_t)syscall(SYS_gettid);
        if (setpriority(PRIO_PROCESS, (id_t)tid, POOL_SEARCH_NICE) != 0)
            kb_debug("search thread: cannot lower its priority");
    }
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (!p->stopping && !q->head)
            pthread_cond_wait(&q->cv, &p->mu);
        if (p->stopping) {
            pthread_mutex_unlock(&p->mu);
            break;
        }
        struct desk_job *job = q->head;
        q->head = job->next;
        if (!q->head)
            q->tail = NULL;
        q->len--;
        pthread_mutex_unlock(&p->mu);

        if (job->api)
            api_handle(w->desk, p->desk_cfg, &job->api->req, &job->api->resp);
        else if (job->search)
            desk_suggest(w->desk, &job->client, &job->suggest, &job->out);
        else
            desk_on_message(w->desk, &job->client, &job->msg, &job->out);
        if (!job->api && job->out.db_error)
            kb_warn("%s: the database is unavailable: %s",
                    job->search ? "suggestions" : proto_type_name(job->msg.type),
                    store_errmsg(desk_store(w->desk)));

        pthread_mutex_lock(&p->mu);
        append(&p->d_head, &p->d_tail, job);
        pthread_mutex_unlock(&p->mu);
        p->notify(p->ud);
    }
    return NULL;
}

int pool_new(const struct cd_config *cfg, void (*notify)(void *), void *ud, cd_pool **out,
             char *err, size_t errlen)
{
    *out = NULL;
    cd_pool *p = kb_xcalloc(1, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    for (int s = 0; s < NSTAGES; s++)
        pthread_cond_init(&p->q[s].cv, NULL);
    p->notify = notify;
    p->ud = ud;
    p->desk_cfg = &cfg->desk;
    p->lexicon = kb_lexicon_new_builtin();
    /* the process-wide bound on Argon2id checks (auth.h), before any worker
     * can log anyone in */
    auth_gate_config(cfg->login_hash_concurrency, cfg->login_hash_queue);
    int nreq = cfg->threads * POOL_DB_PER_THREAD, nsearch = cfg->threads;
    if (nreq > POOL_MAX_DB_WORKERS)
        nreq = cfg->threads > POOL_MAX_DB_WORKERS ? cfg->threads : POOL_MAX_DB_WORKERS;
    p->nworkers = nreq + nsearch;
    p->workers = kb_xcalloc((size_t)p->nworkers, sizeof *p->workers);
    for (int i = 0; i < p->nworkers; i++) {
        struct worker *w = &p->workers[i];
        w->pool = p;
        w->stage = i < nreq ? STAGE_REQUEST : STAGE_SEARCH;
        if (desk_new(cfg->db, cfg->index, p->lexicon, &cfg->desk, &w->desk, err, errlen)) {
            pool_free(p);
            return -1;
        }
    }
    /* workers leave SIGINT/SIGTERM to the main thread and ignore SIGPIPE */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    for (int i = 0; i < p->nworkers; i++) {
        struct worker *w = &p->workers[i];
        int rc = pthread_create(&w->thread, NULL, worker_main, w);
        if (rc) {
            pthread_sigmask(SIG_SETMASK, &old, NULL);
            kb_seterr(err, errlen, "cannot start a worker thread: %s", strerror(rc));
            pool_free(p);
            return -1;
        }
        w->started = 1;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    *out = p;
    return 0;
}

int pool_submit(cd_pool *p, struct desk_job *job)
{
    int rc = -1;
    struct queue *q = &p->q[job->search ? STAGE_SEARCH : STAGE_REQUEST];
    pthread_mutex_lock(&p->mu);
    if (!p->stopping && q->len < POOL_MAX_QUEUE) {
        append(&q->head, &q->tail, job);
        q->len++;
        pthread_cond_signal(&q->cv);
        rc = 0;
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

struct desk_job *pool_take_done(cd_pool *p)
{
    pthread_mutex_lock(&p->mu);
    struct desk_job *list = p->d_head;
    p->d_head = p->d_tail = NULL;
    pthread_mutex_unlock(&p->mu);
    return list;
}

struct desk_job *pool_stop(cd_pool *p)
{
    pthread_mutex_lock(&p->mu);
    p->stopping = 1;
    for (int s = 0; s < NSTAGES; s++)
        pthread_cond_broadcast(&p->q[s].cv);
    pthread_mutex_unlock(&p->mu);
    if (!p->stopped) {
        for (int i = 0; i < p->nworkers; i++)
            if (p->workers[i].started)
                pthread_join(p->workers[i].thread, NULL);
        p->stopped = 1;
    }
    /* no thread left: no lock needed; done jobs first, then each queue */
    struct desk_job *list = p->d_head, *tail = p->d_tail;
    for (int s = 0; s < NSTAGES; s++) {
        struct queue *q = &p->q[s];
        if (!q->head)
            continue;
        if (tail)
            tail->next = q->head;
        else
            list = q->head;
        tail = q->tail;
        q->head = q->tail = NULL;
        q->len = 0;
    }
    p->d_head = p->d_tail = NULL;
    return list;
}

void pool_free(cd_pool *p)
{
    if (!p)
        return;
    struct desk_job *left = pool_stop(p);
    while (left) {
        struct desk_job *next = left->next;
        pool_job_free(left);
        left = next;
    }
    for (int i = 0; i < p->nworkers; i++)
        desk_free(p->workers[i].desk);
    free(p->workers);
    kb_lexicon_free(p->lexicon);
    for (int s = 0; s < NSTAGES; s++)
        pthread_cond_destroy(&p->q[s].cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
