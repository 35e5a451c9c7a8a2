/* pool: worker threads for chatdesk (see pool.h); the queues between them
 * and the loop are a kb_workq with a queue per stage. The chat writers
 * store the chat messages waiting at the moment in one transaction (group
 * commit, store_batch_* in store_pg.h) and hand them back only once it is
 * committed. */
#define _GNU_SOURCE /* syscall(SYS_gettid) for the search threads' priority */
#include "pool.h"
#include "auth.h"
#include "kb_clock.h"
#include "kb_log.h"
#include "kb_lexicon.h"
#include "kb_util.h"
#include "kb_workq.h"

#include <stddef.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

enum { STAGE_REQUEST, STAGE_CHAT, STAGE_SEARCH, NSTAGES };

struct worker {
    cd_pool *pool;
    int stage;
    struct desk *desk; /* owned, used only by this worker's thread */
};

struct cd_pool {
    kb_workq *q;                      /* a queue per stage, and the done jobs */
    kb_lexicon *lexicon;              /* owned; shared read-only by the searchers */
    struct worker *workers;           /* owned array */
    int nworkers;
    void (*notify)(void *);
    void *ud;
    const struct desk_config *desk_cfg; /* the API's session ttl */
    cd_cluster *cluster;              /* NULL: a single instance */
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

/* Several instances: the job's frames for others go to the other
 * instances too (its commit is done). A failure costs only their live
 * push: requesters catch up from the database. */
static void publish(cd_cluster *c, struct desk *d, const struct desk_job *job)
{
    int rc = cluster_publish(c, desk_store(d), &job->out);
    if (rc < 0)
        kb_warn("cluster: frames of %s not sent to the other instances: %s",
                job->api ? "an API request" : job->search ? "suggestions"
                                                          : proto_type_name(job->msg.type),
                store_errmsg(desk_store(d)));
}

/* Runs job with the worker's desk, each store call in its own transaction. */
static void job_run(struct worker *w, struct desk_job *job)
{
    if (job->api)
        api_handle(w->desk, w->pool->desk_cfg, &job->api->req, &job->api->resp, &job->out);
    else if (job->search)
        desk_suggest(w->desk, &job->client, &job->suggest, &job->out);
    else
        desk_on_message(w->desk, &job->client, &job->msg, &job->out);
}

/* The conversation a chat message or suggestion search is about. */
static int64_t job_conv(const struct desk_job *job)
{
    return job->search ? job->suggest.conv : job->client.conv_id;
}

/* Hands a job that ran (its writes committed) back to the loop; the
 * caller notifies it. */
static void job_finish(struct worker *w, struct desk_job *job)
{
    cd_pool *p = w->pool;
    if (!job->api && job->out.db_error)
        kb_warn("%s: the database is unavailable: %s",
                job->search ? "suggestions" : proto_type_name(job->msg.type),
                store_errmsg(desk_store(w->desk)));
    if (p->cluster)
        publish(p->cluster, w->desk, job);
    kb_workq_done(p->q, job);
}

/* A chat writer's or search worker's turn, first being the job it took
 * from stage: it takes the others of stage waiting now (up to max, at most
 * POOL_CHAT_BATCH) and runs them all in one transaction, each in a
 * savepoint of its own, ordered by conversation (two workers lock
 * conversations in the same order; a conversation's messages keep the order
 * they came in): one commit (one fsync) for all their writes. When the batch
 * cannot commit (an item aborted its transaction, the connection broke),
 * every item runs again alone with an empty outbox: no answer leaves before
 * its commit. */
static void run_batch(struct worker *w, struct desk_job *first, int stage, size_t max)
{
    cd_pool *p = w->pool;
    struct desk_job *jobs[POOL_CHAT_BATCH];
    int redo[POOL_CHAT_BATCH];
    size_t n = 0;
    void *item;
    if (max > POOL_CHAT_BATCH)
        max = POOL_CHAT_BATCH;
    jobs[n++] = first;
    while (n < max && kb_workq_pop(p->q, stage, kb_clock_mono(), &item) == 0)
        jobs[n++] = item;
    for (size_t i = 1; i < n; i++) { /* stable: by conversation, then arrival */
        struct desk_job *j = jobs[i];
        size_t k = i;
        for (; k > 0 && job_conv(jobs[k - 1]) > job_conv(j); k--)
            jobs[k] = jobs[k - 1];
        jobs[k] = j;
    }
    struct store *st = desk_store(w->desk);
    /* a search's writes (its search log row, its suggestions) share one
     * commit even alone */
    int batched = (n > 1 || stage == STAGE_SEARCH) && store_batch_begin(st) == 0;
    for (size_t i = 0; i < n; i++)
        redo[i] = !batched;
    if (batched) {
        for (size_t i = 0; i < n; i++) {
            if (store_batch_item_begin(st)) {
                redo[i] = 1;
                continue;
            }
            job_run(w, jobs[i]);
            redo[i] = store_batch_item_end(st) != 0;
        }
        if (store_batch_commit(st)) {
            kb_warn("%s: a batch of %zu was not committed (%s): each is stored again on "
                    "its own",
                    stage == STAGE_SEARCH ? "suggestions" : "chat", n, store_errmsg(st));
            for (size_t i = 0; i < n; i++)
                redo[i] = 1;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (redo[i]) {
            if (batched) { /* its answers were not committed: void */
                desk_outbox_fin(&jobs[i]->out);
                desk_outbox_init(&jobs[i]->out);
            }
            job_run(w, jobs[i]);
        }
        job_finish(w, jobs[i]);
    }
    p->notify(p->ud);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    cd_pool *p = w->pool;
    if (w->stage == STAGE_SEARCH) {
        /* Linux: a thread's nice value is its own; failure only costs latency */
        pid_t tid = (pid_t)syscall(SYS_gettid);
        if (setpriority(PRIO_PROCESS, (id_t)tid, POOL_SEARCH_NICE) != 0)
            kb_debug("search thread: cannot lower its priority");
    }
    for (;;) {
        void *item;
        if (kb_workq_pop(p->q, w->stage, 0, &item))
            break; /* stopping */
        if (w->stage == STAGE_CHAT || w->stage == STAGE_SEARCH) {
            run_batch(w, item, w->stage,
                      w->stage == STAGE_CHAT ? POOL_CHAT_BATCH : POOL_SEARCH_BATCH);
            continue;
        }
        job_run(w, item);
        job_finish(w, item);
        p->notify(p->ud);
    }
    return NULL;
}

int pool_new(const struct cd_config *cfg, cd_cluster *cluster, void (*notify)(void *), void *ud,
             cd_pool **out, char *err, size_t errlen)
{
    *out = NULL;
    cd_pool *p = kb_xcalloc(1, sizeof *p);
    p->cluster = cluster;
    p->q = kb_workq_new(NSTAGES, POOL_MAX_QUEUE);
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
    int nchat = cfg->threads * POOL_CHAT_PER_THREAD;
    p->nworkers = nreq + nchat + nsearch;
    p->workers = kb_xcalloc((size_t)p->nworkers, sizeof *p->workers);
    for (int i = 0; i < p->nworkers; i++) {
        struct worker *w = &p->workers[i];
        w->pool = p;
        w->stage = i < nreq ? STAGE_REQUEST : i < nreq + nchat ? STAGE_CHAT : STAGE_SEARCH;
        if (desk_new(cfg->db, cfg->index, p->lexicon, &cfg->desk, &w->desk, err, errlen)) {
            pool_free(p);
            return -1;
        }
    }
    if (kb_workq_spawn_all(p->q, worker_main, p->workers, sizeof *p->workers, p->nworkers, err,
                           errlen)) {
        pool_free(p);
        return -1;
    }
    *out = p;
    return 0;
}

int pool_submit(cd_pool *p, struct desk_job *job)
{
    int stage = job->search                                ? STAGE_SEARCH
                : !job->api && job->msg.type == DM_MESSAGE ? STAGE_CHAT
                                                           : STAGE_REQUEST;
    return kb_workq_push(p->q, stage, job);
}

struct desk_job *pool_take_done(cd_pool *p)
{
    return kb_workq_take_done_list(p->q, offsetof(struct desk_job, next));
}

struct desk_job *pool_stop(cd_pool *p)
{
    kb_workq_join(p->q);
    return kb_workq_drain_list(p->q, offsetof(struct desk_job, next));
}

static void job_drop(void *arg, void *job)
{
    (void)arg;
    pool_job_free(job);
}

void pool_free(cd_pool *p)
{
    if (!p)
        return;
    kb_workq_join(p->q);
    kb_workq_drain(p->q, job_drop, NULL);
    for (int i = 0; i < p->nworkers; i++)
        desk_free(p->workers[i].desk);
    free(p->workers);
    kb_lexicon_free(p->lexicon);
    kb_workq_free(p->q);
    free(p);
}
