/* proto: the chat desk's wire codec (chatdesk/PROTOCOL.md), pure functions
 * between JSON text frames and C structs. No I/O, no state, no threads:
 * proto_parse turns one client frame into a struct desk_msg or a typed
 * error; the proto_*_json helpers build the server's frames. Validation is
 * complete here (UTF-8, NUL, JSON, object, type, every field's presence,
 * JSON type, length and range), so the service layer gets only well-formed
 * requests.
 *
 * Ownership: a parsed desk_msg owns its strings (desk_msg_fin frees them).
 * proto_dump and the frame builders return heap strings the caller frees. */
#ifndef DESK_PROTO_H
#define DESK_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "kb_search.h"
#include "store.h"

/* Field limits, in characters (code points) unless said otherwise. */
#define PROTO_ID_MAX 128          /* client ids */
#define PROTO_NAME_MAX 128
#define PROTO_EMAIL_MIN 3
#define PROTO_EMAIL_MAX 254
#define PROTO_USERNAME_MAX 64
#define PROTO_PASSWORD_MAX 1024   /* bytes */
#define PROTO_SESSION_MAX 64      /* bytes */
#define PROTO_TEXT_MAX 20000
#define PROTO_ATTACH_MAX 8   /* attachments per message or reply */
#define PROTO_SUMMARY_MAX 1000
#define PROTO_CATEGORY_MAX 200
#define PROTO_ITEM_MAX 200
#define PROTO_COMMENT_MAX 2000
#define PROTO_TICKET_MAX 24       /* "INC-" and up to 20 digits */
#define PROTO_TEAM_MAX 32         /* a team slug */
#define PROTO_REASON_MAX 2000
/* pending: the reason of a wait for the requester, in characters */
#define PROTO_PENDING_REASON_MAX 500
#define PROTO_SEARCH_LIMIT KB_SEARCH_DEFAULT_LIMIT /* search: items by default */
#define PROTO_SEARCH_LIMIT_MAX 50 /* search: at most this many items */
#define PROTO_SEARCH_OFFSET_MAX 10000
#define PROTO_KIND_MAX 64         /* bytes of a search's kind list */
#define PROTO_CODE_LEN 6          /* a mailed sign-in code: six digits */

/* Error codes of error frames. proto_code_name gives the wire name. */
enum proto_code {
    P_OK = 0,
    P_BAD_JSON,
    P_BAD_ENCODING,
    P_BAD_FRAME,
    P_TOO_LARGE,
    P_NOT_OBJECT,
    P_MISSING_FIELD,
    P_BAD_FIELD,
    P_UNKNOWN_TYPE,
    P_RATE_LIMITED,
    P_OVERLOADED,
    P_NOT_AUTHENTICATED,
    P_ALREADY_AUTHENTICATED,
    P_LOGIN_FAILED,
    P_SESSION_EXPIRED,
    P_FORBIDDEN,
    P_NOT_FOUND,
    P_ALREADY_TAKEN,
    P_INVALID_STATE,
    P_ALREADY_RATED,
    P_DB_UNAVAILABLE,
    P_INTERNAL,
    P_TOO_MANY_ATTEMPTS, /* login refused for now: too many wrong passwords */
    P_TRY_LATER,         /* login refused for now: the server is hashing enough */
    P_CONFLICT,          /* edit: a field was changed by someone else meanwhile */
    P_NCODES
};

/* "bad_json", ...; "internal" for an unknown code. Static strings. */
const char *proto_code_name(int code);

/* Client frame types, and the internal requests the daemon itself makes
 * (never parsed from the wire). */
enum desk_msg_type {
    DM_NONE = 0,
    DM_HELLO,
    DM_LOGIN,
    DM_MESSAGE,
    DM_FEEDBACK,
    DM_ESCALATE,
    DM_QUEUE,
    DM_TAKE,
    DM_REPLY,
    DM_LINK,
    DM_RESOLVE,
    DM_CONFIRM,
    DM_RATE,
    DM_OPEN,
    DM_TYPING,
    DM_PING,
    DM_LOGOUT,
    DM_SEARCH,   /* agents: knowledge search */
    DM_DOC,      /* one stored document */
    DM_EDIT,     /* agents: edit a ticket's fields */
    DM_NOTE,     /* agents: an internal note on a ticket */
    DM_TRANSFER, /* agents: assign / transfer a ticket */
    DM_KB_FEEDBACK, /* a reader's verdict on a document (kb_feedback) */
    /* internal */
    DM_CATCHUP,  /* replay the conversation after after_seq to this connection */
    DM_MAINTAIN, /* auto-close resolved tickets, purge expired sessions */
    DM_SLA,      /* mark SLA warnings and breaches, tell the agents */
    /* requesters' identity (desk_portal.c) */
    DM_SIGNIN_REQUEST, /* mail a sign-in code to email */
    DM_SIGNIN,         /* sign in with email + code, or a mailed link token */
    DM_PRIVATE_LINK,   /* a new private link (the old one stops working) */
    DM_MY_TICKETS,     /* the requester's tickets, whole */
    DM_FOLLOW,         /* continue in ticket's conversation */
    DM_MAIL_PREFS,     /* ticket mails on or off */
    /* internal */
    DM_MAIL,           /* the mail sender's round */
    DM_AWAY,           /* an agent's message seq after_seq in conv found no
                          requester connected: queue the mail */
    /* waiting for the requester (desk_work.c) */
    DM_PENDING,        /* agents: ticket waits for its requester, with reason */
    DM_RESUME,         /* agents: end that wait */
    DM_LEAVE,          /* agents: the ticket's view was closed (no answer; the
                          hub tells its other viewers, hub.c) */
};

