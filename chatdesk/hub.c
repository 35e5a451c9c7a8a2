/* hub: connections, their queued requests and the delivery of outboxes on
 * the service thread (see hub.h).
 *
 * A connection's queue holds, in arrival order, requests for the workers
 * and answers that need no worker (codec errors, rate-limit errors, pong):
 * those wait their turn too, so a client sees its answers in the order of
 * its frames. A catch-up (replay from the database) goes to the front of
 * the queue: it runs as soon as the job in flight (if any) is back.
 *
 * Sequence bookkeeping for a requester connection following conversation
 * `conv`: `delivered` is the highest seq such that every message up to it
 * has been delivered or acknowledged on this connection; `seen` holds the
 * acknowledged seqs above it (the client's own messages whose ack came back
 * before the push of an earlier message). Such an ack is held back, like a
 * push after a gap, until a catch-up has filled the gap: a client resumes
 * from the highest seq it has seen, so an ack sent ahead of an earlier
 * message would make it skip that message after a reconnect.
 *
 * Suggestion searches (desk_suggest) run after the ack of their message
 * went out, as jobs of the pool's search stage, outside the connection's
 * queue: requests go on meanwhile. A connection has at most one search out;
 * messages acknowledged meanwhile leave one search waiting (the latest
 * message's, which covers the text of those before it): when messages come
 * faster than searches, the earlier ones get no suggestions of their own. */
#include "hub.h"
#include "hub_addr.h"
#include "kb_log.h"
#include "kb_util.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define SEEN_MAX 64

struct item {
    struct item *next;
    int is_job;
    int catchup;          /* a DM_CATCHUP job: after_seq is taken when it starts */
    struct desk_msg msg;  /* jobs */
    char *json;           /* ready answers */
    size_t len;
};

struct held {
    struct held *next;
    int seq;
    int ack;              /* the client's own ack (sent whatever its seq) */
    char *json;
    size_t len;
};

/* The delivery indexes: frames to a person, to a conversation's requesters
 * and to every agent find their connections without a scan of all of them
 * (with thousands open, that scan per frame was the loop's largest cost
 * after poll()). Person and conversation ids hash into HUB_BUCKETS chains. */
enum { HUB_IX_PERSON, HUB_IX_CONV, HUB_IX_AGENT, HUB_IX_N };
#define HUB_BUCKETS 4096 /* a power of two */

/* Who is on a connection: struct desk_client without its two long strings
 * inline (1.5 kB, most connections never fill them): name and email are
 * allocated, owned here, NULL when empty. client_get makes the copy a job
 * carries, client_set takes what a job's outbox says. */
struct hub_client {
    enum desk_role role;
    int64_t person_id;
    int64_t conv_id;
    unsigned char token_hash[sizeof ((struct desk_client *)0)->token_hash];
    char addr[sizeof ((struct desk_client *)0)->addr];
    char *name, *email;
};

struct hub_conn {
    struct hub_conn *prev, *next; /* the open connections */
    void *t;                      /* transport handle; NULL once closed */
    unsigned long long id;
    char akey[STORE_ADDR_MAX + 4]; /* the key of its address's limits (addr_key) */
    struct hub_client client;
    int busy;                     /* a request job is at the workers */
    int searching;                /* a suggestion search is at the workers */
    struct desk_suggest next_sugg; /* the search to run when it is back */
    struct item *q_head, *q_tail;
    int q_len;
    double tokens, last;          /* rate limiter */
    /* requester delivery */
    int64_t conv;
    int delivered;
    int seen[SEEN_MAX];
    int nseen;
    int catchup;                  /* a catch-up is queued or running */
    struct held *held_head, *held_tail;
    /* the indexes deliver uses (index_update): its chain in the person
     * bucket (signed in), the conversation bucket (a requester following
     * one) and the agents' list; ix_* say where it is linked */
    struct hub_conn *ix_prev[HUB_IX_N], *ix_next[HUB_IX_N];
    int ix_in[HUB_IX_N];
    size_t ix_slot[HUB_IX_N];
    char viewing[STORE_NUMBER_MAX]; /* an agent's: the ticket open on it, "" none */
};

struct hub {
    struct hub_ops ops;
    struct hub_limits lim;
    struct hub_conn *conns;
    size_t nconns;
    unsigned long long next_id;
    struct hub_addrs addrs;       /* the per-address limits */
    int mailing;                  /* a mail sender round (DM_MAIL) is out */
    struct hub_conn *person_ix[HUB_BUCKETS]; /* chains by person id */
    struct hub_conn *conv_ix[HUB_BUCKETS];   /* requesters' chains by conversation */
    struct hub_conn *agents;                 /* the agents' connections */
};

