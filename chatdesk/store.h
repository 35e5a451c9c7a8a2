/* store: the chat desk's PostgreSQL store (people, sessions, conversations,
 * messages, suggestions, tickets and their events, links, deflections,
 * ratings), over libpq.
 *
 * One `struct store` wraps one connection. Calls are synchronous and a store
 * must not be shared between threads: the daemon gives each worker thread a
 * store of its own. Every query is parameterised (PQexecParams); no value is
 * ever pasted into SQL text. Each function runs in one transaction of its
 * own, so it happens entirely or not at all, and every change of a ticket's
 * state writes its ticket_events row in that same transaction.
 *
 * Errors: functions return 0 (STORE_OK) or a negative STORE_E* code, and the
 * message ("[store][operation] ...") is kept in the handle until the next
 * call (store_errmsg). STORE_EDB means the database could not be reached or
 * failed; if the connection was lost, nothing is reported as done, and the
 * next call reconnects by itself (store_reconnect does it on demand). When a
 * connection breaks during COMMIT the outcome is unknown and STORE_EDB is
 * returned: callers must treat it as "not done" and retry with the same
 * client id, which is why messages are deduplicated by client id.
 *
 * Times are Unix seconds (int64_t); 0 means "not set". Functions that take a
 * `time_t now` use the database server's clock when now is 0 (tests pass
 * fixed times).
 *
 * Strings handed to callbacks are borrowed: valid only during the call.
 * Strings in a struct filled by store_ticket_get / store_escalate are owned
 * by the struct: free them with store_ticket_fin. */
#ifndef DESK_STORE_H
#define DESK_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

enum {
    STORE_OK = 0,
    STORE_EDB = -1,        /* connection lost or server error */
    STORE_ENOTFOUND = -2,  /* no such row (or expired session) */
    STORE_ECONFLICT = -3,  /* already taken, rated, escalated; unique violation */
    STORE_EINVALID = -4,   /* a constraint or a state transition refused it */
    STORE_EFORBIDDEN = -5, /* the person may not do this to that row */
};

#define STORE_ERR_MAX 512
/* A person's name: at most 128 characters of UTF-8 (the schema checks it). */
#define STORE_NAME_MAX 513
/* A password hash string with its NUL (libsodium's crypto_pwhash_STRBYTES). */
#define STORE_PWHASH_MAX 128
/* Bytes of a session token hash. */
#define STORE_TOKEN_HASH_BYTES 32
/* "INC-000123" and longer numbers, with the NUL. */
#define STORE_NUMBER_MAX 32
/* Status and role words ("self_solved", "requester"), with the NUL. */
#define STORE_WORD_MAX 16

struct store;

/* A static English description of a STORE_E* code (never NULL). */
const char *store_strerror(int code);

/* Connects to PostgreSQL with a libpq conninfo string or URI (client
 * encoding forced to UTF8). Returns 0 with *out set, or STORE_EDB with *out
 * NULL and the reason in err (if not NULL). Free with store_close. */
int store_open(const char *conninfo, struct store **out, char *err, size_t errlen);

/* Closes the connection and frees s. store_close(NULL) does nothing. */
void store_close(struct store *s);

/* The message of the last failed call, "" if none. Valid until the next
 * call on s; owned by s. */
const char *store_errmsg(const struct store *s);

/* Drops and re-opens the connection. Returns 0 or STORE_EDB. Rarely needed:
 * every call first reconnects a broken connection by itself. */
int store_reconnect(struct store *s);

/* Applies the migrations in dir not yet applied. Files are named
 * NNN_name.sql (NNN: the version number, name: letters, digits, '_', '-');
 * other .sql names are an error, other files are ignored. Each file runs in
 * a transaction of its own (it must not contain BEGIN/COMMIT) together with
 * its row in schema_migrations (version, name, applied_at). A session-level
 * advisory lock makes concurrent callers wait for each other, so several
 * daemons may start at once. A version recorded under another name than its
 * file's is an error (a renumbered migration). *applied (may be NULL) gets
 * the number of files applied. Returns 0, STORE_EINVALID (bad names, a file
 * that fails: it is rolled back and the ones after it are not run) or
 * STORE_EDB. */
int store_migrate(struct store *s, const char *dir, int *applied);

/* ---- people ---------------------------------------------------------- */

