/* pool: worker threads and job queues for chatdesk (see pool.h). One mutex
 * guards both queues; workers wait on a condition variable. */
#include "pool.h"
#include "kb_log.h"
#include "kb_lexicon.h"
#include "kb_util.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

struct worker {
    cd_pool *pool;
    struct desk *desk; /* owned, used only by this worker's thread */
    pthread_t thread;
    int started;
};

struct cd_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct desk_job *q_head, *q_tail; /* submitted, not started */
    size_t q_len;
    struct desk_job *d_head, *d_tail; /* done, not collected */
    int stopping;
    int stopped;                      /* threads joined */
    kb_lexicon *lexicon;              /* owned; shared read-only by the searchers */
    struct worker *workers;           /* owned array */
    int nworkers;
    void (*notify)(void *);
    void *ud;
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
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (!p->stopping && !p->q_head)
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->stopping) {
            pthread_mutex_unlock(&p->mu);
            break;
        }
        struct desk_job *job = p->q_head;
        p->q_head = job->next;
        if (!p->q_head)
            p->q_tail = NULL;
        p->q_len--;
        pthread_mutex_unlock(&p->mu);

        desk_on_message(w->desk, &job->client, &job->msg, &job->out);
        if (job->out.db_error)
            kb_warn("%s: the database is unavailable: %s", proto_type_name(job->msg.type),
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
    pthread_cond_init(&p->cv, NULL);
    p->notify = notify;
    p->ud = ud;
    p->lexicon = kb_lexicon_new_builtin();
    p->nworkers = cfg->threads;
    p->workers = kb_xcalloc((size_t)p->nworkers, sizeof *p->workers);
    for (int i = 0; i < p->nworkers; i++) {
        struct worker *w = &p->workers[i];
        w->pool = p;
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
    pthread_mutex_lock(&p->mu);
    if (!p->stopping && p->q_len < POOL_MAX_QUEUE) {
        append(&p->q_head, &p->q_tail, job);
        p->q_len++;
        pthread_cond_signal(&p->cv);
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
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    if (!p->stopped) {
        for (int i = 0; i < p->nworkers; i++)
            if (p->workers[i].started)
                pthread_join(p->workers[i].thread, NULL);
        p->stopped = 1;
    }
    /* no thread left: no lock needed */
    struct desk_job *list = p->d_head;
    if (p->d_tail)
        p->d_tail->next = p->q_head;
    else
        list = p->q_head;
    p->q_head = p->q_tail = p->d_head = p->d_tail = NULL;
    p->q_len = 0;
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
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
