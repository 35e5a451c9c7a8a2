/* Unit tests for chatdesk/hub, the service thread's bookkeeping, with a
 * fake transport (frames sent are recorded per connection) and a fake pool
 * (submitted jobs wait until the test finishes them, in any order): answers
 * keep the order of the requests, one job per connection at a time, the
 * rate limit, the routing of outbox frames, and the exactly-once, in-order
 * delivery of conversation messages to requester connections (gaps filled
 * by catch-up jobs, duplicates and acknowledged seqs skipped), and the
 * outboxes of the daemon's own (timer) jobs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../chatdesk/hub.h"

/* ---- fakes --------------------------------------------------------------- */

#define MAXF 128

struct tconn {
    char *sent[MAXF];
    int n;
};

static struct {
    struct desk_job *jobs[MAXF]; /* submitted, not finished */
    int njobs;
    int refuse;                  /* submit fails */
    double now;
} fk;

static void f_send(void *t, const char *json, size_t len)
{
    struct tconn *c = t;
    assert_true(c->n < MAXF);
    c->sent[c->n++] = strndup(json, len);
}

static int f_submit(void *ud, struct desk_job *job)
{
    (void)ud;
    if (fk.refuse)
        return -1;
    assert_true(fk.njobs < MAXF);
    fk.jobs[fk.njobs++] = job;
    return 0;
}

static double f_now(void)
{
    return fk.now;
}

static hub *mk_hub(int rate, int burst)
{
    memset(&fk, 0, sizeof fk);
    fk.now = 100.0;
    struct hub_ops ops = {f_send, f_submit, NULL, f_now};
    struct hub_limits lim = {.max_frame = 1024, .rate = rate, .burst = burst};
    return hub_new(&ops, &lim);
}

static void tconn_fin(struct tconn *c)
{
    for (int i = 0; i < c->n; i++)
        free(c->sent[i]);
    memset(c, 0, sizeof *c);
}

/* Takes the submitted job number i (0 = oldest) out of the fake pool. */
static struct desk_job *take_job(int i)
{
    assert_true(i < fk.njobs);
    struct desk_job *job = fk.jobs[i];
    memmove(&fk.jobs[i], &fk.jobs[i + 1], (size_t)(fk.njobs - i - 1) * sizeof *fk.jobs);
    fk.njobs--;
    return job;
}

static void frame(hub *h, struct hub_conn *c, const char *s)
{
    hub_frame(h, c, s, strlen(s), 0, 0);
}

/* {"type":"message","seq":seq,"text":text} */
static void add_msg(struct desk_job *job, enum desk_target to, int64_t target, int seq,
                    int not_self)
{
    char text[32];
    snprintf(text, sizeof text, "m%d", seq);
    desk_outbox_add(&job->out, to, target,
                    json_pack("{s:s, s:i, s:s}", "type", "message", "seq", seq, "text", text));
    job->out.tail->seq = seq;
    job->out.tail->not_self = not_self;
}

/* {"type":"ack","id":id,"seq":seq}, the ack of the client's own message */
static void add_ack(struct desk_job *job, const char *id, int seq)
{
    desk_outbox_add(&job->out, DESK_TO_SELF, 0,
                    json_pack("{s:s, s:s, s:i}", "type", "ack", "id", id, "seq", seq));
    job->out.tail->ack_seq = seq;
}

static void add_type(struct desk_job *job, enum desk_target to, int64_t target, const char *type)
{
    desk_outbox_add(&job->out, to, target, json_pack("{s:s}", "type", type));
}

static const char *type_of(const char *json)
{
    static char buf[64];
    json_t *o = json_loads(json, 0, NULL);
    assert_non_null(o);
    snprintf(buf, sizeof buf, "%s", json_string_value(json_object_get(o, "type")));
    json_decref(o);
    return buf;
}

static int seq_of(const char *json)
{
    json_t *o = json_loads(json, 0, NULL);
    assert_non_null(o);
    int s = (int)json_integer_value(json_object_get(o, "seq"));
    json_decref(o);
    return s;
}

static const char *code_of(const char *json)
{
    static char buf[64];
    json_t *o = json_loads(json, 0, NULL);
    snprintf(buf, sizeof buf, "%s", json_string_value(json_object_get(o, "code")));
    json_decref(o);
    return buf;
}

/* Signs connection c in (a finished hello job): person, role, conversation
 * followed from after_seq. Leaves the catch-up job it triggers submitted. */
static void sign_in(hub *h, struct hub_conn *c, enum desk_role role, int64_t person,
                    int64_t conv, int after_seq)
{
    frame(h, c, role == DESK_AGENT ? "{\"type\":\"login\",\"username\":\"a\",\"password\":\"p\"}"
                                   : "{\"type\":\"hello\",\"name\":\"x\"}");
    struct desk_job *job = take_job(fk.njobs - 1);
    assert_ptr_equal(job->conn, c);
    job->out.client_set = 1;
    job->out.client.role = role;
    job->out.client.person_id = person;
    job->out.client.conv_id = conv;
    if (role == DESK_REQUESTER) {
        job->out.attach = 1;
        job->out.attach_conv = conv;
        job->out.attach_after = after_seq;
    }
    add_type(job, DESK_TO_SELF, 0, "welcome");
    hub_done(h, job);
}

/* ---- tests ------------------------------------------------------------------ */