static size_t ix_bucket(int64_t id)
{
    uint64_t x = (uint64_t)id * 0x9E3779B97F4A7C15ull;
    return (size_t)(x >> 52) & (HUB_BUCKETS - 1);
}

static struct hub_conn **ix_head(hub *h, int ix, size_t slot)
{
    return ix == HUB_IX_PERSON ? &h->person_ix[slot] : ix == HUB_IX_CONV ? &h->conv_ix[slot]
                                                                         : &h->agents;
}

static void ix_unlink(hub *h, struct hub_conn *c, int ix)
{
    if (!c->ix_in[ix])
        return;
    if (c->ix_prev[ix])
        c->ix_prev[ix]->ix_next[ix] = c->ix_next[ix];
    else
        *ix_head(h, ix, c->ix_slot[ix]) = c->ix_next[ix];
    if (c->ix_next[ix])
        c->ix_next[ix]->ix_prev[ix] = c->ix_prev[ix];
    c->ix_prev[ix] = c->ix_next[ix] = NULL;
    c->ix_in[ix] = 0;
}

static void ix_link(hub *h, struct hub_conn *c, int ix, size_t slot)
{
    struct hub_conn **head = ix_head(h, ix, slot);
    c->ix_slot[ix] = slot;
    c->ix_prev[ix] = NULL;
    c->ix_next[ix] = *head;
    if (*head)
        (*head)->ix_prev[ix] = c;
    *head = c;
    c->ix_in[ix] = 1;
}

/* Puts c in the indexes its client and conversation call for now (none
 * once closed). Call after either changes. */
static void index_update(hub *h, struct hub_conn *c)
{
    for (int ix = 0; ix < HUB_IX_N; ix++)
        ix_unlink(h, c, ix);
    if (!c->t)
        return;
    if (c->client.role != DESK_NONE)
        ix_link(h, c, HUB_IX_PERSON, ix_bucket(c->client.person_id));
    if (c->client.role == DESK_REQUESTER && c->conv)
        ix_link(h, c, HUB_IX_CONV, ix_bucket(c->conv));
    if (c->client.role == DESK_AGENT)
        ix_link(h, c, HUB_IX_AGENT, 0);
}

hub *hub_new(const struct hub_ops *ops, const struct hub_limits *lim)
{
    hub *h = kb_xcalloc(1, sizeof *h);
    h->ops = *ops;
    h->lim = *lim;
    hub_addrs_init(&h->addrs, &h->lim);
    return h;
}

size_t hub_addr_count(const hub *h)
{
    return hub_addrs_count(&h->addrs);
}

int hub_login_wait(hub *h, const char *addr)
{
    char key[STORE_ADDR_MAX + 4];
    hub_addr_key(addr ? addr : "", key, sizeof key);
    return hub_addrs_login_wait(&h->addrs, key, h->ops.now());
}

void hub_login_result(hub *h, const char *addr, int result)
{
    char key[STORE_ADDR_MAX + 4];
    hub_addr_key(addr ? addr : "", key, sizeof key);
    hub_addrs_login_result(&h->addrs, key, result, h->ops.now());
}

size_t hub_count(const hub *h)
{
    return h->nconns;
}

static void items_free(struct item *it)
{
    while (it) {
        struct item *next = it->next;
        desk_msg_fin(&it->msg);
        free(it->json);
        free(it);
        it = next;
    }
}

static void held_free(struct held *hd)
{
    while (hd) {
        struct held *next = hd->next;
        free(hd->json);
        free(hd);
        hd = next;
    }
}

static void conn_free(struct hub_conn *c)
{
    items_free(c->q_head);
    held_free(c->held_head);
    free(c->client.name);
    free(c->client.email);
    free(c);
}

static void client_get(const struct hub_client *hc, struct desk_client *cl)
{
    memset(cl, 0, sizeof *cl);
    cl->role = hc->role;
    cl->person_id = hc->person_id;
    cl->conv_id = hc->conv_id;
    memcpy(cl->token_hash, hc->token_hash, sizeof cl->token_hash);
    memcpy(cl->addr, hc->addr, sizeof cl->addr);
    if (hc->name)
        snprintf(cl->name, sizeof cl->name, "%s", hc->name);
    if (hc->email)
        snprintf(cl->email, sizeof cl->email, "%s", hc->email);
}

