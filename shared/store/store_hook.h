/* store_hook: agents' notification preferences, group robots, integration
 * webhooks and their delivery outbox (tables notify_prefs, robots,
 * webhooks, webhook_outbox; migration 017_hooks.sql). Deliveries are rows
 * written by a trigger on ticket_events in the transaction of the event
 * (the event as a JSON payload); a sender takes the due rows with SELECT
 * ... FOR UPDATE SKIP LOCKED, posts each and marks it sent or counts the
 * failed attempt with a back-off, in one transaction per batch
 * (store_hook_deliver), like the mail outbox (store_mail.h). Robots and
 * webhooks are managed by administrators only (STORE_EFORBIDDEN for anyone
 * else); a person reads and sets only their own preferences. */
#ifndef STORE_HOOK_H
#define STORE_HOOK_H

#include "store_pg.h"
#include "store_mail.h"

/* A person's notification preferences (no row: all on) and, for staff,
 * the address the agents' mails go to (empty: none). */
struct store_prefs {
    int mail_assigned, mail_team;       /* mails: assigned to me, new in my team */
    int browser_assigned, browser_team; /* in-page notice and browser notification */
    char email[256];
};

/* Reads person's preferences into *p. Returns 0, STORE_ENOTFOUND or
 * STORE_EDB. */
int store_prefs_get(struct store *s, int64_t person, struct store_prefs *p);

/* Sets person's preferences to *p, and people.email to p->email (empty:
 * no address) when set_email (staff only: STORE_EFORBIDDEN for a requester,
 * whose address is proven by a sign-in code). STORE_EINVALID for a
 * malformed address. One transaction. Returns 0 or a STORE_E* code. */
int store_prefs_set(struct store *s, int64_t person, const struct store_prefs *p,
                    int set_email);

/* A group robot or an integration webhook as listed (strings borrowed for
 * the callback; the secret is never read back). */
struct store_hook {
    int64_t id;
    const char *kind;    /* wecom, dingtalk, feishu; "webhook" for webhooks */
    const char *name;    /* robots; NULL for webhooks */
    const char *url;
    const char *team;    /* robots: team slug, NULL: every ticket */
    const char *events;  /* comma list */
    int has_secret;
    int enabled;
    int64_t created_at;
    int queued, sent, failed; /* its deliveries by status */
    const char *last_error;   /* of its latest failed attempt, or NULL */
};

/* What store_hook_create adds: kind "webhook" for an integration webhook
 * (secret required, 16..200 characters) or a robot kind (name required,
 * secret optional, team a slug or NULL). url http:// or https:// only;
 * events a comma list of ticket event types (or "*" for webhooks). */
struct store_hook_new {
    const char *kind, *name, *url, *secret, *team, *events;
};

/* Adds a robot or webhook as admin `actor`. Returns 0 with *id (may be
 * NULL), STORE_EFORBIDDEN (not an admin), STORE_EINVALID (bad kind, URL,
 * secret, events; the message says which), STORE_ENOTFOUND (no such team)
 * or STORE_EDB. actor 0: the command line (trusted). */
int store_hook_create(struct store *s, int64_t actor, const struct store_hook_new *h,
                      int64_t *id);

/* Lists robots (webhooks = 0) or webhooks (1) to cb, by id. Admins only
 * (actor 0: the command line). Returns 0, STORE_EFORBIDDEN, STORE_EDB or
 * cb's nonzero. */
int store_hook_list(struct store *s, int64_t actor, int webhooks,
                    int (*cb)(void *arg, const struct store_hook *h), void *arg);

/* Deletes robot/webhook id and its pending deliveries. Admins only.
 * Returns 0, STORE_ENOTFOUND, STORE_EFORBIDDEN or STORE_EDB. */
int store_hook_delete(struct store *s, int64_t actor, int webhooks, int64_t id);

/* One delivery as the sender gets it (strings borrowed for the callback). */
struct store_delivery {
    int64_t id;
    const char *kind;    /* wecom, dingtalk, feishu, webhook */
    const char *url;
    const char *secret;  /* NULL: none */
    const char *payload; /* the event's JSON object */
    int attempts;        /* before this one */
};

/* Posts one delivery: 0 when it was accepted, else nonzero with a message
 * in err. */
typedef int (*store_delivery_cb)(void *arg, const struct store_delivery *d, char *err,
                                 size_t errlen);

/* Takes up to policy->batch due deliveries (queued, next_attempt_at
 * passed; portal_url unused), oldest first, skipping rows another sender
 * holds, and calls post for each; marks and retries exactly as
 * store_mail_deliver. *sent and *failed (may be NULL) get this call's
 * counts. Returns 0 or STORE_EDB. */
int store_hook_deliver(struct store *s, const struct store_mail_policy *policy,
                       store_delivery_cb post, void *arg, int *sent, int *failed);

#endif