static void answers_keep_request_order(void **state)
{
    (void)state;
    hub *h = mk_hub(100, 100);
    struct tconn t = {0};
    struct hub_conn *c = hub_open(h, &t, "127.0.0.1");
    frame(h, c, "{\"type\":\"queue\",\"id\":\"1\"}");
    frame(h, c, "{\"type\":\"queue\",\"id\":\"2\"}");
    frame(h, c, "not json");
    frame(h, c, "{\"type\":\"ping\",\"id\":\"3\"}");
    /* one job at a time; the error and the pong wait for the first answer */
    assert_int_equal(fk.njobs, 1);
    assert_int_equal(t.n, 0);
    struct desk_job *j1 = take_job(0);
    assert_string_equal(j1->msg.id, "1");
    add_type(j1, DESK_TO_SELF, 0, "queue");
    hub_done(h, j1);
    assert_int_equal(t.n, 1);
    assert_int_equal(fk.njobs, 1); /* the second went to the pool */
    struct desk_job *j2 = take_job(0);
    assert_string_equal(j2->msg.id, "2");
    add_type(j2, DESK_TO_SELF, 0, "queue");
    hub_done(h, j2);
    assert_int_equal(t.n, 4);
    assert_string_equal(type_of(t.sent[0]), "queue");
    assert_string_equal(type_of(t.sent[1]), "queue");
    assert_string_equal(code_of(t.sent[2]), "bad_json");
    assert_string_equal(type_of(t.sent[3]), "pong");
    /* with nothing in flight, errors and pongs go out at once */
    frame(h, c, "[]");
    assert_int_equal(t.n, 5);
    assert_string_equal(code_of(t.sent[4]), "not_object");
    hub_closed(h, c);
    hub_free(h);
    tconn_fin(&t);
}

static void bad_frames_rate_limit_and_overload(void **state)
{
    (void)state;
    hub *h = mk_hub(1, 3);
    struct tconn t = {0};
    struct hub_conn *c = hub_open(h, &t, "127.0.0.1");
    hub_frame(h, c, "", 0, 0, 1);
    hub_frame(h, c, "\x01\x02", 2, 1, 0);
    frame(h, c, "{\"type\":\"ping\",\"id\":\"p\"}");
    frame(h, c, "{\"type\":\"ping\",\"id\":\"q\"}"); /* the 4th in the same instant */
    assert_int_equal(t.n, 4);
    assert_string_equal(code_of(t.sent[0]), "too_large");
    assert_string_equal(code_of(t.sent[1]), "bad_frame");
    assert_string_equal(type_of(t.sent[2]), "pong");
    assert_string_equal(code_of(t.sent[3]), "rate_limited");
    assert_true(strstr(t.sent[3], "\"id\":\"q\"") != NULL);
    fk.now += 1.0; /* one more token */
    frame(h, c, "{\"type\":\"ping\"}");
    frame(h, c, "{\"type\":\"ping\"}");
    assert_string_equal(type_of(t.sent[4]), "pong");
    assert_string_equal(code_of(t.sent[5]), "rate_limited");
    hub_closed(h, c);
    hub_free(h);
    tconn_fin(&t);

    /* a full pool: overloaded, and the connection carries on */
    h = mk_hub(1000, 1000);
    c = hub_open(h, &t, "127.0.0.1");
    fk.refuse = 1;
    frame(h, c, "{\"type\":\"queue\",\"id\":\"z\"}");
    assert_int_equal(t.n, 1);
    assert_string_equal(code_of(t.sent[0]), "overloaded");
    fk.refuse = 0;
    frame(h, c, "{\"type\":\"queue\"}");
    assert_int_equal(fk.njobs, 1);
    /* too many waiting */
    for (int i = 0; i < HUB_MAX_PENDING + 1; i++)
        frame(h, c, "{\"type\":\"queue\"}");
    /* the error waits its turn behind the 64 queued requests */
    int jobs = 0;
    while (fk.njobs) {
        hub_done(h, take_job(0));
        jobs++;
    }
    assert_int_equal(jobs, 1 + HUB_MAX_PENDING);
    int over = 0;
    for (int i = 0; i < t.n; i++)
        over += strcmp(code_of(t.sent[i]), "overloaded") == 0;
    assert_int_equal(over, 2);
    assert_string_equal(code_of(t.sent[t.n - 1]), "overloaded");
    frame(h, c, "{\"type\":\"queue\"}");
    hub_closed(h, c);
    /* the job in flight comes back after the close: dropped, no leak */
    assert_int_equal(fk.njobs, 1);
    hub_done(h, take_job(0));
    hub_free(h);
    tconn_fin(&t);
}

static void routing(void **state)
{
    (void)state;
    hub *h = mk_hub(100, 100);
    struct tconn ta = {0}, tb = {0}, tr = {0}, tr2 = {0}, tn = {0};
    struct hub_conn *a = hub_open(h, &ta, "127.0.0.1"), *b = hub_open(h, &tb, "127.0.0.1"), *r = hub_open(h, &tr, "127.0.0.1"),
                    *r2 = hub_open(h, &tr2, "127.0.0.1");
    hub_open(h, &tn, "127.0.0.1"); /* signed in as nobody */
    sign_in(h, a, DESK_AGENT, 10, 0, 0);
    sign_in(h, b, DESK_AGENT, 11, 0, 0);
    sign_in(h, r, DESK_REQUESTER, 20, 7, 0);
    sign_in(h, r2, DESK_REQUESTER, 20, 7, 0);
    while (fk.njobs) /* the catch-ups find nothing */
        hub_done(h, take_job(0));
    tconn_fin(&ta);
    tconn_fin(&tb);
    tconn_fin(&tr);
    tconn_fin(&tr2);
    frame(h, r, "{\"type\":\"escalate\",\"impact\":1,\"urgency\":1}");
    struct desk_job *j = take_job(0);
    add_type(j, DESK_TO_SELF, 0, "ticket");
    add_type(j, DESK_TO_AGENTS, 0, "queue_update");
    add_type(j, DESK_TO_PERSON, 11, "typing");
    desk_outbox_add(&j->out, DESK_TO_CONV, 7, json_pack("{s:s}", "type", "resolved"));
    j->out.tail->not_self = 1;
    hub_done(h, j);
    assert_int_equal(ta.n, 1);
    assert_string_equal(type_of(ta.sent[0]), "queue_update");
    assert_int_equal(tb.n, 2);
    assert_string_equal(type_of(tb.sent[1]), "typing");
    assert_int_equal(tr.n, 1);
    assert_string_equal(type_of(tr.sent[0]), "ticket");
    assert_int_equal(tr2.n, 1);
    assert_string_equal(type_of(tr2.sent[0]), "resolved");
    assert_int_equal(tn.n, 0);
    hub_free(h); /* frees the connections left */
    tconn_fin(&ta);
    tconn_fin(&tb);
    tconn_fin(&tr);
    tconn_fin(&tr2);
}