/* The wire name of a type ("hello", ...; "catchup" / "maintain" for the
 * internal ones). Static. */
const char *proto_type_name(enum desk_msg_type t);

/* One parsed client frame. Absent optional strings are NULL. */
struct desk_msg {
    enum desk_msg_type type;
    char *id;            /* client id, any frame */
    /* hello */
    char *name, *email;
    int resume;          /* a resume object was given */
    char *session;       /* hello resume.session; login session */
    int last_seq;        /* hello resume.last_seq (default 0) */
    int64_t resume_conv; /* hello resume.conversation (0: not given) */
    /* login */
    char *username, *password;
    /* message, reply */
    char *text;
    /* feedback, link, doc */
    char *item;
    int helpful;
    /* escalate */
    int impact, urgency;
    char *summary, *category;
    /* take, reply, link, resolve, confirm, rate, open, typing */
    char *ticket;
    char *relation;      /* link: NULL means "used" */
    char *resolution;
    int accepted;
    int score;
    char *comment;
    int active;          /* typing (default 1) */
    int after_seq;       /* DM_CATCHUP */
    /* search */
    char *q;             /* 1..KB_SEARCH_MAX_QUERY bytes, not blank */
    char *kind;          /* NULL, or a comma list of article, known_error, standard */
    int limit;           /* 1..PROTO_SEARCH_LIMIT_MAX (default PROTO_SEARCH_LIMIT) */
    int offset;          /* 0..PROTO_SEARCH_OFFSET_MAX */
    /* edit (summary, category: "" clears it, impact, urgency: 0 unchanged;
     * "was": the values the editor started from, NULL / 0 when not given,
     * was_category "" for none), note (text), transfer */
    char *was_summary, *was_category;
    int was_impact, was_urgency;
    char *team;          /* a team slug */
    int64_t agent;       /* a person id (0: none) */
    char *reason;
    /* kb_feedback: item, verdict, comment (NULL when absent or blank) */
    char *verdict;       /* helpful, not_helpful, out_of_date */
    /* requesters' identity */
    char *link;          /* hello: a private link's token; signin: a mailed link's */
    char *code;          /* signin: the six digits */
    int ticket_mail;     /* mail_prefs */
    int64_t conv;        /* DM_AWAY */
    /* message, reply: "attachments": ids of the sender's uploads (0..8) */
    int64_t attach[PROTO_ATTACH_MAX];
    int nattach;
};

/* Frees m's strings (wiping the password) and zeroes it. NULL is a no-op. */
void desk_msg_fin(struct desk_msg *m);

/* What went wrong with a frame; id is the frame's client id if it had a
 * valid one (else ""), field the offending field for missing_field /
 * bad_field (else ""). */
struct proto_error {
    int code;
    char id[PROTO_ID_MAX * 4 + 1];
    char field[32];
    char message[200];
};

/* Parses one text frame of len bytes. Returns 0 with *out filled (caller
 * calls desk_msg_fin), or a P_* code with *out zeroed and *err filled. */
int proto_parse(const char *data, size_t len, struct desk_msg *out, struct proto_error *err);

/* Number of code points in valid UTF-8 s. */
size_t proto_utf8_chars(const char *s);

/* ---- building server frames ---------------------------------------------- */

/* Serialises o compactly (UTF-8, not ASCII-escaped) and drops the
 * reference. Returns the text (caller frees) and its length in *len (may be
 * NULL). Never NULL (aborts on out-of-memory). */
char *proto_dump(json_t *o, size_t *len);

/* {"type":"error","code":..,"message":..[,"id":..][,"field":..]}; id and
 * field may be NULL or "". */
char *proto_error_frame(int code, const char *message, const char *id, const char *field,
                        size_t *len);

/* The same with "retry_after": seconds (when > 0): how long the client
 * should wait before trying again. */
char *proto_error_frame_retry(int code, const char *message, const char *id, int retry_after,
                              size_t *len);

/* The ticket object of PROTOCOL.md (new reference). */
json_t *proto_ticket(const struct store_ticket *t);

/* {"type":"ticket", ...the ticket object's fields..., ["id":id]}. */
json_t *proto_ticket_frame(const struct store_ticket *t, const char *id);

/* A suggestion / search item from a search hit (new reference); standard
 * clauses also get std, standard, clause, heading and path. */
json_t *proto_hit(const struct kb_hit *h);

/* A knowledge-base document as the "doc" frame carries it (new reference,
 * or NULL if its fields do not make JSON): the kb_doc fields
 * (kb_doc_to_json), then "std" and "standard" for standard clauses and
 * "refs":[ids the reader may open]. The same object as searchd's /doc. */
json_t *proto_doc(const struct kb_search_doc *d);

/* A conversation message as sent to a client:
 * {"type":"message","from":..,"name":..,"text":..,"seq":..,"at":..
 *  [,"id":client_id][,"ticket":number]} (with_type 0 leaves out "type", for
 * transcripts). role is the sender's role ("requester", "agent", "admin";
 * admin is sent as "agent"). client_id and ticket may be NULL or "". */
json_t *proto_message(int with_type, const char *role, const char *name, const char *text,
                      int seq, int64_t at, const char *client_id, const char *ticket);

/* A time as a JSON integer, 0 as null. */
json_t *proto_time(int64_t t);

#endif
