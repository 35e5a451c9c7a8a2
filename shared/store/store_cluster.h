/* store_cluster: the events several chatdesk instances sharing one
 * database send each other, over PostgreSQL's LISTEN / NOTIFY on the channel
 * STORE_CLUSTER_CHANNEL. A publisher hands a list of payloads (text, opaque
 * here) to store_cluster_publish; a listener (a store of its own, on a
 * thread of its own: store_cluster_wait blocks) receives every payload
 * committed by any session, its own included, in commit order. A payload
 * longer than STORE_CLUSTER_INLINE_MAX bytes travels through the
 * cluster_events table (migration 020): the notification carries "#<id>"
 * and the listener reads the row, so callbacks always see the payload
 * itself. Notifications sent while a listener is disconnected are lost to
 * it (PostgreSQL keeps none for a session that is not listening):
 * store_cluster_wait says so by returning STORE_EDB, and the caller
 * re-reads what it must from the tables after store_cluster_listen. */
#ifndef STORE_CLUSTER_H
#define STORE_CLUSTER_H

#include <stddef.h>

#include "store_pg.h"

#define STORE_CLUSTER_CHANNEL "kbdesk"
/* NOTIFY payloads must be shorter than 8000 bytes */
#define STORE_CLUSTER_INLINE_MAX 7900

/* Sends the n payloads (NUL-terminated UTF-8) in one transaction: they are
 * delivered together, after COMMIT, in this order. Identical payloads in
 * one call are delivered once (PostgreSQL folds them): make them differ.
 * Returns 0, STORE_EDB (nothing sent; message in store_errmsg). */
int store_cluster_publish(struct store *s, const char *const *payloads, size_t n);

/* LISTENs on the channel (autocommit; again after a reconnect). Returns 0 or
 * STORE_EDB. */
int store_cluster_listen(struct store *s);

/* Called with each payload received (borrowed: valid during the call). */
typedef void (*store_cluster_fn)(void *ctx, const char *payload, size_t len);

/* Waits up to timeout_ms for notifications on s (which must be listening)
 * and calls fn for each, in order. Returns 0 (some or none arrived in
 * time), or STORE_EDB when the connection is lost (then s must be
 * reconnected with store_reconnect and listen again; notifications sent
 * meanwhile are not delivered). A "#<id>" whose row is gone is skipped. */
int store_cluster_wait(struct store *s, int timeout_ms, store_cluster_fn fn, void *ctx);

#endif