static void messages_exactly_once_in_order(void **state)
{
    (void)state;
    hub *h = mk_hub(1000, 1000);
    struct tconn tr = {0}, ta = {0};
    struct hub_conn *r = hub_open(h, &tr, "127.0.0.1"), *a = hub_open(h, &ta, "127.0.0.1");
    sign_in(h, a, DESK_AGENT, 10, 0, 0);
    /* the requester resumes having seen seq 2 */
    sign_in(h, r, DESK_REQUESTER, 20, 7, 2);
    assert_int_equal(fk.njobs, 1);
    struct desk_job *cu = take_job(0);
    assert_int_equal(cu->msg.type, DM_CATCHUP);
    assert_int_equal(cu->msg.after_seq, 2);
    assert_int_equal(cu->client.conv_id, 7);
    /* meanwhile the agent replies: seq 4 is pushed before the replay is back */
    frame(h, a, "{\"type\":\"reply\",\"ticket\":\"INC-1\",\"id\":\"x\",\"text\":\"t\"}");
    struct desk_job *rep = take_job(0);
    add_msg(rep, DESK_TO_CONV, 7, 4, 0);
    hub_done(h, rep);
    assert_int_equal(tr.n, 1); /* only the welcome: 4 is held back */
    add_msg(cu, DESK_TO_SELF, 0, 3, 0);
    add_msg(cu, DESK_TO_SELF, 0, 4, 0);
    hub_done(h, cu);
    assert_int_equal(tr.n, 3);
    assert_int_equal(seq_of(tr.sent[1]), 3);
    assert_int_equal(seq_of(tr.sent[2]), 4); /* once */

    /* a gap: 6 arrives before 5 */
    frame(h, a, "{\"type\":\"reply\",\"ticket\":\"INC-1\",\"id\":\"y\",\"text\":\"t\"}");
    rep = take_job(0);
    add_msg(rep, DESK_TO_CONV, 7, 6, 0);
    hub_done(h, rep);
    assert_int_equal(tr.n, 3);
    assert_int_equal(fk.njobs, 1);
    cu = take_job(0);
    assert_int_equal(cu->msg.type, DM_CATCHUP);
    assert_int_equal(cu->msg.after_seq, 4);
    frame(h, a, "{\"type\":\"reply\",\"ticket\":\"INC-1\",\"id\":\"z\",\"text\":\"t\"}");
    rep = take_job(0);
    add_msg(rep, DESK_TO_CONV, 7, 5, 0);
    hub_done(h, rep); /* held: the catch-up is running */
    assert_int_equal(tr.n, 3);
    add_msg(cu, DESK_TO_SELF, 0, 5, 0);
    add_msg(cu, DESK_TO_SELF, 0, 6, 0);
    hub_done(h, cu);
    assert_int_equal(tr.n, 5);
    assert_int_equal(seq_of(tr.sent[3]), 5);
    assert_int_equal(seq_of(tr.sent[4]), 6);
    assert_int_equal(fk.njobs, 0);

    /* the requester's own message (ack 8) is stored after the agent's 7 but
     * comes back first: the ack waits for 7 (a client resumes from the
     * highest seq it has seen, so 7 must not come after 8) */
    frame(h, r, "{\"type\":\"message\",\"id\":\"m8\",\"text\":\"t\"}");
    struct desk_job *own = take_job(0);
    add_ack(own, "m8", 8);
    add_msg(own, DESK_TO_CONV, 7, 8, 1); /* for other tabs */
    hub_done(h, own);
    assert_int_equal(tr.n, 5);           /* held */
    assert_int_equal(fk.njobs, 1);
    cu = take_job(0);
    assert_int_equal(cu->msg.type, DM_CATCHUP);
    assert_int_equal(cu->msg.after_seq, 6);
    frame(h, a, "{\"type\":\"reply\",\"ticket\":\"INC-1\",\"id\":\"w\",\"text\":\"t\"}");
    rep = take_job(0);
    add_msg(rep, DESK_TO_CONV, 7, 7, 0);
    add_msg(rep, DESK_TO_CONV, 7, 7, 0); /* a duplicate push */
    hub_done(h, rep);
    assert_int_equal(tr.n, 5);           /* held behind the catch-up */
    add_msg(cu, DESK_TO_SELF, 0, 7, 0);
    add_msg(cu, DESK_TO_SELF, 0, 8, 0);  /* the own message: acked, not replayed */
    hub_done(h, cu);
    assert_int_equal(tr.n, 7);
    assert_int_equal(seq_of(tr.sent[5]), 7);
    assert_string_equal(type_of(tr.sent[5]), "message");
    assert_string_equal(type_of(tr.sent[6]), "ack");
    assert_int_equal(seq_of(tr.sent[6]), 8);
    assert_int_equal(fk.njobs, 0);
    /* 9 follows directly */
    frame(h, a, "{\"type\":\"reply\",\"ticket\":\"INC-1\",\"id\":\"v\",\"text\":\"t\"}");
    rep = take_job(0);
    add_msg(rep, DESK_TO_CONV, 7, 9, 0);
    hub_done(h, rep);
    assert_int_equal(tr.n, 8);
    assert_int_equal(seq_of(tr.sent[7]), 9);
    /* an ack that follows on (10) and a duplicate one (8 again) go out at once */
    frame(h, r, "{\"type\":\"message\",\"id\":\"m10\",\"text\":\"t\"}");
    own = take_job(0);
    add_ack(own, "m10", 10);
    hub_done(h, own);
    frame(h, r, "{\"type\":\"message\",\"id\":\"m8\",\"text\":\"t\"}");
    own = take_job(0);
    add_ack(own, "m8", 8);
    hub_done(h, own);
    assert_int_equal(tr.n, 10);
    assert_int_equal(seq_of(tr.sent[8]), 10);
    assert_int_equal(seq_of(tr.sent[9]), 8);
    assert_int_equal(fk.njobs, 0);
    /* the push of 11 is lost (its job failed after storing it): the ack of
     * 12 waits for a catch-up, which brings 11 */
    frame(h, r, "{\"type\":\"message\",\"id\":\"m12\",\"text\":\"t\"}");
    own = take_job(0);
    add_ack(own, "m12", 12);
    hub_done(h, own);
    assert_int_equal(tr.n, 10);
    cu = take_job(0);
    assert_int_equal(cu->msg.type, DM_CATCHUP);
    assert_int_equal(cu->msg.after_seq, 10);
    add_msg(cu, DESK_TO_SELF, 0, 11, 0);
    add_msg(cu, DESK_TO_SELF, 0, 12, 0);
    hub_done(h, cu);
    assert_int_equal(tr.n, 12);
    assert_int_equal(seq_of(tr.sent[10]), 11);
    assert_string_equal(type_of(tr.sent[11]), "ack");
    assert_int_equal(seq_of(tr.sent[11]), 12);
    /* a catch-up that cannot start (the pool is full) lets the ack go */
    frame(h, r, "{\"type\":\"message\",\"id\":\"m14\",\"text\":\"t\"}");
    own = take_job(0);
    add_ack(own, "m14", 14);
    fk.refuse = 1;
    hub_done(h, own);
    fk.refuse = 0;
    assert_int_equal(tr.n, 14);
    assert_string_equal(type_of(tr.sent[12]), "ack");
    assert_int_equal(seq_of(tr.sent[12]), 14);
    assert_string_equal(code_of(tr.sent[13]), "overloaded");
    /* a catch-up replaying acknowledged seqs skips them */
    assert_int_equal(fk.njobs, 0);
    hub_closed(h, r);
    hub_closed(h, a);
    hub_free(h);
    tconn_fin(&tr);
    tconn_fin(&ta);
}

