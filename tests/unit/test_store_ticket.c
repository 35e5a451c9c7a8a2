/* Unit tests for the ticket lifecycle of the store library
 * (shared/store/store_ticket.c): its one transition table, and every
 * transition function tried on a ticket in every status, against a real
 * PostgreSQL 15 server started with scripts/pg.sh (fsync off) in a fresh
 * temporary directory, with shared/store/migrations applied; the teardown
 * destroys it. Run from the repository root (scripts/testrun.sh does).
 *
 * The lifecycle the tests expect is written out here again, on its own
 * (`lifecycle` below), rather than read from the library. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include <libpq-fe.h>

#define PGS_ONE_GROUP
#include "pgstore.h"
#include "../../chatdesk/auth.h"
#include "store.h"

#define MIGRATIONS PGT_MIGRATIONS

PGS_GROUP("kbticket")

static long long events_of(const char *number)
{
    return q_ll("SELECT count(*) FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id"
                " WHERE t.number = $1",
                number);
}

/* ---- the table itself ------------------------------------------------------ */

static const char *const statuses[] = {"new", "assigned", "resolved", "reopened", "closed"};
#define NSTATUS 5

/* The lifecycle, as the desk's process defines it: for each event, the
 * status after it from each status (new, assigned, resolved, reopened,
 * closed); NULL: not allowed; "=": the status stays. */
static const struct {
    const char *event;
    const char *to[NSTATUS];
} lifecycle[] = {
    {"taken", {"assigned", NULL, NULL, "assigned", NULL}},
    {"replied", {NULL, "=", "=", "=", NULL}},
    {"linked", {"=", "=", "=", "=", NULL}},
    {"resolved", {NULL, "resolved", NULL, "resolved", NULL}},
    {"reopened", {NULL, NULL, "reopened", NULL, NULL}},
    {"confirmed", {NULL, NULL, "closed", NULL, NULL}},
    {"auto_closed", {NULL, NULL, "closed", NULL, NULL}},
    {"rated", {NULL, NULL, "=", NULL, "="}},
};
#define NEVENTS (sizeof lifecycle / sizeof lifecycle[0])

static const char *expected_to(const char *from, const char *event)
{
    for (size_t e = 0; e < NEVENTS; e++)
        for (int i = 0; i < NSTATUS; i++)
            if (strcmp(lifecycle[e].event, event) == 0 && strcmp(statuses[i], from) == 0)
                return lifecycle[e].to[i] && strcmp(lifecycle[e].to[i], "=") == 0
                           ? statuses[i]
                           : lifecycle[e].to[i];
    return NULL;
}

static void table_is_the_lifecycle(void **state)
{
    (void)state;
    for (size_t e = 0; e < NEVENTS; e++)
        for (int i = 0; i < NSTATUS; i++) {
            const char *want = expected_to(statuses[i], lifecycle[e].event);
            const char *got = store_ticket_next(statuses[i], lifecycle[e].event);
            if ((want == NULL) != (got == NULL) || (want && strcmp(want, got) != 0))
                fail_msg("%s from %s: wanted %s, the table says %s", lifecycle[e].event,
                         statuses[i], want ? want : "refused", got ? got : "refused");
        }
    /* a ticket is created new, and only created */
    assert_string_equal(store_ticket_next(NULL, "created"), "new");
    for (int i = 0; i < NSTATUS; i++)
        assert_null(store_ticket_next(statuses[i], "created"));
    for (size_t e = 0; e < NEVENTS; e++)
        assert_null(store_ticket_next(NULL, lifecycle[e].event));
    /* unknown statuses and events are refused */
    assert_null(store_ticket_next("pending", "taken"));
    assert_null(store_ticket_next("new", "escalated"));
    assert_null(store_ticket_next("new", NULL));
}

/* ---- every transition from every status ------------------------------------ */

/* A fresh ticket of a fresh requester, brought into status `want` through
 * the store's own functions, held by agent (when it has one; a reopened
 * ticket goes back to the queue instead when queued is set: its agent is
 * disabled before the requester reopens it). */
struct fixture {
    char number[STORE_NUMBER_MAX];
    int64_t requester, agent, other_agent;
};

