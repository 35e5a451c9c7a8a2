/* store_audit: the data-access audit log (the operations-and-maintenance
 * standard, 8.6.1) in the table audit_log: who read which ticket, internal
 * knowledge, problem, configuration item, person record or report, and
 * every change of roles, permissions, settings and knowledge state, with
 * time, actor, address and object. Append-only and hash-chained (see
 * migration 007_audit.sql): each row's hash covers the previous row's hash
 * and all its fields, so store_audit_verify names the first row edited,
 * deleted or inserted out of turn. Retention (store_audit_purge) deletes
 * the oldest rows in order and keeps the chain verifiable from where it
 * now starts. */
#ifndef STORE_AUDIT_H
#define STORE_AUDIT_H

#include <jansson.h>

#include "store_pg.h"

struct store_audit_entry {
    int64_t actor_id;        /* 0: the system or a command line */
    const char *actor_role;  /* "agent", "admin", "requester", "cli", NULL */
    const char *address;     /* the client's address, NULL: none */
    const char *action;      /* "read", "change" or "export" */
    const char *object_type; /* ticket, knowledge, problem, ci, person, report, role,
                                setting, attachment, audit */
    const char *object_id;   /* 1..200 bytes */
    const json_t *detail;    /* borrowed; NULL: {} */
};

/* Appends one row (its own statement, chained under a lock of the tip).
 * Returns 0, STORE_EINVALID (an action or object type the table does not
 * know, an empty object id) or STORE_EDB. */
int store_audit_add(struct store *s, const struct store_audit_entry *e);

struct store_audit_check {
    int64_t rows;      /* rows checked */
    int64_t bad_id;    /* the first row whose hash or link is wrong, 0: none */
    char why[128];     /* what is wrong with it, or with the tip */
    int ok;            /* 1: the whole chain and the tip agree */
};

/* Recomputes every row's hash in id order from the anchor and compares
 * it with the stored one, the chain links and the tip. Returns 0 with *out
 * filled (out->ok says the verdict) or STORE_EDB. */
int store_audit_verify(struct store *s, struct store_audit_check *out);

/* Deletes rows older than days (>= 1) in id order, moving the chain's
 * anchor past them, in one transaction; *n gets how many. Returns 0,
 * STORE_EINVALID or STORE_EDB. */
int store_audit_purge(struct store *s, int days, int *n);

struct store_audit_row {
    int64_t id, at, actor_id;
    const char *actor_name, *actor_role, *address, *action, *object_type, *object_id;
    const char *detail; /* JSON text */
};

struct store_audit_query {
    int64_t actor_id;        /* 0: anyone */
    const char *object_type; /* NULL: any */
    const char *object_id;   /* NULL: any */
    int64_t from, to;        /* Unix seconds, 0: open */
    int64_t before;          /* rows with id below (0: from the newest) */
    int limit;               /* 1..1000 */
};

/* Rows matching q, newest first, to cb (borrowed strings; non-zero stops),
 * for viewer, who must be an enabled admin. Returns 0, STORE_EFORBIDDEN,
 * STORE_EINVALID or STORE_EDB. */
int store_audit_search(struct store *s, int64_t viewer, const struct store_audit_query *q,
                       int (*cb)(void *ud, const struct store_audit_row *r), void *ud);

#endif