/* all but the address, which stays the connection's whoever signs in */
static void client_set(struct hub_client *hc, const struct desk_client *cl)
{
    hc->role = cl->role;
    hc->person_id = cl->person_id;
    hc->conv_id = cl->conv_id;
    memcpy(hc->token_hash, cl->token_hash, sizeof hc->token_hash);
    free(hc->name);
    free(hc->email);
    hc->name = cl->name[0] ? kb_xstrdup(cl->name) : NULL;
    hc->email = cl->email[0] ? kb_xstrdup(cl->email) : NULL;
}

/* Frees a closed connection once no job of it is at the workers. */
static void conn_free_if_idle(struct hub_conn *c)
{
    if (!c->t && !c->busy && !c->searching)
        conn_free(c);
}

static int same_person(const struct hub_client *a, const struct desk_client *b)
{
    return a->role == b->role && a->person_id == b->person_id;
}

void hub_free(hub *h)
{
    if (!h)
        return;
    struct hub_conn *c = h->conns;
    while (c) {
        struct hub_conn *next = c->next;
        conn_free(c);
        c = next;
    }
    hub_addrs_free(&h->addrs);
    free(h);
}

struct hub_conn *hub_open(hub *h, void *t, const char *addr)
{
    struct hub_conn *c = kb_xcalloc(1, sizeof *c);
    c->t = t;
    snprintf(c->client.addr, sizeof c->client.addr, "%s", addr ? addr : "");
    hub_addr_key(c->client.addr, c->akey, sizeof c->akey);
    c->id = ++h->next_id;
    c->tokens = h->lim.burst;
    c->last = h->ops.now();
    c->next = h->conns;
    if (h->conns)
        h->conns->prev = c;
    h->conns = c;
    h->nconns++;
    kb_debug("conn %llu: open", c->id);
    return c;
}

static void emit(hub *h, struct hub_conn *c, const char *json, size_t len)
{
    if (c->t)
        h->ops.send(c->t, json, len);
}

/* ---- the queue --------------------------------------------------------------- */

static void enqueue(struct hub_conn *c, struct item *it, int front)
{
    if (front) {
        it->next = c->q_head;
        c->q_head = it;
        if (!c->q_tail)
            c->q_tail = it;
    } else {
        it->next = NULL;
        if (c->q_tail)
            c->q_tail->next = it;
        else
            c->q_head = it;
        c->q_tail = it;
    }
    c->q_len++;
}

static void enqueue_answer(struct hub_conn *c, char *json, size_t len)
{
    struct item *it = kb_xcalloc(1, sizeof *it);
    it->json = json;
    it->len = len;
    enqueue(c, it, 0);
}

static void enqueue_error(struct hub_conn *c, int code, const char *message, const char *id,
                          const char *field)
{
    size_t len;
    char *json = proto_error_frame(code, message, id, field, &len);
    enqueue_answer(c, json, len);
}

static void enqueue_error_retry(struct hub_conn *c, int code, const char *message,
                                const char *id, int retry_after)
{
    size_t len;
    char *json = proto_error_frame_retry(code, message, id, retry_after, &len);
    enqueue_answer(c, json, len);
}

/* The acks held for seqs up to upto go out now, in their order (the
 * pushes held stay until the next catch-up): every seq below them has
 * reached c, or (upto INT_MAX) a catch-up could not start. */
static void release_acks(hub *h, struct hub_conn *c, int upto)
{
    struct held **pp = &c->held_head;
    c->held_tail = NULL;
    while (*pp) {
        struct held *p = *pp;
        if (!p->ack || p->seq > upto) {
            c->held_tail = p;
            pp = &p->next;
            continue;
        }
        emit(h, c, p->json, p->len);
        *pp = p->next;
        free(p->json);
        free(p);
    }
}