/* Creates an agent (role "agent") with a unique user name (ASCII letters,
 * digits, '.', '_', '-'; case-insensitively unique), a display name and an
 * Argon2id hash string from auth_hash_password. *id gets the new id.
 * Returns 0, STORE_ECONFLICT (user name taken), STORE_EINVALID (bad user
 * name, name or hash) or STORE_EDB. */
int store_agent_create(struct store *s, const char *username, const char *name,
                       const char *password_hash, int64_t *id);

struct store_agent {
    int64_t id;
    char role[STORE_WORD_MAX];              /* "agent" or "admin" */
    char name[STORE_NAME_MAX];
    char password_hash[STORE_PWHASH_MAX];
    int locked_for;                         /* seconds the account stays locked
                                               (store_login_failed), 0: not locked */
};

/* Finds an enabled agent or admin by user name (any case). Returns 0 with
 * *out filled, STORE_ENOTFOUND (unknown or disabled) or STORE_EDB. */
int store_agent_by_username(struct store *s, const char *username, struct store_agent *out);

/* ---- login throttling ------------------------------------------------- */

/* A client address as recorded (text form of an IPv4 / IPv6 address). */
#define STORE_ADDR_MAX 65

/* Records a wrong password for agent person_id, tried from client address
 * addr (may be NULL), in one transaction: the account's count of
 * consecutive failures goes up by one; when it reaches max_failures the
 * account is locked for lockout_seconds (people.locked_until), the count
 * starts again from 0 and the lockout is recorded in login_lockouts.
 * *locked_for gets the seconds of that new lockout, or 0. Returns 0,
 * STORE_ENOTFOUND (no such person) or STORE_EDB. */
int store_login_failed(struct store *s, int64_t person_id, int max_failures, int lockout_seconds,
                       const char *addr, int *locked_for);

/* A successful login of person_id: its count of failures goes back to 0
 * (no write when it is 0 already). Returns 0 or STORE_EDB. */
int store_login_succeeded(struct store *s, int64_t person_id);

/* An administrator's unlock of agent `username` (any case), in one
 * transaction: the lockout ends now, the count of failures goes back to 0,
 * and a lockout still running is marked in login_lockouts as ended by `by`
 * (1..128 characters). *was_locked (may be NULL) tells whether the account
 * was locked. Returns 0, STORE_ENOTFOUND (no such agent), STORE_EINVALID
 * (bad `by`) or STORE_EDB. */
int store_login_unlock(struct store *s, const char *username, const char *by, int *was_locked);

struct store_lockout {
    int64_t id;
    const char *username;
    const char *address;     /* NULL when unknown */
    int failures;
    int64_t locked_at, locked_until;
    int64_t unlocked_at;     /* 0: not unlocked by hand */
    const char *unlocked_by; /* NULL when not unlocked by hand */
    int active;              /* the account is locked now by this lockout */
};
typedef int (*store_lockout_cb)(void *arg, const struct store_lockout *l);

/* Calls cb for the latest `limit` lockouts (1..10000), newest first (the
 * strings are borrowed for the call). Returns 0, cb's nonzero value or
 * STORE_EDB. */
int store_lockouts(struct store *s, int limit, store_lockout_cb cb, void *arg);

/* Creates a requester (an end user of the chat). email may be NULL.
 * Returns 0 with *id set, STORE_EINVALID (empty or too long name, bad email)
 * or STORE_EDB. */
int store_requester_create(struct store *s, const char *name, const char *email, int64_t *id);

/* Starts a requester's identity at its first message, in one transaction:
 * the person (name, email may be NULL), its session under token_hash
 * (valid ttl_seconds) and an open conversation. Returns 0 with *person and
 * *conv set, STORE_EINVALID (bad name or email, bad ttl), STORE_ECONFLICT
 * (the token hash exists already) or STORE_EDB; nothing is stored on
 * failure. */
int store_requester_start(struct store *s, const char *name, const char *email,
                          const unsigned char token_hash[STORE_TOKEN_HASH_BYTES],
                          int ttl_seconds, int64_t *person, int64_t *conv);

/* Deletes idle requester identities, in one transaction: conversations
 * without any message, ticket, suggestion or deflection whose requester
 * has no session left, then requesters with no session and no
 * conversation (run it after store_session_purge). People with messages,
 * tickets or a live session, agents and admins are never touched. *count
 * (may be NULL) gets the number of people deleted. Returns 0 or
 * STORE_EDB. */
