/* Unit tests for group commit in the store (store_batch_* in
 * shared/store/store_pg.c; chatdesk's chat writers use it): the operations
 * of a batch become visible together at its commit, not before; a message
 * refused by the database inside a batch loses only itself; an item whose
 * statement failed outside an operation's savepoint makes the batch
 * refuse to commit, storing nothing, and each item then stores alone; a
 * connection lost inside a batch is not
 * silently reconnected (the operation and the commit fail, nothing is
 * stored) and the next call after the batch reconnects; a chat message
 * does not wait for another transaction that recorded suggestions for its
 * conversation, nor the suggestions for a batch holding a message of it,
 * while two writers of one conversation still wait for each other. Against a real
 * PostgreSQL 15 server started with scripts/pg.sh in a fresh temporary
 * directory, with shared/store/migrations applied; the teardown destroys
 * it. Run from the repository root (scripts/testrun.sh does). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "../../chatdesk/auth.h"
#include "store.h"
#define PGS_ONE_GROUP
#include "pgstore.h"

PGS_GROUP("kbbatch")

static const char *num(char *buf, long long x)
{
    snprintf(buf, 24, "%lld", x);
    return buf;
}
#define S(x) num((char[24]){0}, (long long)(x))

#define RC(want, call) PGS_RC(g.s, want, call)

static long long count_msgs(int64_t conv)
{
    return q_ll("SELECT count(*) FROM messages WHERE conversation_id = $1", S(conv));
}

/* A new requester's open conversation; its requester into *req. */
static int64_t mk_conv(int64_t *req)
{
    int64_t conv = 0;
    *req = mk_requester();
    OK(store_conversation_create(g.s, *req, &conv));
    return conv;
}

/* The message with seq of conv, "<null>" if none (static buffer). */
static const char *body_at(int64_t conv, int seq)
{
    char sql[160];
    snprintf(sql, sizeof sql,
             "SELECT coalesce((SELECT body FROM messages WHERE conversation_id = $1"
             " AND seq = %d), '<none>')",
             seq);
    return q_str(sql, S(conv));
}

/* Posts body in one item of the open batch; returns the store's code and
 * the item's end in *end. */
static int post_item(int64_t conv, int64_t req, const char *cid, const char *body, int *seq,
                     int *end)
{
    int dup = -1;
    OK(store_batch_item_begin(g.s));
    int rc = store_message_add(g.s, conv, req, cid, body, seq, &dup);
    *end = store_batch_item_end(g.s);
    return rc;
}

static void batch_commits_together_in_order(void **state)
{
    (void)state;
    int64_t ra, rb;
    int64_t a = mk_conv(&ra), b = mk_conv(&rb);
    int seq[4] = {0}, end[4] = {0};
    OK(store_batch_begin(g.s));
    OK(post_item(a, ra, "a1", "打印机脱机", &seq[0], &end[0]));
    OK(post_item(b, rb, "b1", "VPN 809", &seq[1], &end[1]));
    OK(post_item(a, ra, "a2", "已经重启", &seq[2], &end[2]));
    /* a resend inside the same batch is a duplicate of the first */
    int dup = -1, dseq = -1;
    OK(store_batch_item_begin(g.s));
    OK(store_message_add(g.s, a, ra, "a1", "打印机脱机", &dseq, &dup));
    OK(store_batch_item_end(g.s));
    assert_int_equal(dup, 1);
    assert_int_equal(dseq, 1);
    for (int i = 0; i < 3; i++)
        assert_int_equal(end[i], 0);
    assert_int_equal(seq[0], 1);
    assert_int_equal(seq[1], 1);
    assert_int_equal(seq[2], 2);
    /* another connection sees nothing before the commit */
    assert_int_equal(count_msgs(a), 0);
    assert_int_equal(count_msgs(b), 0);
    OK(store_batch_commit(g.s));
    assert_int_equal(count_msgs(a), 2);
    assert_int_equal(count_msgs(b), 1);
    assert_string_equal(body_at(a, 1), "打印机脱机");
    assert_string_equal(body_at(a, 2), "已经重启");
    /* after the batch, calls are their own transactions again */
    int s2 = 0, d2 = 0;
    OK(store_message_add(g.s, b, rb, "b2", "公司网络", &s2, &d2));
    assert_int_equal(s2, 2);
    assert_int_equal(count_msgs(b), 2);
}

