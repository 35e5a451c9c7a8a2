/* store_mail: the mail outbox (table mail_outbox, migration
 * 012_portal.sql). Mails are rows written in the transaction of the event
 * that causes them (a sign-in code: store_signin_request; a ticket created
 * or resolved: triggers on ticket_events; an agent's reply the requester
 * was not connected for: store_mail_reply_away). A sender takes the due
 * rows with SELECT ... FOR UPDATE SKIP LOCKED, sends each and marks it
 * sent or counts the failed attempt with a back-off, in one transaction
 * (store_mail_deliver), so a restart loses none and two senders never send
 * one mail twice. */
#ifndef STORE_MAIL_H
#define STORE_MAIL_H

#include "store_pg.h"

/* One mail as the sender gets it (strings borrowed for the callback). */
struct store_mail {
    int64_t id;
    const char *kind; /* signin_code, ticket_created, agent_replied, ticket_resolved */
    const char *to;
    const char *subject;
    const char *body; /* UTF-8 plain text; {portal} already replaced */
    int attempts;     /* before this one */
};

/* Sends one mail: 0 when it went, else nonzero with a message in err. */
typedef int (*store_mail_send_cb)(void *arg, const struct store_mail *m, char *err,
                                  size_t errlen);

struct store_mail_policy {
    int batch;        /* mails taken per call, 1..100 */
    int retry_min;    /* seconds before the first retry (doubling) ... */
    int retry_max;    /* ... up to this */
    int max_attempts; /* then the mail is marked failed */
    const char *portal_url; /* replaces {portal} (and a held mail's {link}) */
};

/* Takes up to policy->batch due mails (queued with next_attempt_at passed,
 * or held for over 10 minutes, which go without their link), oldest first,
 * skipping rows another sender has locked, and calls send for each: a sent
 * mail is marked sent; a failure counts the attempt, keeps the message in
 * last_error and retries after retry_min * 2^(attempts-1) seconds (at most
 * retry_max), or marks it failed after max_attempts. One transaction
 * (the rows stay locked while they are sent). *sent and *failed (may be
 * NULL) get the counts of this call. Returns 0 or STORE_EDB (nothing
 * marked: the mails sent in this call may go again). */
int store_mail_deliver(struct store *s, const struct store_mail_policy *policy,
                       store_mail_send_cb send, void *arg, int *sent, int *failed);

/* Queues the "agent replied" mail for the agent's message seq of
 * conversation conv, whose requester was not connected: to the requester's
 * address if they have one and ticket mails on, unless such a mail for the
 * ticket is still waiting to go (one mail for a run of replies). One
 * transaction. *queued (may be NULL) says whether a mail was written.
 * Returns 0, STORE_ENOTFOUND (no such message of an agent in a ticket's
 * conversation) or STORE_EDB. */
int store_mail_reply_away(struct store *s, int64_t conv, int seq, int *queued);

#endif