static void bring_to(const char *want, int queued, struct fixture *f)
{
    memset(f, 0, sizeof *f);
    f->requester = mk_requester();
    f->agent = mk_agent();
    f->other_agent = mk_agent();
    int64_t conv = 0;
    int seq, dup;
    struct store_ticket t;
    OK(store_conversation_create(g.s, f->requester, &conv));
    OK(store_message_add(g.s, conv, f->requester, "c1", "网络打印机脱机", &seq, &dup));
    OK(store_escalate(g.s, conv, f->requester, "打印机脱机", NULL, 2, 2, NULL, 0, &t));
    snprintf(f->number, sizeof f->number, "%s", t.number);
    store_ticket_fin(&t);
    if (strcmp(want, "new") != 0)
        OK(store_ticket_take(g.s, f->number, f->agent));
    if (strcmp(want, "new") != 0 && strcmp(want, "assigned") != 0)
        OK(store_ticket_resolve(g.s, f->number, f->agent, "重新添加了打印机"));
    if (strcmp(want, "reopened") == 0 && queued)
        OK(store_person_set_disabled(g.s, f->agent, 1));
    if (strcmp(want, "reopened") == 0)
        OK(store_ticket_confirm(g.s, f->number, f->requester, 0));
    if (strcmp(want, "closed") == 0)
        OK(store_ticket_confirm(g.s, f->number, f->requester, 1));
    assert_string_equal(q_str("SELECT status FROM tickets WHERE number = $1", f->number), want);
}

/* Runs transition `event` on f's ticket as the person who may ask for it. */
static int transit(const char *event, const struct fixture *f)
{
    int seq, dup, added, n;
    static int cid;
    char client_id[32];
    snprintf(client_id, sizeof client_id, "r%d", ++cid);
    if (strcmp(event, "taken") == 0)
        return store_ticket_take(g.s, f->number, f->other_agent);
    if (strcmp(event, "replied") == 0)
        return store_ticket_reply(g.s, f->number, f->agent, client_id, "请重启打印机", &seq, &dup, NULL);
    if (strcmp(event, "linked") == 0)
        return store_ticket_link(g.s, f->number, "KB-0042", "used", f->agent, &added);
    if (strcmp(event, "resolved") == 0)
        return store_ticket_resolve(g.s, f->number, f->agent, "驱动已更新");
    if (strcmp(event, "reopened") == 0)
        return store_ticket_reopen(g.s, f->number, f->requester);
    if (strcmp(event, "confirmed") == 0)
        return store_ticket_close_confirmed(g.s, f->number, f->requester);
    if (strcmp(event, "rated") == 0)
        return store_ticket_rate(g.s, f->number, f->requester, 4, NULL);
    if (strcmp(event, "auto_closed") == 0) {
        /* a week on: every resolved ticket is due */
        int rc = store_auto_close(g.s, 1, time(NULL) + 7 * 86400, &n);
        return rc;
    }
    fail_msg("no transition %s", event);
    return -1;
}

static void every_transition_from_every_status(void **state)
{
    (void)state;
    int allowed = 0, refused = 0;
    for (size_t e = 0; e < NEVENTS; e++)
        for (int i = 0; i < NSTATUS; i++) {
            const char *event = lifecycle[e].event, *from = statuses[i];
            const char *to = expected_to(from, event);
            struct fixture f;
            /* a reopened ticket is taken from the queue; while its agent
             * still holds it, taking it is a conflict (tested below) */
            bring_to(from, strcmp(event, "taken") == 0, &f);
            long long before = events_of(f.number);
            int rc = transit(event, &f);
            long long added = events_of(f.number) - before;
            const char *now = q_str("SELECT status FROM tickets WHERE number = $1", f.number);
            if (to) {
                /* allowed: done, and exactly one event row saying from -> to */
                if (rc != 0 || added != 1 || strcmp(now, to) != 0)
                    fail_msg("%s from %s: rc %d (%s), %lld events, status %s; wanted 0, 1, %s",
                             event, from, rc, store_errmsg(g.s), added, now, to);
                const char *last = q_str("SELECT e.type || ' ' || e.from_status || '>' ||"
                                         " e.to_status FROM ticket_events e JOIN tickets t"
                                         " ON t.id = e.ticket_id WHERE t.number = $1"
                                         " ORDER BY e.id DESC LIMIT 1",
                                         f.number);
                char want[64];
                snprintf(want, sizeof want, "%s %s>%s", event, from, to);
                if (strcmp(last, want) != 0)
                    fail_msg("%s from %s: event row '%s', wanted '%s'", event, from, last, want);
                allowed++;
                continue;
            }
            /* refused: nothing written, the status unchanged. A take of a
             * ticket its agent holds is a conflict (a lost race, not a
             * wrong status); auto-close, a sweep, closes only the tickets
             * due and answers how many. */
            int want_rc = STORE_EINVALID;
            if (strcmp(event, "taken") == 0 && strcmp(from, "assigned") == 0)
                want_rc = STORE_ECONFLICT;
            if (strcmp(event, "auto_closed") == 0)
                want_rc = 0;
            if (rc != want_rc || added != 0 || strcmp(now, from) != 0)
                fail_msg("%s from %s: rc %d (%s), %lld events, status %s; wanted %d, 0, %s",
                         event, from, rc, store_errmsg(g.s), added, now, want_rc, from);
            if (rc == STORE_EINVALID && !strstr(store_errmsg(g.s), from))
                fail_msg("%s from %s: the message does not name the status: %s", event, from,
                         store_errmsg(g.s));
            refused++;
        }
    assert_int_equal(allowed + refused, (int)(NEVENTS * NSTATUS));
    assert_int_equal(allowed, 16);
}