/* An ack held for a catch-up keeps its place among the messages around it:
 * the replay also brings messages stored after the ack's own, and those go
 * out after the ack, not before it. */
static void held_acks_keep_their_place(void **state)
{
    (void)state;
    hub *h = mk_hub(1000, 1000);
    struct tconn tr = {0};
    struct hub_conn *r = hub_open(h, &tr, "127.0.0.1");
    sign_in(h, r, DESK_REQUESTER, 20, 7, 2);
    hub_done(h, take_job(0)); /* the catch-up: nothing after 2 */
    assert_int_equal(tr.n, 1);

    /* own message 4 is acked while 3 (an agent's) has not reached r; the
     * catch-up also brings 5 and 6, stored meanwhile */
    frame(h, r, "{\"type\":\"message\",\"id\":\"m4\",\"text\":\"t\"}");
    struct desk_job *own = take_job(0);
    add_ack(own, "m4", 4);
    hub_done(h, own);
    assert_int_equal(tr.n, 1);
    struct desk_job *cu = take_job(0);
    assert_int_equal(cu->msg.type, DM_CATCHUP);
    assert_int_equal(cu->msg.after_seq, 2);
    for (int seq = 3; seq <= 6; seq++)
        add_msg(cu, DESK_TO_SELF, 0, seq, 0);
    hub_done(h, cu);
    assert_int_equal(tr.n, 5);
    const char *want_type[] = {"message", "ack", "message", "message"};
    for (int i = 0; i < 4; i++) {
        assert_string_equal(type_of(tr.sent[1 + i]), want_type[i]);
        assert_int_equal(seq_of(tr.sent[1 + i]), 3 + i);
    }
    assert_int_equal(fk.njobs, 0);

    /* two own acks (9, 10) wait for 7 and 8; the replay ends with the
     * second: both go out, each after the message below it */
    frame(h, r, "{\"type\":\"message\",\"id\":\"m8\",\"text\":\"t\"}");
    own = take_job(0);
    add_ack(own, "m8", 8);
    hub_done(h, own);
    cu = take_job(0);
    assert_int_equal(cu->msg.after_seq, 6);
    frame(h, r, "{\"type\":\"message\",\"id\":\"m10\",\"text\":\"t\"}");
    for (int seq = 7; seq <= 8; seq++)
        add_msg(cu, DESK_TO_SELF, 0, seq, 0);
    hub_done(h, cu);
    assert_int_equal(tr.n, 7);
    assert_string_equal(type_of(tr.sent[5]), "message");
    assert_int_equal(seq_of(tr.sent[5]), 7);
    assert_string_equal(type_of(tr.sent[6]), "ack");
    assert_int_equal(seq_of(tr.sent[6]), 8);
    own = take_job(0);
    add_ack(own, "m10", 10);
    hub_done(h, own);
    cu = take_job(0);
    assert_int_equal(cu->msg.after_seq, 8);
    for (int seq = 9; seq <= 11; seq++)
        add_msg(cu, DESK_TO_SELF, 0, seq, 0);
    hub_done(h, cu);
    assert_int_equal(tr.n, 10);
    assert_string_equal(type_of(tr.sent[7]), "message");
    assert_int_equal(seq_of(tr.sent[7]), 9);
    assert_string_equal(type_of(tr.sent[8]), "ack");
    assert_int_equal(seq_of(tr.sent[8]), 10);
    assert_string_equal(type_of(tr.sent[9]), "message");
    assert_int_equal(seq_of(tr.sent[9]), 11);
    assert_int_equal(fk.njobs, 0);
    hub_closed(h, r);
    hub_free(h);
    tconn_fin(&tr);
}