int store_requester_purge(struct store *s, int *count);

/* Disables (or re-enables) a person: their sessions stop being found, a
 * disabled agent can take nothing, and tickets reopened while their agent
 * is disabled go back to the queue. Returns 0, STORE_ENOTFOUND, STORE_EDB. */
int store_person_set_disabled(struct store *s, int64_t person_id, int disabled);

/* ---- sessions --------------------------------------------------------- */

struct store_session {
    int64_t person_id;
    char role[STORE_WORD_MAX];
    char name[STORE_NAME_MAX];
    int64_t expires_at;
};

/* Records a session for person_id under the hash of its token (see
 * auth_token_hash; the token itself is never stored), valid for ttl_seconds
 * (> 0). Returns 0, STORE_EINVALID (bad ttl, unknown person),
 * STORE_ECONFLICT (the hash exists already) or STORE_EDB. */
int store_session_create(struct store *s, int64_t person_id,
                         const unsigned char token_hash[STORE_TOKEN_HASH_BYTES], int ttl_seconds);

/* Finds a live session: not expired, its person not disabled. Returns 0
 * with *out filled, STORE_ENOTFOUND or STORE_EDB. */
int store_session_lookup(struct store *s, const unsigned char token_hash[STORE_TOKEN_HASH_BYTES],
                         struct store_session *out);

/* Marks a live session as seen now; with ttl_seconds > 0 also pushes its
 * expiry to at least now + ttl_seconds (sliding expiry). Returns 0,
 * STORE_ENOTFOUND (missing or expired) or STORE_EDB. */
int store_session_touch(struct store *s, const unsigned char token_hash[STORE_TOKEN_HASH_BYTES],
                        int ttl_seconds);

/* Checks, for a frame on a signed-in connection, that the session is still
 * live (not expired, not deleted, its person not disabled) and belongs to
 * person_id; if it was last seen touch_after seconds ago or more, marks it
 * seen now and pushes its expiry to at least now + ttl_seconds (sliding
 * expiry without a write per frame). Returns 0, STORE_ENOTFOUND (dead) or
 * STORE_EDB. */
int store_session_check(struct store *s, const unsigned char token_hash[STORE_TOKEN_HASH_BYTES],
                        int64_t person_id, int ttl_seconds, int touch_after);

/* Deletes a session (logout). Returns 0, STORE_ENOTFOUND or STORE_EDB. */
int store_session_delete(struct store *s, const unsigned char token_hash[STORE_TOKEN_HASH_BYTES]);

/* Deletes every expired session; *count (may be NULL) gets how many.
 * Returns 0 or STORE_EDB. */
int store_session_purge(struct store *s, int *count);

/* ---- conversations and messages --------------------------------------- */

struct store_conversation {
    int64_t id;
    int64_t requester_id;
    char status[STORE_WORD_MAX];    /* open, self_solved, escalated, closed */
    int last_seq;                   /* seq of the last message, 0: none */
    int64_t created_at, updated_at;
    char ticket[STORE_NUMBER_MAX];  /* its ticket's number, "" if none */
};

/* Starts an open conversation for a requester. Returns 0 with *id set,
 * STORE_EINVALID (not a requester) or STORE_EDB. */
int store_conversation_create(struct store *s, int64_t requester_id, int64_t *id);

/* Reads conversation id for viewer_id: its requester, or any agent or admin.
 * Returns 0, STORE_ENOTFOUND, STORE_EFORBIDDEN (someone else's, or the
 * viewer is disabled or unknown) or STORE_EDB. */
int store_conversation_get(struct store *s, int64_t id, int64_t viewer_id,
                           struct store_conversation *out);

/* The requester's latest conversation still going on (open or escalated),
 * for a client that comes back. Returns 0, STORE_ENOTFOUND or STORE_EDB. */
int store_conversation_of_requester(struct store *s, int64_t requester_id,
                                    struct store_conversation *out);