static void refused_message_loses_only_itself(void **state)
{
    (void)state;
    int64_t ra, rb;
    int64_t a = mk_conv(&ra), b = mk_conv(&rb);
    char *big = malloc(20002);
    assert_non_null(big);
    memset(big, 'x', 20001);
    big[20001] = '\0'; /* the database's check refuses it, inside the insert */
    int seq[4] = {0}, end[4] = {0};
    OK(store_batch_begin(g.s));
    OK(post_item(a, ra, "a1", "first", &seq[0], &end[0]));
    RC(STORE_EINVALID, post_item(a, ra, "a2", big, &seq[1], &end[1]));
    OK(post_item(a, ra, "a3", "third", &seq[2], &end[2]));
    RC(STORE_EFORBIDDEN, post_item(b, ra, "x", "not mine", &seq[3], &end[3]));
    free(big);
    /* the refusals were rolled back in their operations' savepoints: the
     * items themselves stay usable */
    for (int i = 0; i < 4; i++)
        assert_int_equal(end[i], 0);
    assert_int_equal(seq[2], 2); /* the refused one used no seq up */
    OK(store_batch_commit(g.s));
    assert_int_equal(count_msgs(a), 2);
    assert_string_equal(body_at(a, 1), "first");
    assert_string_equal(body_at(a, 2), "third");
    assert_int_equal(count_msgs(b), 0);
    assert_int_equal(q_ll("SELECT last_seq FROM conversations WHERE id = $1", S(a)), 2);
}

static void aborted_item_fails_the_batch(void **state)
{
    (void)state;
    int64_t ra, rb;
    int64_t a = mk_conv(&ra), b = mk_conv(&rb);
    int seq = 0, dup = 0, end = 0;
    OK(store_batch_begin(g.s));
    OK(post_item(a, ra, "a1", "first", &seq, &end));
    assert_int_equal(end, 0);
    /* an item whose second operation fails in a one-statement write (no
     * savepoint of its own): the transaction is aborted, and the batch can
     * no longer commit anything */
    OK(store_batch_item_begin(g.s));
    OK(store_message_add(g.s, b, rb, "b1", "second", &seq, &dup));
    const char *ids[] = {"kb-1"}, *kinds[] = {"bogus"}, *titles[] = {"t"};
    RC(STORE_EINVALID, store_suggestions_add(g.s, b, 1, ids, kinds, titles));
    RC(STORE_EDB, store_batch_item_end(g.s));
    assert_non_null(strstr(store_errmsg(g.s), "aborted"));
    RC(STORE_EDB, store_batch_item_begin(g.s));
    RC(STORE_EDB, store_batch_commit(g.s));
    assert_int_equal(count_msgs(a), 0);
    assert_int_equal(count_msgs(b), 0);
    assert_int_equal(q_ll("SELECT last_seq FROM conversations WHERE id = $1", S(b)), 0);
    /* run again alone, as chatdesk then does: both stored, once */
    OK(store_message_add(g.s, a, ra, "a1", "first", &seq, &dup));
    assert_int_equal(seq, 1);
    OK(store_message_add(g.s, b, rb, "b1", "second", &seq, &dup));
    assert_int_equal(seq, 1);
    assert_int_equal(dup, 0);
    assert_int_equal(count_msgs(a), 1);
    assert_int_equal(count_msgs(b), 1);
}