/* Starts the connection's next request, sending ready answers on the way. */
static void pump(hub *h, struct hub_conn *c)
{
    while (c->t && !c->busy && c->q_head) {
        struct item *it = c->q_head;
        c->q_head = it->next;
        if (!c->q_head)
            c->q_tail = NULL;
        c->q_len--;
        if (!it->is_job) {
            emit(h, c, it->json, it->len);
            items_free((it->next = NULL, it));
            continue;
        }
        struct desk_job *job = pool_job_new();
        job->conn = c;
        client_get(&c->client, &job->client);
        job->msg = it->msg;
        memset(&it->msg, 0, sizeof it->msg);
        if (it->catchup)
            job->msg.after_seq = c->delivered;
        char *id = job->msg.id ? kb_xstrdup(job->msg.id) : NULL;
        int catchup = it->catchup;
        it->next = NULL;
        items_free(it);
        if (h->ops.submit(h->ops.ud, job)) {
            pool_job_free(job);
            if (catchup) {
                c->catchup = 0; /* the held pushes go out as they are */
                release_acks(h, c, INT_MAX);
            }
            size_t len;
            char *json = proto_error_frame(P_OVERLOADED, "the server is busy: retry shortly",
                                           id, NULL, &len);
            emit(h, c, json, len);
            free(json);
            free(id);
            continue;
        }
        free(id);
        c->busy = 1;
    }
}

/* Queues a catch-up (replay after `delivered`) at the front. */
static void request_catchup(struct hub_conn *c)
{
    if (c->catchup || !c->conv)
        return;
    struct item *it = kb_xcalloc(1, sizeof *it);
    it->is_job = 1;
    it->catchup = 1;
    it->msg.type = DM_CATCHUP;
    enqueue(c, it, 1);
    c->catchup = 1;
}

/* ---- frames from the client ---------------------------------------------------- */

/* Refuses frame m (and frees it) with code and "WHAT: try again in WAIT s",
 * retry_after WAIT seconds. */
static void refuse_wait(struct hub_conn *c, int code, const char *what, struct desk_msg *m,
                        int wait)
{
    char msg[120];
    snprintf(msg, sizeof msg, "%s: try again in %d s", what, wait);
    enqueue_error_retry(c, code, msg, m->id, wait);
    desk_msg_fin(m);
}

void hub_frame(hub *h, struct hub_conn *c, const char *data, size_t len, int binary,
               int too_large)
{
    if (!c->t)
        return;
    struct desk_msg m;
    struct proto_error e;
    int rc;
    if (too_large) {
        char msg[96];
        snprintf(msg, sizeof msg, "the frame is larger than %d bytes", h->lim.max_frame);
        enqueue_error(c, P_TOO_LARGE, msg, NULL, NULL);
        rc = -1;
    } else if (binary) {
        enqueue_error(c, P_BAD_FRAME, "binary frames are not accepted: send JSON text frames",
                      NULL, NULL);
        rc = -1;
    } else {
        rc = proto_parse(data, len, &m, &e);
        if (rc)
            enqueue_error(c, e.code, e.message, e.id, e.field);
    }
    /* the rate limit counts every frame, good or bad */
    double now = h->ops.now();
    c->tokens += (now - c->last) * h->lim.rate;
    if (c->tokens > h->lim.burst)
        c->tokens = h->lim.burst;
    c->last = now;
    int limited = c->tokens < 1.0, wait = 0;
    if (!limited)
        c->tokens -= 1.0;
    if (rc == 0) {
        if (limited) {
            enqueue_error(c, P_RATE_LIMITED, "too many frames: slow down", m.id, NULL);
            desk_msg_fin(&m);
        } else if (m.type == DM_PING) {
            json_t *o = json_pack("{s:s}", "type", "pong");
            if (m.id)
                json_object_set_new(o, "id", json_string(m.id));
            size_t n;
            char *json = proto_dump(o, &n);
            enqueue_answer(c, json, n);
            desk_msg_fin(&m);
        } else if (c->q_len >= HUB_MAX_PENDING) {
            enqueue_error(c, P_OVERLOADED, "too many frames waiting for an answer", m.id, NULL);
            desk_msg_fin(&m);
        } else if (((m.type == DM_HELLO && c->client.role == DESK_NONE && !m.link) ||
                    m.type == DM_SIGNIN_REQUEST) &&
                   (wait = hub_addrs_hello_wait(&h->addrs, c->akey, now)) > 0) {
            /* a sign-in mail costs like a new chat */
            refuse_wait(c, P_RATE_LIMITED, "too many new chats from your address", &m, wait);
        } else if (((m.type == DM_LOGIN && m.password && c->client.role == DESK_NONE) ||
                    (m.type == DM_HELLO && m.link) || m.type == DM_SIGNIN) &&
                   (wait = hub_addrs_login_wait(&h->addrs, c->akey, now)) > 0) {
            /* private links and sign-in codes are guessed like passwords */
            refuse_wait(c, P_TOO_MANY_ATTEMPTS, "too many wrong passwords from your address", &m,
                        wait);
        } else {
            struct item *it = kb_xcalloc(1, sizeof *it);
            it->is_job = 1;
            it->msg = m;
            enqueue(c, it, 0);
            kb_debug("conn %llu: %s", c->id, proto_type_name(m.type));
        }
    }
    pump(h, c);
}