/* Stores a message of sender_id in conversation conv. The sender's role is
 * the person's. A requester writes only to their own conversation while it
 * is open or escalated; an agent only to a conversation whose ticket is
 * assigned to them and not closed (the first such reply sets the ticket's
 * first_response_at; each writes a "replied" event). The message gets the
 * next seq of the conversation (1, 2, ...), allocated atomically with the
 * insert. client_id (may be NULL: no deduplication) makes resending safe: if
 * this sender already stored a message with that client id here, nothing is
 * stored, *seq gets the first one's seq and *duplicate 1. Returns 0,
 * STORE_ENOTFOUND (conversation or sender), STORE_EFORBIDDEN,
 * STORE_EINVALID (empty, blank or too long body; a conversation that
 * ended) or STORE_EDB; *seq and *duplicate are set only on success. */
int store_message_add(struct store *s, int64_t conv, int64_t sender_id, const char *client_id,
                      const char *body, int *seq, int *duplicate);

/* What store_message_post read about the conversation, under the lock it
 * stored the message with. */
struct store_posted {
    char status[STORE_WORD_MAX];    /* the conversation's: "open", "escalated", ... */
    char ticket[STORE_NUMBER_MAX];  /* its ticket's number, "" if none */
    int64_t agent_id;               /* the agent holding that ticket, 0 if none */
};

/* store_message_add (same rules, same results, one transaction) that also
 * fills *info (on success only) with the conversation's status and ticket,
 * which spares the caller reading them again. */
int store_message_post(struct store *s, int64_t conv, int64_t sender_id, const char *client_id,
                       const char *body, int *seq, int *duplicate, struct store_posted *info);

struct store_message {
    int64_t conversation_id;
    int seq;
    int64_t sender_id;
    const char *sender_role;
    const char *sender_name;
    const char *client_id; /* NULL if none */
    const char *body;
    int64_t created_at;
};

/* Return nonzero to stop the iteration. */
typedef int (*store_message_cb)(void *arg, const struct store_message *m);

/* Replays the messages of conv with seq > after_seq, in seq order, to cb,
 * for viewer_id (access as store_conversation_get). The callback runs after
 * the transaction has ended. Returns 0, the callback's nonzero value if it
 * stopped early, STORE_ENOTFOUND, STORE_EFORBIDDEN or STORE_EDB. */
int store_messages_since(struct store *s, int64_t conv, int64_t viewer_id, int after_seq,
                         store_message_cb cb, void *arg);

/* Records that document doc_id (kind "article", "known_error" or
 * "standard") was suggested in conv; suggesting it again updates the title
 * and time. Returns 0, STORE_ENOTFOUND (no such conversation),
 * STORE_EINVALID or STORE_EDB. */
int store_suggestion_add(struct store *s, int64_t conv, const char *doc_id, const char *kind,
                         const char *title);

/* Records n documents as suggested in conv, as store_suggestion_add does
 * for one, in one statement (one commit). The arrays are the documents'
 * ids, kinds and titles (a NULL title: the id); a document listed twice
 * counts once. n == 0 does nothing. Returns 0, STORE_ENOTFOUND (no such
 * conversation), STORE_EINVALID or STORE_EDB. */
int store_suggestions_add(struct store *s, int64_t conv, size_t n, const char *const *doc_ids,
                          const char *const *kinds, const char *const *titles);

struct store_suggestion {
    const char *doc_id;
    const char *kind;
    const char *title;
    int64_t shown_at;
    int helpful;             /* 1 yes, 0 no, -1 no verdict */
};

typedef int (*store_suggestion_cb)(void *arg, const struct store_suggestion *sg);

/* The documents suggested in conv (one per document, first shown first),
 * for viewer_id (access as store_conversation_get), to cb after the
 * transaction. Returns 0, the callback's nonzero value, STORE_ENOTFOUND,
 * STORE_EFORBIDDEN or STORE_EDB. */
int store_suggestions(struct store *s, int64_t conv, int64_t viewer_id, store_suggestion_cb cb,
                      void *arg);

/* The requester's verdict on a suggestion of their conversation. helpful on
 * an open conversation ends it as self_solved and records a deflection
 * (*ended = 1); helpful on an escalated one links the document to the
 * ticket as "helpful". Not helpful only records the verdict. *ended may be
 * NULL. Returns 0, STORE_ENOTFOUND (no such conversation, or the document
 * was not suggested there), STORE_EFORBIDDEN (not the requester's),
 * STORE_EINVALID (the conversation ended) or STORE_EDB. */