/* A job whose outbox signs its connection out (session_expired, logout). */
static void sign_out(hub *h, struct hub_conn *c, const char *frame_json)
{
    frame(h, c, frame_json);
    struct desk_job *job = take_job(fk.njobs - 1);
    assert_ptr_equal(job->conn, c);
    assert_int_not_equal(job->client.role, DESK_NONE);
    job->out.client_set = 1;
    memset(&job->out.client, 0, sizeof job->out.client);
    job->out.attach = 1;
    desk_outbox_error(&job->out, P_SESSION_EXPIRED, "expired", job->msg.id, NULL);
    hub_done(h, job);
}

static void signed_out_connections_hear_nothing_more(void **state)
{
    (void)state;
    hub *h = mk_hub(1000, 1000);
    struct tconn tr = {0}, ta = {0}, tx = {0};
    struct hub_conn *r = hub_open(h, &tr, "127.0.0.1"), *a = hub_open(h, &ta, "127.0.0.1"), *x = hub_open(h, &tx, "127.0.0.1");
    sign_in(h, r, DESK_REQUESTER, 20, 7, 0);
    sign_in(h, a, DESK_AGENT, 10, 0, 0);
    sign_in(h, x, DESK_AGENT, 11, 0, 0);
    while (fk.njobs)
        hub_done(h, take_job(0));
    sign_out(h, r, "{\"type\":\"message\",\"id\":\"m1\",\"text\":\"t\"}");
    sign_out(h, a, "{\"type\":\"queue\",\"id\":\"q1\"}");
    assert_string_equal(code_of(tr.sent[tr.n - 1]), "session_expired");
    assert_string_equal(code_of(ta.sent[ta.n - 1]), "session_expired");
    assert_int_equal(fk.njobs, 0); /* no catch-up for a connection following nothing */
    int nr = tr.n, na = ta.n, nx = tx.n;
    /* pushes for the conversation, the person and every agent pass them by */
    frame(h, x, "{\"type\":\"reply\",\"ticket\":\"INC-1\",\"id\":\"y\",\"text\":\"t\"}");
    struct desk_job *rep = take_job(0);
    add_msg(rep, DESK_TO_CONV, 7, 1, 0);
    add_type(rep, DESK_TO_PERSON, 10, "typing");
    add_type(rep, DESK_TO_AGENTS, 0, "queue_update");
    hub_done(h, rep);
    assert_int_equal(tr.n, nr);
    assert_int_equal(ta.n, na);
    assert_int_equal(tx.n, nx + 1); /* the still signed-in agent */
    /* nobody follows the conversation now: the reply is to be mailed */
    assert_int_equal(fk.njobs, 1);
    struct desk_job *away = take_job(0);
    assert_int_equal(away->msg.type, DM_AWAY);
    assert_int_equal(away->msg.conv, 7);
    assert_int_equal(away->msg.after_seq, 1);
    assert_null(away->conn);
    hub_done(h, away);
    /* their next frames go to the workers as nobody's */
    frame(h, r, "{\"type\":\"message\",\"id\":\"m2\",\"text\":\"t\"}");
    struct desk_job *j = take_job(0);
    assert_int_equal(j->client.role, DESK_NONE);
    assert_int_equal(j->client.person_id, 0);
    hub_done(h, j);
    hub_free(h);
    tconn_fin(&tr);
    tconn_fin(&ta);
    tconn_fin(&tx);
}

/* A finished message job for connection c: its ack (seq) and the search it
 * asks for. */
static void finish_message(hub *h, int seq)
{
    struct desk_job *job = take_job(0);
    assert_false(job->search);
    desk_outbox_add(&job->out, DESK_TO_SELF, 0,
                    json_pack("{s:s, s:s, s:i}", "type", "ack", "id", job->msg.id, "seq", seq));
    job->out.tail->ack_seq = seq;
    job->out.suggest.requester = 1;
    job->out.suggest.conv = 7;
    job->out.suggest.for_seq = seq;
    hub_done(h, job);
}

/* The index of the submitted search job, or -1. */
static int search_job(void)
{
    for (int i = 0; i < fk.njobs; i++)
        if (fk.jobs[i]->search)
            return i;
    return -1;
}