/* ---- delivery ---------------------------------------------------------------------- */

static int is_seen(const struct hub_conn *c, int seq)
{
    for (int i = 0; i < c->nseen; i++)
        if (c->seen[i] == seq)
            return 1;
    return 0;
}

/* Moves delivered over the seen seqs that now follow it, and forgets the
 * seen seqs at or below it. */
static void absorb(struct hub_conn *c)
{
    for (int again = 1; again;) {
        again = 0;
        for (int i = 0; i < c->nseen; i++)
            if (c->seen[i] == c->delivered + 1) {
                c->delivered++;
                again = 1;
            }
    }
    int k = 0;
    for (int i = 0; i < c->nseen; i++)
        if (c->seen[i] > c->delivered)
            c->seen[k++] = c->seen[i];
    c->nseen = k;
}

/* The client's own message seq was acknowledged. */
static void mark_seen(struct hub_conn *c, int seq)
{
    if (seq <= c->delivered || is_seen(c, seq))
        return;
    if (seq == c->delivered + 1) {
        c->delivered = seq;
    } else if (c->nseen < SEEN_MAX) {
        c->seen[c->nseen++] = seq;
    }
    absorb(c);
}

static void hold(struct hub_conn *c, int seq, int ack, const char *json, size_t len)
{
    struct held *hd = kb_xcalloc(1, sizeof *hd);
    hd->seq = seq;
    hd->ack = ack;
    hd->json = kb_xstrndup(json, len);
    hd->len = len;
    if (c->held_tail)
        c->held_tail->next = hd;
    else
        c->held_head = hd;
    c->held_tail = hd;
}

/* A live message seq for requester connection c. */
static void push_seq(hub *h, struct hub_conn *c, int seq, const char *json, size_t len)
{
    if (c->catchup) {
        hold(c, seq, 0, json, len);
        return;
    }
    if (seq <= c->delivered || is_seen(c, seq))
        return; /* had it */
    if (seq == c->delivered + 1) {
        emit(h, c, json, len);
        c->delivered = seq;
        absorb(c);
        return;
    }
    /* a gap: fetch what is missing first, then this one */
    kb_debug("conn %llu: seq %d after %d: catching up", c->id, seq, c->delivered);
    hold(c, seq, 0, json, len);
    request_catchup(c);
    pump(h, c);
}

/* The ack of the client's own message seq for requester connection c: sent
 * at once unless an earlier seq has not reached c yet; then it waits for a
 * catch-up. */
static void ack_seq(hub *h, struct hub_conn *c, int seq, const char *json, size_t len)
{
    mark_seen(c, seq);
    if (seq <= c->delivered || !c->conv) {
        emit(h, c, json, len);
        return;
    }
    kb_debug("conn %llu: ack %d after %d: catching up first", c->id, seq, c->delivered);
    hold(c, seq, 1, json, len);
    request_catchup(c);
    pump(h, c);
}

/* After a catch-up: what was held back goes out, in its order; a push as
 * if it came now (a gap still open holds it again), an ack as it is (the
 * catch-up ran after its message was stored, so it filled every gap below
 * it, unless the database failed: the ack is not kept back for that). */
static void flush_held(hub *h, struct hub_conn *c)
{
    struct held *hd = c->held_head;
    c->held_head = c->held_tail = NULL;
    for (struct held *p = hd; p; p = p->next) {
        if (p->ack && !c->catchup)
            emit(h, c, p->json, p->len);
        else if (p->ack)
            hold(c, p->seq, 1, p->json, p->len); /* behind a held push */
        else
            push_seq(h, c, p->seq, p->json, p->len);
    }
    held_free(hd);
}

/* A replayed message (a catch-up's answer, in seq order): the acks held
 * for the client's own messages below it go out first (the replay also
 * brings what was stored after them, which must not overtake them). */
static void replay_seq(hub *h, struct hub_conn *c, int seq, const char *json, size_t len)
{
    if (seq <= c->delivered)
        return;
    release_acks(h, c, seq - 1);
    if (!is_seen(c, seq))
        emit(h, c, json, len);
    c->delivered = seq;
    absorb(c);
}