int store_feedback(struct store *s, int64_t conv, int64_t requester_id, const char *doc_id,
                   int helpful, int *ended);

/* ---- tickets ----------------------------------------------------------- */

/* Priority from impact and urgency (each 1 high, 2 medium, 3 low):
 *
 *                  urgency 1   urgency 2   urgency 3
 *     impact 1        P1          P2          P3
 *     impact 2        P2          P3          P4
 *     impact 3        P3          P4          P4
 *
 * that is impact + urgency - 1, with the lowest corner (5) folded into P4.
 * Returns 1..4, or STORE_EINVALID when impact or urgency is not 1..3. */
int store_priority(int impact, int urgency);

/* Response and resolution targets in seconds, index priority - 1, counted
 * in calendar time from the ticket's creation. */
struct store_sla {
    int response_s[4];
    int resolution_s[4];
};

/* The defaults: P1 15 min / 4 h, P2 30 min / 8 h, P3 4 h / 3 days,
 * P4 8 h / 5 days. */
void store_sla_default(struct store_sla *sla);

struct store_ticket {
    int64_t id;
    char number[STORE_NUMBER_MAX];          /* "INC-000123" */
    int64_t conversation_id;
    int64_t requester_id;
    int64_t agent_id;                       /* 0: nobody */
    char status[STORE_WORD_MAX];            /* new, assigned, resolved, reopened, closed */
    int impact, urgency, priority;
    int64_t response_due, resolution_due;
    int64_t first_response_at, resolved_at, closed_at; /* 0: not yet */
    int64_t created_at, updated_at;
    int rating;                             /* 1..5, 0: not rated */
    char *summary;
    char *category;                         /* NULL if none */
    char *resolution;                       /* latest resolution text, NULL if none */
    char *requester_name;
    char *agent_name;                       /* NULL if nobody */
};

/* Frees the strings of a ticket filled by store_ticket_get or store_escalate
 * and zeroes it. Safe on a zeroed struct. */
void store_ticket_fin(struct store_ticket *t);

/* Turns the requester's open conversation conv into a ticket (status new):
 * priority from store_priority, response_due and resolution_due from sla
 * (NULL: the defaults) counted from now (0: the server's clock), the
 * documents suggested in the conversation linked as "suggested", the
 * conversation marked escalated and a "created" event written. *out is
 * filled (free with store_ticket_fin). Returns 0, STORE_EINVALID (impact or
 * urgency not 1..3, empty summary, bad sla, the conversation ended),
 * STORE_ENOTFOUND, STORE_EFORBIDDEN (not the requester's), STORE_ECONFLICT
 * (already escalated: *out is then the existing ticket) or STORE_EDB. */
int store_escalate(struct store *s, int64_t conv, int64_t requester_id, const char *summary,
                   const char *category, int impact, int urgency, const struct store_sla *sla,
                   time_t now, struct store_ticket *out);

/* Return nonzero to stop the iteration. The ticket's strings are borrowed. */
typedef int (*store_ticket_cb)(void *arg, const struct store_ticket *t);

/* The open tickets (new, assigned, reopened), most urgent first (priority,
 * then age), to cb after the transaction. Returns 0, the callback's nonzero
 * value, or STORE_EDB. */
int store_queue(struct store *s, store_ticket_cb cb, void *arg);

/* Agent agent_id takes ticket number: one conditional UPDATE that succeeds
 * only while the ticket has no agent (new, or reopened and back in the
 * queue), so of two agents racing exactly one wins; status becomes assigned
 * and a "taken" event is written. Taking a ticket one already holds returns
 * 0 and changes nothing. Returns 0, STORE_ENOTFOUND, STORE_EFORBIDDEN (not
 * an enabled agent), STORE_ECONFLICT (someone else holds it), STORE_EINVALID
 * (resolved or closed) or STORE_EDB. */
int store_ticket_take(struct store *s, const char *number, int64_t agent_id);

/* May viewer_id see ticket number? Its requester and every enabled agent or
 * admin may. Returns 0, STORE_ENOTFOUND, STORE_EFORBIDDEN or STORE_EDB. */
int store_ticket_access(struct store *s, const char *number, int64_t viewer_id);

/* Reads ticket number for viewer_id (access as store_ticket_access) into
 * *out (free with store_ticket_fin; zeroed on failure). Returns 0,
 * STORE_ENOTFOUND, STORE_EFORBIDDEN or STORE_EDB. */
