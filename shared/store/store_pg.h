/* store_pg: the store library's connection to PostgreSQL (libpq): error
 * codes, size limits, opening, closing and reconnecting a handle, and the
 * message of the last failed call. What holds for every function of the
 * library is said here.
 *
 * One `struct store` wraps one connection. Calls are synchronous and block
 * (a network round trip or more): call them from worker threads, never from
 * an event-loop thread. A store must not be shared between threads: give
 * each thread a store of its own. Every query is parameterised
 * (PQexecParams / PQexecPrepared); no value is ever pasted into SQL text.
 * Each public function runs in one transaction of its own (BEGIN ...
 * COMMIT), so it happens entirely or not at all, unless its comment says it
 * makes autocommit reads or one statement (a write in one statement is
 * atomic too). STORE_ECONFLICT is what a conflict returns (a unique
 * violation, a lost race, a serialisation failure), with nothing written,
 * unless the function's comment says otherwise.
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
#ifndef STORE_PG_H
#define STORE_PG_H

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

/* store_errmsg without its "[store][operation] " prefix: the words to show
 * a person or an API client. Same lifetime. */
const char *store_errtext(const struct store *s);

/* Drops and re-opens the connection. Returns 0 or STORE_EDB. Rarely needed:
 * every call first reconnects a broken connection by itself. */
int store_reconnect(struct store *s);

/* ---- group commit -------------------------------------------------------
 * Several operations in one transaction, so that they share one commit
 * (one fsync): chatdesk's chat writers store every message waiting at that
 * moment this way. Between store_batch_begin and store_batch_commit the
 * operations of s keep their contracts (results, errors, ownership), except
 * that what they write is durable only once store_batch_commit returned 0:
 * nothing they did may be announced before that. Each operation runs in a
 * savepoint of its own (BEGIN ... COMMIT become SAVEPOINT ... RELEASE, a
 * failure rolls back to it), so one that fails leaves the others' writes
 * whole. Autocommit reads run inside the batch's transaction. A lost
 * connection is not reconnected inside a batch: the operation fails with
 * STORE_EDB, and so does the commit. Row locks taken by an operation are
 * held until the batch's end: callers order their items (by conversation)
 * so that two batches lock in the same order.
 *
 * Each savepoint makes a subtransaction with an id of its own: keep a
 * batch under 64 of them (PostgreSQL's per-backend cache of subtransaction
 * ids; beyond it every snapshot of every session gets slower).
 *
 * The items: store_batch_item_begin and store_batch_item_end around the
 * operations of one item (one request) say whether the batch can still be
 * committed. */

/* Opens the batch's transaction (reconnecting a broken connection first).
 * Returns 0, or STORE_EDB (no batch is open then). Not nested. */
int store_batch_begin(struct store *s);

/* Starts an item of the open batch. Returns 0, or STORE_EDB: the batch
 * cannot be committed any more (see store_batch_item_end); the item must
 * run alone after it. */
int store_batch_item_begin(struct store *s);

/* Ends the item started last. Returns 0: its writes stay in the batch,
 * whatever its operations returned (a failed operation wrote nothing). Or
 * STORE_EDB when one of its statements failed outside an operation's
 * savepoint (the transaction is aborted) or the connection was lost:
 * store_batch_commit will then fail and store nothing, and every item of
 * the batch must run again alone (cheap, and rare: the operations that can
 * abort a transaction so are one-statement writes refused by the
 * database). */
int store_batch_item_end(struct store *s);

/* Commits the batch and leaves batch mode (also when it fails). Returns 0:
 * every item of it is durable; or STORE_EDB (or the code of the failed
 * COMMIT): nothing of the batch is stored (if the connection broke during
 * COMMIT, the outcome is unknown, as for any operation: see above), and
 * each item must run again alone. */
int store_batch_commit(struct store *s);

#endif