/* The two ways a reopened ticket is taken: while its agent still holds it,
 * by someone else, a conflict; back in the queue (its agent disabled),
 * allowed. Holding it already changes nothing and writes nothing. */
static void take_of_a_held_or_queued_ticket(void **state)
{
    (void)state;
    struct fixture f;
    bring_to("reopened", 0, &f);
    long long before = events_of(f.number);
    assert_int_equal(store_ticket_take(g.s, f.number, f.other_agent), STORE_ECONFLICT);
    assert_non_null(strstr(store_errmsg(g.s), "already taken"));
    OK(store_ticket_take(g.s, f.number, f.agent));
    assert_int_equal(events_of(f.number), before);
    assert_string_equal(q_str("SELECT status FROM tickets WHERE number = $1", f.number),
                        "reopened");

    bring_to("assigned", 0, &f);
    before = events_of(f.number);
    OK(store_ticket_take(g.s, f.number, f.agent));
    assert_int_equal(events_of(f.number), before);

    /* reopened after its agent left: in the queue, anyone may take it */
    bring_to("resolved", 0, &f);
    OK(store_person_set_disabled(g.s, f.agent, 1));
    OK(store_ticket_reopen(g.s, f.number, f.requester));
    before = events_of(f.number);
    OK(store_ticket_take(g.s, f.number, f.other_agent));
    assert_int_equal(events_of(f.number), before + 1);
    assert_string_equal(q_str("SELECT e.from_status || '>' || e.to_status FROM ticket_events e"
                              " JOIN tickets t ON t.id = e.ticket_id WHERE t.number = $1"
                              " ORDER BY e.id DESC LIMIT 1",
                              f.number),
                        "reopened>assigned");
}

/* A reply the table refuses stores no message and uses up no number. */
static void refused_reply_stores_no_message(void **state)
{
    (void)state;
    struct fixture f;
    bring_to("closed", 0, &f);
    long long msgs = q_ll("SELECT count(*) FROM messages m JOIN tickets t"
                          " ON t.conversation_id = m.conversation_id WHERE t.number = $1",
                          f.number);
    int seq = -1, dup = -1;
    assert_int_equal(store_ticket_reply(g.s, f.number, f.agent, "late", "还在吗", &seq, &dup, NULL),
                     STORE_EINVALID);
    assert_int_equal(seq, -1);
    assert_int_equal(q_ll("SELECT count(*) FROM messages m JOIN tickets t"
                          " ON t.conversation_id = m.conversation_id WHERE t.number = $1",
                          f.number),
                     msgs);
    /* a new ticket has nobody to reply: refused for its status too */
    bring_to("new", 0, &f);
    assert_int_equal(store_ticket_reply(g.s, f.number, f.agent, "early", "您好", &seq, &dup, NULL),
                     STORE_EINVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table_is_the_lifecycle),
        cmocka_unit_test(every_transition_from_every_status),
        cmocka_unit_test(take_of_a_held_or_queued_ticket),
        cmocka_unit_test(refused_reply_stores_no_message),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