static void deliver(hub *h, struct hub_conn *self, const struct desk_frame *f)
{
    if (f->to == DESK_TO_SELF) {
        if (!self || !self->t)
            return;
        if (f->ack_seq && self->client.role == DESK_REQUESTER)
            ack_seq(h, self, f->ack_seq, f->json, f->len);
        else if (f->seq && self->client.role == DESK_REQUESTER && self->conv)
            replay_seq(h, self, f->seq, f->json, f->len);
        else
            emit(h, self, f->json, f->len);
        return;
    }
    struct hub_conn *c, *next;
    switch (f->to) {
    case DESK_TO_PERSON:
        for (c = h->person_ix[ix_bucket(f->target)]; c; c = next) {
            next = c->ix_next[HUB_IX_PERSON];
            if (c->t && !(f->not_self && c == self) && c->client.role != DESK_NONE &&
                c->client.person_id == f->target)
                emit(h, c, f->json, f->len);
        }
        break;
    case DESK_TO_CONV:
        for (c = h->conv_ix[ix_bucket(f->target)]; c; c = next) {
            next = c->ix_next[HUB_IX_CONV];
            if (!c->t || (f->not_self && c == self) || c->client.role != DESK_REQUESTER ||
                c->conv != f->target)
                continue;
            if (f->seq)
                push_seq(h, c, f->seq, f->json, f->len);
            else
                emit(h, c, f->json, f->len);
        }
        break;
    case DESK_TO_AGENTS:
        for (c = h->agents; c; c = next) {
            next = c->ix_next[HUB_IX_AGENT];
            if (c->t && !(f->not_self && c == self) && c->client.role == DESK_AGENT)
                emit(h, c, f->json, f->len);
        }
        break;
    default:
        break;
    }
}

/* An agent's message seq in conversation conv: when no requester
 * connection follows conv, a job queues the "agent replied" mail. */
static void away_mail(hub *h, int64_t conv, int seq)
{
    for (struct hub_conn *c = h->conv_ix[ix_bucket(conv)]; c; c = c->ix_next[HUB_IX_CONV])
        if (c->t && c->client.role == DESK_REQUESTER && c->conv == conv)
            return;
    struct desk_job *job = pool_job_new();
    job->msg.type = DM_AWAY;
    job->msg.conv = conv;
    job->msg.after_seq = seq;
    hub_own_job(h, job, "reply mail");
}

static void release(hub *h, struct hub_conn *c)
{
    c->busy = 0;
    if (!c->t) {
        conn_free_if_idle(c);
        return;
    }
    pump(h, c);
}

/* Hands search sg for connection c to the search stage, or keeps it as the
 * next one (replacing an older one waiting) while a search is out. */
static void suggest(hub *h, struct hub_conn *c, const struct desk_suggest *sg)
{
    if (!c->t || (!sg->requester && !sg->agent))
        return;
    if (c->searching) {
        struct desk_suggest *n = &c->next_sugg;
        if ((n->requester || n->agent) && n->conv == sg->conv) {
            if (sg->requester) {
                n->requester = 1;
                n->for_seq = sg->for_seq;
            }
            if (sg->agent) {
                n->agent = 1;
                n->agent_id = sg->agent_id;
                memcpy(n->ticket, sg->ticket, sizeof n->ticket);
            }
        } else {
            *n = *sg;
        }
        return;
    }
    struct desk_job *job = pool_job_new();
    job->conn = c;
    client_get(&c->client, &job->client);
    job->search = 1;
    job->suggest = *sg;
    if (h->ops.submit(h->ops.ud, job)) {
        kb_debug("conn %llu: suggestions skipped: the search queue is full", c->id);
        pool_job_free(job);
        return;
    }
    c->searching = 1;
}

/* A finished suggestion search: deliver it (to the same person still signed
 * in on c), then start the one waiting. */
static void suggest_done(hub *h, struct desk_job *job)
{
    struct hub_conn *c = job->conn;
    c->searching = 0;
    if (!c->t) {
        pool_job_free(job);
        conn_free_if_idle(c);
        return;
    }
    int same = same_person(&c->client, &job->client);
    struct desk_frame *f = desk_outbox_take(&job->out);
    for (struct desk_frame *p = f; p; p = p->next)
        if (same || p->to != DESK_TO_SELF)
            deliver(h, c, p);
    desk_frame_free(f);
    pool_job_free(job);
    struct desk_suggest next = c->next_sugg;
    memset(&c->next_sugg, 0, sizeof c->next_sugg);
    suggest(h, c, &next);
}