int store_ticket_get(struct store *s, const char *number, int64_t viewer_id,
                     struct store_ticket *out);

/* An agent's reply in the ticket's conversation: store_message_add on the
 * ticket's conversation (same rules, same results). */
int store_ticket_reply(struct store *s, const char *number, int64_t agent_id,
                       const char *client_id, const char *body, int *seq, int *duplicate);

/* Links document doc_id to the ticket with relation "suggested", "viewed",
 * "helpful" or "used" (used to resolve it). Agents may link anything; the
 * ticket's requester only "viewed" and "helpful". A link that exists
 * already is left alone (*added = 0); a new one writes a "linked" event
 * (*added = 1). *added may be NULL. Returns 0, STORE_ENOTFOUND,
 * STORE_EFORBIDDEN, STORE_EINVALID (bad relation, closed ticket) or
 * STORE_EDB. */
int store_ticket_link(struct store *s, const char *number, const char *doc_id,
                      const char *relation, int64_t actor_id, int *added);

struct store_link {
    const char *doc_id;
    const char *relation;    /* suggested, viewed, helpful, used */
    int64_t actor_id;        /* 0: the system */
    const char *actor_name;  /* NULL for the system */
    int64_t at;
};

typedef int (*store_link_cb)(void *arg, const struct store_link *l);

/* The ticket's knowledge links, oldest first, for viewer_id (access as
 * store_ticket_access), to cb after the transaction. Returns 0, the
 * callback's nonzero value, STORE_ENOTFOUND, STORE_EFORBIDDEN or
 * STORE_EDB. */
int store_ticket_links(struct store *s, const char *number, int64_t viewer_id, store_link_cb cb,
                       void *arg);

/* The assigned agent resolves the ticket (assigned or reopened ->
 * resolved) with a non-empty resolution text. Returns 0, STORE_ENOTFOUND,
 * STORE_EFORBIDDEN (not this agent's ticket), STORE_EINVALID (empty text,
 * not in a state to resolve) or STORE_EDB. */
int store_ticket_resolve(struct store *s, const char *number, int64_t agent_id,
                         const char *resolution);

/* The requester answers a resolution: accepted closes the ticket (and the
 * conversation; event "confirmed"), rejected reopens it (event "reopened"):
 * it stays with its agent, or goes back to the queue if that agent has been
 * disabled. Returns 0, STORE_ENOTFOUND, STORE_EFORBIDDEN (not the
 * requester), STORE_EINVALID (not resolved) or STORE_EDB. */
int store_ticket_confirm(struct store *s, const char *number, int64_t requester_id,
                         int accepted);

/* The requester rates the service once, 1..5, after the ticket was resolved
 * (or closed); comment may be NULL. Writes a "rated" event. Returns 0,
 * STORE_ENOTFOUND, STORE_EFORBIDDEN, STORE_EINVALID (score, state, comment
 * too long), STORE_ECONFLICT (rated already) or STORE_EDB. */
int store_ticket_rate(struct store *s, const char *number, int64_t requester_id, int score,
                      const char *comment);

/* Closes every ticket resolved at least `days` (>= 1) days before now (0:
 * the server's clock) whose requester has not answered, with an
 * "auto_closed" event by the system (no actor) at now. *closed (may be
 * NULL) gets how many. Returns 0, STORE_EINVALID (days < 1) or STORE_EDB. */
int store_auto_close(struct store *s, int days, time_t now, int *closed);

struct store_event {
    int64_t id;
    int64_t actor_id;        /* 0: the system */
    const char *actor_name;  /* NULL for the system */
    const char *type;        /* created, taken, replied, linked, resolved, ... */
    const char *from_status; /* NULL for "created" */
    const char *to_status;
    const char *detail;      /* a JSON object */
    int64_t at;
};

typedef int (*store_event_cb)(void *arg, const struct store_event *e);

/* The ticket's history, oldest first, for viewer_id (access as
 * store_ticket_access), to cb after the transaction. Returns 0, the
 * callback's nonzero value, STORE_ENOTFOUND, STORE_EFORBIDDEN or
 * STORE_EDB. */
int store_ticket_events(struct store *s, const char *number, int64_t viewer_id,
                        store_event_cb cb, void *arg);

#endif
