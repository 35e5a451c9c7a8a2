/* cluster: several chatdesk instances behind one address, sharing one
 * PostgreSQL. Conversations, tickets, sessions and timers are rows, so any
 * instance can serve any request; what is not a row is the live push of a
 * frame to the sockets of people connected elsewhere. This module carries
 * those: after a worker's job committed, cluster_publish sends every frame
 * of its outbox that goes to others (a person, a conversation's
 * requesters, every agent; never DESK_TO_SELF) as a NOTIFY on channel
 * "kbdesk" (store_cluster.h), tagged with this instance's random id; a
 * listener thread with a PostgreSQL connection of its own receives the
 * notifications of every instance, drops its own, and queues the frames
 * for the service thread (cluster_take), which delivers them like local
 * ones (hub_deliver): a requester connection still gets each message seq
 * once and in order, a gap being filled from the database (DM_CATCHUP).
 *
 * What can be missed: notifications sent while the listener is
 * disconnected (PostgreSQL restarting), and those of an instance that
 * dies between its COMMIT and its NOTIFY. Neither loses data: after the
 * listener reconnects, cluster_take reports a resync and every requester
 * connection catches up from the database (hub_resync); a requester also
 * catches up at the next message and at every reconnect; agents' pages
 * reload their queue on demand.
 *
 * Threads: cluster_publish runs on workers (it uses the worker's store);
 * the listener is a thread of this module; cluster_take runs on the
 * service thread. No libpq call runs on the service thread. */
#ifndef CD_CLUSTER_H
#define CD_CLUSTER_H

#include "desk.h"

typedef struct cd_cluster cd_cluster;

/* Connects the listener to conninfo, LISTENs and starts its thread, which
 * calls notify(ud) after queueing frames (the transport's
 * lws_cancel_service). Returns 0 and *out (free with cluster_free), or -1
 * with *out NULL and a message in err (nothing left running). */
int cluster_new(const char *conninfo, void (*notify)(void *), void *ud, cd_cluster **out,
                char *err, size_t errlen);

/* Stops and joins the listener, frees the frames not taken and c. NULL is a
 * no-op. */
void cluster_free(cd_cluster *c);

/* This instance's id (16 hex digits; owned by c). */
const char *cluster_id(const cd_cluster *c);

/* From a worker thread, after the job that filled out committed: sends its
 * frames for others over st (one transaction). Returns the number of
 * frames sent (0: none to send), or a STORE_E* code (nothing sent; the
 * message is in store_errmsg(st)). Thread-safe for distinct stores. */
int cluster_publish(cd_cluster *c, struct store *st, const struct desk_outbox *out);

/* On the service thread: the frames received from other instances since
 * the last call, oldest first (the caller owns the list; NULL: none), and
 * in *resync whether some may have been missed since (the listener
 * reconnected, or the queue overflowed): then the caller has every
 * requester connection catch up (hub_resync). */
struct desk_frame *cluster_take(cd_cluster *c, int *resync);

/* Frames received from other instances (for the logs and tests). */
unsigned long long cluster_received(const cd_cluster *c);

#endif