void hub_deliver(hub *h, struct desk_frame *f)
{
    for (struct desk_frame *p = f; p; p = p->next)
        deliver(h, NULL, p); /* DESK_TO_SELF has nobody to go to */
    desk_frame_free(f);
}

/* ---- who has a ticket open ------------------------------------------------------- */

/* Tells every agent connection with ticket open which other agents have it
 * open too: {"type":"viewers","ticket":...,"agents":[{"id","name"}]}, each
 * person once and never the receiver. This instance's connections only. */
static void tell_viewers(hub *h, const char *ticket)
{
    if (!ticket[0])
        return;
    for (struct hub_conn *to = h->agents; to; to = to->ix_next[HUB_IX_AGENT]) {
        if (!to->t || to->client.role != DESK_AGENT || strcmp(to->viewing, ticket) != 0)
            continue;
        json_t *agents = json_array();
        for (struct hub_conn *c = h->agents; c; c = c->ix_next[HUB_IX_AGENT]) {
            if (!c->t || c->client.role != DESK_AGENT || strcmp(c->viewing, ticket) != 0 ||
                c->client.person_id == to->client.person_id)
                continue;
            int seen = 0;
            for (size_t i = 0; i < json_array_size(agents) && !seen; i++)
                seen = json_integer_value(json_object_get(json_array_get(agents, i), "id")) ==
                       (json_int_t)c->client.person_id;
            if (!seen)
                json_array_append_new(agents, json_pack("{s:I, s:s}", "id",
                                                        (json_int_t)c->client.person_id, "name",
                                                        c->client.name ? c->client.name : ""));
        }
        json_t *f = json_pack("{s:s, s:s, s:o}", "type", "viewers", "ticket", ticket, "agents",
                              agents);
        size_t len;
        char *text = proto_dump(f, &len); /* takes f */
        emit(h, to, text, len);
        free(text);
    }
}

/* Connection c has ticket now open (or none: ""): its old and new
 * tickets' viewers are told. */
static void set_viewing(hub *h, struct hub_conn *c, const char *now)
{
    if (strcmp(c->viewing, now) == 0)
        return;
    char was[sizeof c->viewing];
    memcpy(was, c->viewing, sizeof was);
    snprintf(c->viewing, sizeof c->viewing, "%s", now);
    tell_viewers(h, was);
    tell_viewers(h, c->viewing);
}