static void suggestions_follow_acks_without_holding_them(void **state)
{
    (void)state;
    hub *h = mk_hub(1000, 1000);
    struct tconn t = {0};
    struct hub_conn *c = hub_open(h, &t, "127.0.0.1");
    sign_in(h, c, DESK_REQUESTER, 20, 7, 0);
    while (fk.njobs)
        hub_done(h, take_job(0));
    int n0 = t.n;
    frame(h, c, "{\"type\":\"message\",\"id\":\"m1\",\"text\":\"t\"}");
    finish_message(h, 1);
    /* the ack is out at once; the search goes to the search stage */
    assert_int_equal(t.n, n0 + 1);
    assert_string_equal(type_of(t.sent[n0]), "ack");
    assert_int_equal(fk.njobs, 1);
    struct desk_job *s1 = fk.jobs[0];
    assert_true(s1->search);
    assert_ptr_equal(s1->conn, c);
    assert_int_equal(s1->client.person_id, 20);
    assert_int_equal(s1->suggest.for_seq, 1);
    /* the next messages do not wait for it, nor start a second search:
     * the latest one waits for it, replacing the one before */
    frame(h, c, "{\"type\":\"message\",\"id\":\"m2\",\"text\":\"t\"}");
    assert_int_equal(fk.njobs, 2);
    assert_int_equal(search_job(), 0);
    struct desk_job *held = take_job(0); /* keep the search out */
    assert_ptr_equal(held, s1);
    finish_message(h, 2);
    frame(h, c, "{\"type\":\"message\",\"id\":\"m3\",\"text\":\"t\"}");
    finish_message(h, 3);
    assert_int_equal(t.n, n0 + 3);
    assert_string_equal(type_of(t.sent[n0 + 2]), "ack");
    assert_int_equal(fk.njobs, 0);
    /* the search comes back: its suggestions go out, then the waiting one */
    desk_outbox_add(&held->out, DESK_TO_SELF, 0,
                    json_pack("{s:s, s:i}", "type", "suggestions", "for_seq", 1));
    hub_done(h, held);
    assert_int_equal(t.n, n0 + 4);
    assert_string_equal(type_of(t.sent[n0 + 3]), "suggestions");
    assert_int_equal(fk.njobs, 1);
    struct desk_job *s3 = take_job(0);
    assert_true(s3->search);
    assert_int_equal(s3->suggest.for_seq, 3);
    /* the connection closes while a search is out: freed when it is back */
    hub_closed(h, c);
    desk_outbox_add(&s3->out, DESK_TO_SELF, 0,
                    json_pack("{s:s, s:i}", "type", "suggestions", "for_seq", 3));
    hub_done(h, s3);
    assert_int_equal(t.n, n0 + 4);
    assert_int_equal(fk.njobs, 0);
    assert_int_equal(hub_count(h), 0);
    /* a full search queue skips the suggestions, not the ack */
    struct tconn t2 = {0};
    struct hub_conn *c2 = hub_open(h, &t2, "127.0.0.1");
    sign_in(h, c2, DESK_REQUESTER, 21, 7, 0);
    while (fk.njobs)
        hub_done(h, take_job(0));
    frame(h, c2, "{\"type\":\"message\",\"id\":\"m1\",\"text\":\"t\"}");
    fk.refuse = 1;
    finish_message(h, 1);
    fk.refuse = 0;
    assert_string_equal(type_of(t2.sent[t2.n - 1]), "ack");
    assert_int_equal(fk.njobs, 0);
    hub_closed(h, c2);
    hub_free(h);
    tconn_fin(&t);
    tconn_fin(&t2);
}

/* A hub with the per-address limits of the daemon's defaults, scaled. */
static hub *mk_hub_addr(int hello_per_minute, int hello_burst, int login_free, int max_delay,
                        int forget)
{
    memset(&fk, 0, sizeof fk);
    fk.now = 100.0;
    struct hub_ops ops = {f_send, f_submit, NULL, f_now};
    struct hub_limits lim = {.max_frame = 1024, .rate = 1000, .burst = 1000,
                             .hello_per_minute = hello_per_minute, .hello_burst = hello_burst,
                             .login_free = login_free, .login_max_delay = max_delay,
                             .login_forget = forget};
    return hub_new(&ops, &lim);
}

static int retry_after_of(const char *json)
{
    json_t *o = json_loads(json, 0, NULL);
    int v = (int)json_integer_value(json_object_get(o, "retry_after"));
    json_decref(o);
    return v;
}

/* New chats are limited per client address (a token bucket), not per
 * connection: a flood from one address gets rate_limited with retry_after
 * at once, without a job; another address is not affected. */
static void hellos_are_limited_per_address(void **state)
{
    (void)state;
    hub *h = mk_hub_addr(60, 3, 0, 0, 0); /* 1 a second, bursts of 3 */
    struct tconn t[6];
    memset(t, 0, sizeof t);
    struct hub_conn *c[6];
    for (int i = 0; i < 5; i++)
        c[i] = hub_open(h, &t[i], "192.0.2.7");
    c[5] = hub_open(h, &t[5], "2001:db8::1");
    for (int i = 0; i < 5; i++)
        frame(h, c[i], "{\"type\":\"hello\",\"name\":\"x\",\"id\":\"h\"}");
    /* three went to the workers, two were refused at once */
    assert_int_equal(fk.njobs, 3);
    for (int i = 3; i < 5; i++) {
        assert_int_equal(t[i].n, 1);
        assert_string_equal(code_of(t[i].sent[0]), "rate_limited");
        assert_int_equal(retry_after_of(t[i].sent[0]), 1);
        assert_true(strstr(t[i].sent[0], "\"id\":\"h\"") != NULL);
    }
    /* the other address has its own bucket */
    frame(h, c[5], "{\"type\":\"hello\",\"name\":\"y\"}");
    assert_int_equal(fk.njobs, 4);
    assert_int_equal(t[5].n, 0);
    /* a second later one more is allowed */
    fk.now += 1.0;
    frame(h, c[3], "{\"type\":\"hello\",\"name\":\"x\"}");
    assert_int_equal(fk.njobs, 5);
    frame(h, c[4], "{\"type\":\"hello\",\"name\":\"x\"}");
    assert_int_equal(fk.njobs, 5);
    assert_string_equal(code_of(t[4].sent[1]), "rate_limited");
    while (fk.njobs)
        hub_done(h, take_job(0));
    /* IPv6 addresses count by /64 (a subscriber's whole network), an
     * IPv4-mapped one as its IPv4 address */
    struct tconn t6[4];
    memset(t6, 0, sizeof t6);
    const char *addrs6[4] = {"2001:db8:1:2::5", "2001:db8:1:2:ffff::9", "::ffff:192.0.2.7",
                             "2001:db8:1:3::5"};
    struct hub_conn *c6[4];
    for (int i = 0; i < 4; i++)
        c6[i] = hub_open(h, &t6[i], addrs6[i]);
    frame(h, c6[0], "{\"type\":\"hello\",\"name\":\"x\"}");
    frame(h, c6[0], "{\"type\":\"hello\",\"name\":\"x\"}");
    frame(h, c6[1], "{\"type\":\"hello\",\"name\":\"x\"}"); /* the /64's third */
    frame(h, c6[1], "{\"type\":\"hello\",\"name\":\"x\"}"); /* its fourth: refused */
    frame(h, c6[2], "{\"type\":\"hello\",\"name\":\"x\"}"); /* 192.0.2.7: empty */
    frame(h, c6[3], "{\"type\":\"hello\",\"name\":\"x\"}"); /* another /64 */
    int jobs = 0;
    for (; fk.njobs; jobs++)
        hub_done(h, take_job(0));
    assert_int_equal(jobs, 4); /* c6[0] twice, c6[1] and c6[3] once */
    assert_int_equal(t6[1].n, 1);
    assert_string_equal(code_of(t6[1].sent[0]), "rate_limited");
    assert_int_equal(t6[2].n, 1);
    assert_string_equal(code_of(t6[2].sent[0]), "rate_limited");
    assert_int_equal(t6[3].n, 0);
    for (int i = 0; i < 4; i++) {
        hub_closed(h, c6[i]);
        tconn_fin(&t6[i]);
    }
    /* an idle address is forgotten by maintenance once its bucket is full */
    assert_int_equal(hub_addr_count(h), 4);
    fk.now += 10.0;
    hub_maintain(h);
    pool_job_free(take_job(0)); /* the maintenance job */
    assert_int_equal(hub_addr_count(h), 0);
    for (int i = 0; i < 6; i++) {
        hub_closed(h, c[i]);
        tconn_fin(&t[i]);
    }
    hub_free(h);
}

