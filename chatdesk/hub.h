/* hub: the service thread's side of chatdesk, between the transport (ws.c)
 * and the workers (pool.c). It owns what the event loop knows about each
 * connection: who is signed in (struct desk_client), the rate limiter, the
 * queue of requests waiting for their turn (at most one job per connection
 * is in flight, so answers keep the order of requests), and, for a
 * requester, the highest message seq delivered, so that every message of
 * the conversation reaches each connection exactly once and in order: a
 * push that would leave a gap is held back while the missing messages are
 * fetched from the database (a DM_CATCHUP job), and a replay skips what was
 * delivered or acknowledged already.
 *
 * Per client address (the transport's peer address, kept in memory only) it
 * limits new chats (hello: a token bucket) and password logins (after
 * login_free wrong passwords in a row, each further attempt from the
 * address must wait 1, 2, 4, ... seconds, at most login_max_delay, after
 * the previous failure; an attempt too early is refused at once with
 * retry_after, without reaching a worker). The per-account lockout is the
 * service's (desk.c, in PostgreSQL).
 *
 * It routes each finished job's outbox: frames to the connection itself, to
 * a person's connections, to a conversation's requester connections, or to
 * every agent; that of a job the daemon starts itself (hub_own_job: a
 * timer's) too, though no connection asked for it.
 *
 * It keeps the ticket each agent connection has open (set by a successful
 * open, cleared by another open, leave, signing out or closing) and tells
 * the agents with the same ticket open who else has it ("viewers").
 *
 * Everything here runs on the service thread; the hub never blocks (no
 * database, no index) and never touches a socket: it calls ops.send and
 * ops.submit. */
#ifndef CD_HUB_H
#define CD_HUB_H

#include "desk.h"
#include "pool.h"

#include <stddef.h>
#include <stdint.h>

/* requests waiting per connection before overloaded errors */
#define HUB_MAX_PENDING 64

struct hub_ops {
    /* Queue a text frame to transport connection t (copied). */
    void (*send)(void *t, const char *json, size_t len);
    /* Hand a job to the workers: 0, or -1 if the pool is full (the hub
     * keeps the job and answers overloaded). */
    int (*submit)(void *ud, struct desk_job *job);
    void *ud;
    /* Seconds on a monotonic clock (for the rate limiter). */
    double (*now)(void);
};

struct hub_limits {
    int max_frame; /* for the too_large message */
    int rate;      /* frames per second */
    int burst;     /* bucket size */
    /* per client address; 0 turns a limit off */
    int hello_per_minute; /* hello frames per minute (token bucket) ... */
    int hello_burst;      /* ... with this bucket size */
    int login_free;       /* wrong passwords in a row before delays start */
    int login_max_delay;  /* seconds: the longest delay between attempts */
    int login_forget;     /* seconds after its last failure an address starts afresh */
};

/* Addresses kept at most (idle ones are dropped first; see hub_maintain;
 * beyond it new addresses share one state). IPv6 addresses count by /64. */
#define HUB_MAX_ADDRS 100000

typedef struct hub hub;
struct hub_conn;

/* A new hub. ops and lim are copied. Never NULL. */
hub *hub_new(const struct hub_ops *ops, const struct hub_limits *lim);

/* Frees the hub and every connection left (their transport handles are not
 * touched). Jobs still out must have been handed back (hub_done /
 * hub_drop) first. NULL is a no-op. */
void hub_free(hub *h);

/* A connection opened; t is the transport's handle, addr the client's
 * address as text (copied; NULL or "" if unknown). Never NULL. */
struct hub_conn *hub_open(hub *h, void *t, const char *addr);

/* A complete WebSocket message arrived on c: len bytes of data (text, or
 * binary when binary is set). too_large: the message was longer than the
 * limit and its bytes were dropped (data is then empty). */
void hub_frame(hub *h, struct hub_conn *c, const char *data, size_t len, int binary,
               int too_large);

/* The connection closed: nothing is sent to t any more; c is freed now or
 * when its job in flight comes back. */
void hub_closed(hub *h, struct hub_conn *c);

/* A finished job: deliver its outbox, then submit the suggestion search it
 * asks for (out.suggest: a job with search set, at most one per connection
 * at a time, later ones coalesced) and start the connection's next
 * request. A finished search job: deliver its suggestions. Takes ownership
 * of job. */
void hub_done(hub *h, struct desk_job *job);

/* Delivers frames no connection asked for (a JSON API request's, a timer
 * job's): to a person, to every agent or to a conversation's requesters;
 * DESK_TO_SELF frames have nobody to go to and are dropped. Takes ownership
 * of the list f (NULL: nothing). */
void hub_deliver(hub *h, struct desk_frame *f);

/* Submits a job the daemon starts itself (a timer's: maintenance, later
 * SLA warnings, scheduled purges): no connection and nobody signed in
 * (job->conn and job->client are cleared). When it is done, hub_done
 * delivers its outbox like any other job's, frames to a person, to every
 * agent or to a conversation's requesters (DESK_TO_SELF frames have nobody
 * to go to and are dropped). Takes ownership of job; returns 0, or -1 when
 * the pool refused it (the job is freed and a warning naming `what` is
 * logged). */
int hub_own_job(hub *h, struct desk_job *job, const char *what);

/* A job that will not run (the pool stopped): release it without
 * delivering anything. Takes ownership. */
void hub_drop(hub *h, struct desk_job *job);

/* Submits a maintenance job (auto-close, session and requester purge;
 * through hub_own_job) and forgets the addresses with nothing left to
 * remember. */
void hub_maintain(hub *h);

/* Submits an SLA check (DM_SLA, through hub_own_job): tickets reaching a
 * warning or breach are marked once each, and the agents get an
 * sla_warning / sla_breach frame. */
void hub_sla(hub *h);
/* Submits a round of the mail sender (DM_MAIL, through hub_own_job) unless
 * one is still out: due mails of the outbox go to the relay on a worker. */
void hub_mail(hub *h);

/* Number of client addresses remembered (for tests). */
size_t hub_addr_count(const hub *h);

/* Number of open connections (for logs and tests). */
size_t hub_count(const hub *h);

/* Password logins that do not come through a WebSocket (the JSON API's
 * POST /api/v1/sessions) share the per-address delays: hub_login_wait
 * gives the seconds a login from addr must still wait (0: it may go on),
 * hub_login_result records what one came to (DESK_LOGIN_*). */
int hub_login_wait(hub *h, const char *addr);
void hub_login_result(hub *h, const char *addr, int result);

/* Several instances (cluster.h): some frames of other instances may have
 * been missed, so every requester connection following a conversation
 * catches up from the database (a DM_CATCHUP ahead of its queue). */
void hub_resync(hub *h);

#endif