static void lost_connection_fails_the_batch(void **state)
{
    (void)state;
    int64_t ra;
    int64_t a = mk_conv(&ra);
    int seq = 0, end = 0;
    OK(store_batch_begin(g.s));
    OK(post_item(a, ra, "a1", "before the loss", &seq, &end));
    assert_int_equal(end, 0);
    /* the batch's backend is killed, as a crash of PostgreSQL would */
    assert_int_equal(q_ll("SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))"
                          " FROM pg_stat_activity WHERE pid <> pg_backend_pid()"
                          " AND datname = current_database() AND state = $1",
                          "idle in transaction"),
                     1);
    int dup = 0;
    seq = -7;
    OK(store_batch_item_begin(g.s)); /* no round trip: it cannot know yet */
    /* a new session would not hold the batch: no reconnect, no claim */
    RC(STORE_EDB, store_message_add(g.s, a, ra, "a2", "during", &seq, &dup));
    assert_int_equal(seq, -7);
    RC(STORE_EDB, store_batch_item_end(g.s));
    RC(STORE_EDB, store_batch_commit(g.s));
    assert_int_equal(count_msgs(a), 0);
    /* after the batch the next call reconnects; both are stored alone */
    OK(store_message_add(g.s, a, ra, "a1", "before the loss", &seq, &dup));
    assert_int_equal(seq, 1);
    OK(store_message_add(g.s, a, ra, "a2", "during", &seq, &dup));
    assert_int_equal(seq, 2);
    assert_int_equal(count_msgs(a), 2);
}

/* A second store on the same database whose lock waits fail after 2 s
 * (lock_timeout) instead of waiting for the other transaction. */
static struct store *impatient_store(void)
{
    char ci[640];
    snprintf(ci, sizeof ci, "%s options='-c lock_timeout=2000'", g.conninfo);
    struct store *s2 = NULL;
    char err[STORE_ERR_MAX];
    if (store_open(ci, &s2, err, sizeof err) != 0)
        fail_msg("store_open: %s", err);
    return s2;
}

/* chatdesk's search workers record suggestions in a batch that stays open
 * while they search for the next items, and its chat writers lock each
 * message's conversation: the two must not wait for each other (a key
 * share lock, taken by the suggestions' foreign key, and the conversation
 * lock of a message are compatible), or an acknowledgement waits for
 * searches. */
static void suggestions_and_messages_do_not_wait(void **state)
{
    (void)state;
    int64_t ra, rb, rq;
    int64_t a = mk_conv(&ra), b = mk_conv(&rb), c = mk_conv(&rq);
    struct store *s2 = impatient_store();
    const char *ids[] = {"kb-1"}, *kinds[] = {"article"}, *titles[] = {"打印机"};
    int seq = 0, dup = 0, end = 0;
    /* suggestions for a recorded, not committed: a message to a goes in */
    OK(store_batch_begin(g.s));
    OK(store_batch_item_begin(g.s));
    OK(store_suggestions_add(g.s, a, 1, ids, kinds, titles));
    OK(store_batch_item_end(g.s));
    PGS_OK(s2, store_message_add(s2, a, ra, "a1", "打印机脱机", &seq, &dup));
    assert_int_equal(seq, 1);
    OK(store_batch_commit(g.s));
    /* a message to b stored, not committed: suggestions for b go in */
    OK(store_batch_begin(g.s));
    OK(post_item(b, rb, "b1", "VPN 809", &seq, &end));
    assert_int_equal(end, 0);
    PGS_OK(s2, store_suggestions_add(s2, b, 1, ids, kinds, titles));
    OK(store_batch_commit(g.s));
    assert_int_equal(count_msgs(a), 1);
    assert_int_equal(count_msgs(b), 1);
    const char *nsugg = "SELECT count(*) FROM conversation_suggestions WHERE conversation_id = $1";
    assert_int_equal(q_ll(nsugg, S(a)), 1);
    assert_int_equal(q_ll(nsugg, S(b)), 1);
    /* two messages to c: the second writer waits for the first's commit
     * (here it gives up after lock_timeout), so seqs stay in order */
    OK(store_batch_begin(g.s));
    OK(post_item(c, rq, "c1", "first", &seq, &end));
    seq = -1;
    PGS_RC(s2, STORE_EDB, store_message_add(s2, c, rq, "c2", "second", &seq, &dup));
    assert_int_equal(seq, -1);
    assert_non_null(strstr(store_errmsg(s2), "55P03"));
    OK(store_batch_commit(g.s));
    PGS_OK(s2, store_message_add(s2, c, rq, "c2", "second", &seq, &dup));
    assert_int_equal(seq, 2);
    store_close(s2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(batch_commits_together_in_order),
        cmocka_unit_test(refused_message_loses_only_itself),
        cmocka_unit_test(aborted_item_fails_the_batch),
        cmocka_unit_test(lost_connection_fails_the_batch),
        cmocka_unit_test(suggestions_and_messages_do_not_wait),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