/* Finishes the login job at the front of the fake pool as result. */
static void finish_login(hub *h, int result)
{
    struct desk_job *job = take_job(0);
    assert_int_equal(job->msg.type, DM_LOGIN);
    job->out.login = result;
    if (result == DESK_LOGIN_OK) {
        job->out.client_set = 1;
        job->out.client.role = DESK_AGENT;
        job->out.client.person_id = 9;
        add_type(job, DESK_TO_SELF, 0, "welcome");
    } else {
        desk_outbox_error(&job->out, P_LOGIN_FAILED, "wrong user name or password", NULL, NULL);
    }
    hub_done(h, job);
}

#define LOGIN "{\"type\":\"login\",\"username\":\"a\",\"password\":\"p\",\"id\":\"l\"}"

/* After login_free wrong passwords from an address, each attempt from it
 * must wait 1, 2, 4, ... s (at most the maximum) after the last failure;
 * one too early is refused at once (too_many_attempts, retry_after) and no
 * job (no hashing) runs. A success clears the address; session logins and
 * other addresses are not held up. */
static void wrong_passwords_slow_an_address_down(void **state)
{
    (void)state;
    hub *h = mk_hub_addr(0, 0, 3, 4, 900);
    struct tconn t = {0}, t2 = {0}, t3 = {0};
    struct hub_conn *c = hub_open(h, &t, "198.51.100.9");
    struct hub_conn *c2 = hub_open(h, &t2, "198.51.100.9"); /* same address */
    struct hub_conn *c3 = hub_open(h, &t3, "203.0.113.5");
    for (int i = 0; i < 3; i++) { /* three free failures */
        frame(h, c, LOGIN);
        assert_int_equal(fk.njobs, 1);
        finish_login(h, DESK_LOGIN_FAILED);
    }
    int expect[] = {1, 2, 4, 4, 4}; /* the delay after failures 3, 4, 5, ... */
    for (int k = 0; k < 5; k++) {
        /* too early, on either connection of the address: refused at once */
        int before = t2.n;
        frame(h, c2, LOGIN);
        assert_int_equal(fk.njobs, 0);
        assert_int_equal(t2.n, before + 1);
        assert_string_equal(code_of(t2.sent[t2.n - 1]), "too_many_attempts");
        assert_int_equal(retry_after_of(t2.sent[t2.n - 1]), expect[k]);
        /* another address is not held up (it has fewer than 3 failures) */
        if (k < 2) {
            frame(h, c3, LOGIN);
            assert_int_equal(fk.njobs, 1);
            finish_login(h, DESK_LOGIN_FAILED);
        }
        /* once the delay has passed, one more attempt goes through */
        fk.now += expect[k];
        frame(h, c, LOGIN);
        assert_int_equal(fk.njobs, 1);
        finish_login(h, DESK_LOGIN_FAILED);
    }
    /* a session login is no password guess: never delayed */
    frame(h, c2, "{\"type\":\"login\",\"session\":\"AAAA\"}");
    assert_int_equal(fk.njobs, 1);
    hub_done(h, take_job(0));
    /* the right password, once allowed, clears the address */
    fk.now += 4;
    frame(h, c, LOGIN);
    finish_login(h, DESK_LOGIN_OK);
    int before = t2.n;
    frame(h, c2, LOGIN);
    assert_int_equal(fk.njobs, 1);
    assert_int_equal(t2.n, before);
    finish_login(h, DESK_LOGIN_FAILED);
    hub_closed(h, c);
    hub_closed(h, c2);
    hub_closed(h, c3);
    hub_free(h);
    tconn_fin(&t);
    tconn_fin(&t2);
    tconn_fin(&t3);
}

/* The connection's address survives sign-in and sign-out (the outbox's
 * client does not carry it) and reaches the workers with every job. */
static void the_address_reaches_the_workers(void **state)
{
    (void)state;
    hub *h = mk_hub(1000, 1000);
    struct tconn t = {0};
    struct hub_conn *c = hub_open(h, &t, "192.0.2.44");
    frame(h, c, "{\"type\":\"login\",\"username\":\"a\",\"password\":\"p\"}");
    struct desk_job *job = take_job(0);
    assert_string_equal(job->client.addr, "192.0.2.44");
    job->out.client_set = 1;
    job->out.client.role = DESK_AGENT;
    job->out.client.person_id = 3;
    hub_done(h, job);
    frame(h, c, "{\"type\":\"queue\"}");
    job = take_job(0);
    assert_int_equal(job->client.person_id, 3);
    assert_string_equal(job->client.addr, "192.0.2.44");
    hub_done(h, job);
    hub_closed(h, c);
    hub_free(h);
    tconn_fin(&t);
}