void hub_done(hub *h, struct desk_job *job)
{
    if (job->search && job->conn) {
        suggest_done(h, job);
        return;
    }
    struct hub_conn *c = job->conn;
    struct desk_outbox *out = &job->out;
    if (!c) { /* the daemon's own job (hub_own_job): no connection asked, but
               * its frames to people, agents and conversations go out */
        if (job->msg.type == DM_MAIL) {
            h->mailing = 0;
            if (out->mail_sent || out->mail_failed)
                kb_info("mail: %d sent, %d failed (retried later)", out->mail_sent,
                        out->mail_failed);
            if (out->hook_sent || out->hook_failed)
                kb_info("hooks: %d delivered, %d failed (retried later)", out->hook_sent,
                        out->hook_failed);
        }
        if (job->msg.type == DM_MAINTAIN &&
            (out->auto_closed || out->sessions_purged || out->requesters_purged))
            kb_info("maintenance: %d resolved tickets closed, %d expired sessions purged, "
                    "%d idle requester identities purged",
                    out->auto_closed, out->sessions_purged, out->requesters_purged);
        if (job->msg.type == DM_SLA && out->sla_marked)
            kb_info("service levels: %d warnings and breaches marked", out->sla_marked);
        hub_deliver(h, desk_outbox_take(out));
        pool_job_free(job);
        return;
    }
    if (job->msg.type == DM_LOGIN || job->msg.type == DM_SIGNIN ||
        (job->msg.type == DM_HELLO && job->msg.link)) {
        hub_addrs_login_result(&h->addrs, c->akey, out->login, h->ops.now());
        if (out->locked_for > 0)
            kb_warn("login: account %s locked for %d s after repeated wrong passwords "
                    "(the last from %s)",
                    job->msg.username ? job->msg.username : "?", out->locked_for,
                    c->client.addr[0] ? c->client.addr : "an unknown address");
    }
    if (!c->t) {
        pool_job_free(job);
        release(h, c);
        return;
    }
    if (out->client_set) {
        if (!same_person(&c->client, &out->client)) {
            memset(&c->next_sugg, 0, sizeof c->next_sugg); /* someone else's */
            kb_debug("conn %llu: signed in as person %lld (%s)", c->id,
                     (long long)out->client.person_id,
                     out->client.role == DESK_AGENT       ? "agent"
                     : out->client.role == DESK_REQUESTER ? "requester"
                                                          : "nobody");
        }
        client_set(&c->client, &out->client);
        if (c->client.role != DESK_AGENT)
            set_viewing(h, c, ""); /* signed out */
    }
    if (out->attach) {
        c->conv = out->attach_conv;
        c->delivered = out->attach_after;
        c->nseen = 0;
        held_free(c->held_head);
        c->held_head = c->held_tail = NULL;
        c->catchup = 0;
        request_catchup(c);
    }
    if (out->client_set || out->attach)
        index_update(h, c);
    if (job->msg.type == DM_CATCHUP && !out->attach) {
        /* the replay comes first, then what was held back meanwhile */
        struct desk_frame *f = desk_outbox_take(out);
        for (struct desk_frame *p = f; p; p = p->next)
            deliver(h, c, p);
        desk_frame_free(f);
        c->catchup = 0;
        flush_held(h, c);
    } else {
        struct desk_frame *f = desk_outbox_take(out);
        for (struct desk_frame *p = f; p; p = p->next) {
            deliver(h, c, p);
            if (job->msg.type == DM_REPLY && p->to == DESK_TO_CONV && p->seq > 0)
                away_mail(h, p->target, p->seq);
        }
        desk_frame_free(f);
    }
    if (out->viewing[0] && c->client.role == DESK_AGENT)
        set_viewing(h, c, out->viewing);
    if (job->msg.type == DM_LEAVE && job->msg.ticket && strcmp(c->viewing, job->msg.ticket) == 0)
        set_viewing(h, c, ""); /* in order with the connection's opens */
    /* the ack is out: now the suggestions' search (with the client as
     * changed by this job) */
    struct desk_suggest sg = out->suggest;
    pool_job_free(job);
    if (sg.requester || sg.agent)
        suggest(h, c, &sg);
    release(h, c);
}

void hub_drop(hub *h, struct desk_job *job)
{
    struct hub_conn *c = job->conn;
    int search = job->search;
    pool_job_free(job);
    if (c) {
        if (search)
            c->searching = 0;
        else
            c->busy = 0;
        conn_free_if_idle(c);
    }
    (void)h;
}

void hub_closed(hub *h, struct hub_conn *c)
{
    kb_debug("conn %llu: closed", c->id);
    c->t = NULL;
    set_viewing(h, c, ""); /* (c->t is NULL: it is not told itself) */
    index_update(h, c); /* out of every index */
    if (c->prev)
        c->prev->next = c->next;
    else
        h->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    h->nconns--;
    items_free(c->q_head);
    c->q_head = c->q_tail = NULL;
    c->q_len = 0;
    held_free(c->held_head);
    c->held_head = c->held_tail = NULL;
    memset(&c->next_sugg, 0, sizeof c->next_sugg);
    conn_free_if_idle(c);
}

int hub_own_job(hub *h, struct desk_job *job, const char *what)
{
    job->conn = NULL;
    memset(&job->client, 0, sizeof job->client);
    if (h->ops.submit(h->ops.ud, job)) {
        kb_warn("%s skipped: the workers are saturated", what);
        pool_job_free(job);
        return -1;
    }
    return 0;
}

void hub_sla(hub *h)
{
    struct desk_job *job = pool_job_new();
    job->msg.type = DM_SLA;
    hub_own_job(h, job, "the SLA check");
}

void hub_mail(hub *h)
{
    if (h->mailing)
        return; /* one round at a time */
    struct desk_job *job = pool_job_new();
    job->msg.type = DM_MAIL;
    if (hub_own_job(h, job, "mail round") == 0)
        h->mailing = 1;
}

void hub_maintain(hub *h)
{
    hub_addrs_prune(&h->addrs, h->ops.now());
    struct desk_job *job = pool_job_new();
    job->msg.type = DM_MAINTAIN;
    hub_own_job(h, job, "maintenance");
}

/* ---- several instances (cluster.c) ----------------------------------------------- */

void hub_resync(hub *h)
{
    for (struct hub_conn *c = h->conns; c; c = c->next)
        if (c->t && c->client.role == DESK_REQUESTER && c->conv) {
            request_catchup(c);
            pump(h, c);
        }
}