/* A job the daemon starts itself (a timer's, like maintenance): no
 * connection asked, yet its frames reach the connected agents, the person
 * and the conversation they are for; a frame "to self" goes nowhere; a
 * refused submission frees the job. */
static void daemon_jobs_deliver_their_outbox(void **state)
{
    (void)state;
    hub *h = mk_hub(100, 100);
    struct tconn ta = {0}, tr = {0}, tn = {0};
    struct hub_conn *a = hub_open(h, &ta, "127.0.0.1"), *r = hub_open(h, &tr, "127.0.0.1");
    hub_open(h, &tn, "127.0.0.1"); /* signed in as nobody */
    sign_in(h, a, DESK_AGENT, 10, 0, 0);
    sign_in(h, r, DESK_REQUESTER, 20, 7, 0);
    while (fk.njobs) /* the catch-up finds nothing */
        hub_done(h, take_job(0));
    tconn_fin(&ta);
    tconn_fin(&tr);

    struct desk_job *job = pool_job_new();
    job->msg.type = DM_MAINTAIN;
    assert_int_equal(hub_own_job(h, job, "test timer"), 0);
    assert_int_equal(fk.njobs, 1);
    job = take_job(0);
    assert_null(job->conn);
    assert_int_equal(job->client.role, DESK_NONE);
    add_type(job, DESK_TO_AGENTS, 0, "queue_update");
    add_type(job, DESK_TO_PERSON, 20, "ticket");
    add_type(job, DESK_TO_CONV, 7, "resolved");
    add_type(job, DESK_TO_SELF, 0, "stray");
    hub_done(h, job);
    assert_int_equal(ta.n, 1);
    assert_string_equal(type_of(ta.sent[0]), "queue_update");
    assert_int_equal(tr.n, 2);
    assert_string_equal(type_of(tr.sent[0]), "ticket");
    assert_string_equal(type_of(tr.sent[1]), "resolved");
    assert_int_equal(tn.n, 0);
    assert_int_equal(fk.njobs, 0); /* nothing started on anyone's behalf */

    fk.refuse = 1;
    job = pool_job_new();
    assert_int_equal(hub_own_job(h, job, "test timer"), -1); /* freed: ASan would see a leak */
    fk.refuse = 0;
    hub_maintain(h); /* the same path */
    assert_int_equal(fk.njobs, 1);
    job = take_job(0);
    assert_null(job->conn);
    assert_int_equal(job->msg.type, DM_MAINTAIN);
    add_type(job, DESK_TO_AGENTS, 0, "queue_update");
    hub_done(h, job);
    assert_int_equal(ta.n, 2);
    assert_int_equal(tr.n, 2);
    hub_free(h);
    tconn_fin(&ta);
    tconn_fin(&tr);
}

/* The SLA timer's job (hub_sla, every sla_interval): a job of its own
 * type on nobody's behalf, whose sla_warning / sla_breach frames reach the
 * signed-in agents and no requester; a refused submission frees it. */
static void sla_job_reaches_agents_only(void **state)
{
    (void)state;
    hub *h = mk_hub(100, 100);
    struct tconn ta = {0}, tr = {0};
    struct hub_conn *a = hub_open(h, &ta, "127.0.0.1"), *r = hub_open(h, &tr, "127.0.0.1");
    sign_in(h, a, DESK_AGENT, 10, 0, 0);
    sign_in(h, r, DESK_REQUESTER, 20, 7, 0);
    while (fk.njobs)
        hub_done(h, take_job(0));
    tconn_fin(&ta);
    tconn_fin(&tr);

    hub_sla(h);
    assert_int_equal(fk.njobs, 1);
    struct desk_job *job = take_job(0);
    assert_null(job->conn);
    assert_int_equal(job->msg.type, DM_SLA);
    assert_string_equal(proto_type_name(DM_SLA), "sla");
    add_type(job, DESK_TO_AGENTS, 0, "sla_warning");
    add_type(job, DESK_TO_AGENTS, 0, "sla_breach");
    job->out.sla_marked = 2;
    hub_done(h, job);
    assert_int_equal(ta.n, 2);
    assert_string_equal(type_of(ta.sent[0]), "sla_warning");
    assert_string_equal(type_of(ta.sent[1]), "sla_breach");
    assert_int_equal(tr.n, 0);
    assert_int_equal(fk.njobs, 0);

    fk.refuse = 1;
    hub_sla(h); /* refused: freed (ASan would see a leak) */
    fk.refuse = 0;
    assert_int_equal(fk.njobs, 0);
    hub_free(h);
    tconn_fin(&ta);
    tconn_fin(&tr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(answers_keep_request_order),
        cmocka_unit_test(bad_frames_rate_limit_and_overload),
        cmocka_unit_test(routing),
        cmocka_unit_test(messages_exactly_once_in_order),
        cmocka_unit_test(held_acks_keep_their_place),
        cmocka_unit_test(signed_out_connections_hear_nothing_more),
        cmocka_unit_test(suggestions_follow_acks_without_holding_them),
        cmocka_unit_test(hellos_are_limited_per_address),
        cmocka_unit_test(wrong_passwords_slow_an_address_down),
        cmocka_unit_test(the_address_reaches_the_workers),
        cmocka_unit_test(daemon_jobs_deliver_their_outbox),
        cmocka_unit_test(sla_job_reaches_agents_only),
    };
    return cmocka_run_group_tests_name("desk_hub", tests, NULL, NULL);
}
