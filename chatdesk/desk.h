/* desk: the chat desk's service layer. desk_on_message takes one parsed
 * request (struct desk_msg) from one client (struct desk_client: who is on
 * the connection) and answers it into an outbox: frames for this client,
 * frames for other people (the agent holding a ticket, every agent, the
 * requester's connections), and the client's new state. It never sees a
 * socket, a thread or the event loop: the daemon runs it on a worker thread
 * and delivers the outbox on the service thread; tests call it directly.
 *
 * A struct desk is one worker's view: its own PostgreSQL connection (struct
 * store) and its own index handle (kb_searcher). It must not be shared
 * between threads; the kb_lexicon may be (read-only).
 *
 * Errors from the store or the index become error frames in the outbox;
 * desk_on_message itself cannot fail. Nothing is acknowledged that the
 * store did not commit. */
#ifndef DESK_DESK_H
#define DESK_DESK_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "kb_lexicon.h"
#include "kb_search.h"
#include "proto.h"
#include "store.h"

struct desk_config {
    int session_ttl;      /* seconds a session lives after its last use */
    int suggestions;      /* items per suggestions frame, 1..20 */
    int auto_close_days;  /* close resolved tickets not answered for this long */
    struct store_sla sla; /* response / resolution targets per priority */
    int login_max_failures; /* consecutive wrong passwords that lock an account */
    int login_lockout;      /* seconds an account stays locked */
    int knowledge_self_approval; /* 1: a reviewer may approve their own version */
    /* requesters' private links, e-mail sign-in and mail (desk_portal.c,
     * mail.c); the strings are owned by whoever fills the struct (chatdesk:
     * its cd_config), NULL when not set */
    const char *public_url;    /* the chat page as requesters reach it; links in
                                  mails start with it (NULL: no absolute links) */
    const char *smtp_url;      /* smtp:// or smtps:// relay (NULL: mails stay queued) */
    const char *smtp_from;     /* envelope and From: address */
    const char *smtp_user, *smtp_password; /* optional */
    int smtp_starttls;         /* 1: require STARTTLS on smtp:// */
    int mail_retry_min, mail_retry_max, mail_max_attempts; /* back-off, seconds */
    int signin_code_ttl;       /* seconds a mailed sign-in code lives (600) */
    int signin_max_tries;      /* wrong codes before it is locked (5) */
    /* several instances (README "Deployment"): a standby the report reads
     * go to (NULL: the primary); owned like the strings above */
    const char *report_db;
    /* attachments (api_attach.c): the folder of their files (owned by the
     * filler; NULL: uploads refused) and the largest upload in bytes */
    const char *attach_dir;
    int attach_max;
};

/* Defaults: sessions 7 days, 5 suggestions, auto-close after 3 days, the
 * store's default SLA, an account locked for 15 minutes after 5
 * consecutive wrong passwords, no approving one's own knowledge. */
void desk_config_default(struct desk_config *cfg);

enum desk_role { DESK_NONE = 0, DESK_REQUESTER, DESK_AGENT };

/* What the service knows about a connection. The daemon keeps one per
 * connection and hands a copy with every request; the outbox says how it
 * changed. */
struct desk_client {
    enum desk_role role;
    int64_t person_id; /* 0 for a requester who has sent nothing yet: no row
                          exists; the first message creates the person, its
                          session (token_hash) and conversation */
    char name[STORE_NAME_MAX];
    char email[PROTO_EMAIL_MAX * 4 + 1]; /* a new requester's, until stored ("" if none) */
    int64_t conv_id;   /* requesters: their current conversation (0: none yet) */
    unsigned char token_hash[AUTH_TOKEN_HASH_BYTES]; /* the session's */
    char addr[STORE_ADDR_MAX]; /* the client's network address (set by the
                                  daemon, kept across sign-ins; "" if unknown) */
};

/* Where a frame goes. */
enum desk_target {
    DESK_TO_SELF,    /* the connection that made the request */
    DESK_TO_PERSON,  /* every connection of person `target` */
    DESK_TO_CONV,    /* every requester connection following conversation `target` */
    DESK_TO_AGENTS,  /* every logged-in agent connection */
};

struct desk_frame {
    struct desk_frame *next;
    enum desk_target to;
    int64_t target;     /* person or conversation id */
    int seq;            /* > 0: a conversation message with this seq: a requester
                           connection gets each seq once, in order */
    int ack_seq;        /* > 0: the ack of the client's own message seq */
    int not_self;       /* not to the requesting connection itself */
    char *json;         /* owned */
    size_t len;
};

/* Suggestion searches that follow a requester's message. desk_on_message
 * does not search: it acknowledges the message and leaves these in the
 * outbox; the daemon runs them afterwards with desk_suggest (on its search
 * threads), so an ack never waits for a search. */
struct desk_suggest {
    int requester;      /* suggestions for the requester, "for_seq": for_seq */
    int agent;          /* suggestions for agent_id about ticket */
    int64_t conv;       /* the conversation searched */
    int for_seq;
    int64_t agent_id;
    char ticket[STORE_NUMBER_MAX];
};

struct desk_outbox {
    struct desk_frame *head, *tail;
    int client_set;            /* the client's state changed to `client` */
    struct desk_client client;
    int attach;                /* (requesters) follow conversation attach_conv,
                                  having seen its messages up to attach_after;
                                  the daemon then replays the rest (DM_CATCHUP) */
    int64_t attach_conv;
    int attach_after;
    int db_error;              /* a store call failed with STORE_EDB */
    int auto_closed;           /* DM_MAINTAIN: tickets closed */
    int sessions_purged;       /* DM_MAINTAIN: sessions deleted */
    int requesters_purged;     /* DM_MAINTAIN: idle requester identities deleted */
    int sla_marked;            /* DM_SLA: warnings and breaches marked */
    int login;                 /* DM_LOGIN with a password: DESK_LOGIN_* */
    int locked_for;            /* DM_LOGIN: this failure locked the account for
                                  this many seconds (0: it did not) */
    struct desk_suggest suggest; /* DM_MESSAGE: searches to run next (desk_suggest) */
    int mail_sent, mail_failed;  /* DM_MAIL: this round's mails */
    int mail_queued;             /* DM_AWAY: a mail was queued */
    int hook_sent, hook_failed;  /* DM_MAIL: this round's robot and webhook deliveries */
    char viewing[STORE_NUMBER_MAX]; /* DM_OPEN by an agent: the ticket now open on
                                       the connection ("" unchanged) */
};

/* What a password login came to, for the daemon's per-address count. */
enum {
    DESK_LOGIN_NONE = 0, /* not a password login, or refused before any check */
    DESK_LOGIN_FAILED,   /* a password was checked and was wrong (or the user unknown) */
    DESK_LOGIN_OK,
};

void desk_outbox_init(struct desk_outbox *out);
/* Frees every frame and zeroes out. */
void desk_outbox_fin(struct desk_outbox *out);
/* Appends a frame: json is serialised and its reference dropped. */
void desk_outbox_add(struct desk_outbox *out, enum desk_target to, int64_t target, json_t *json);
/* Appends an error frame with "retry_after": seconds (> 0) to the client. */
void desk_outbox_error_retry(struct desk_outbox *out, int code, const char *message,
                             const char *id, int retry_after);
/* Appends an error frame to the client. */
void desk_outbox_error(struct desk_outbox *out, int code, const char *message, const char *id,
                       const char *field);
/* Detaches the frames (the caller owns the list) leaving the outbox empty of
 * frames. */
struct desk_frame *desk_outbox_take(struct desk_outbox *out);
void desk_frame_free(struct desk_frame *f);

struct desk;

/* Opens a store on conninfo and a searcher on index (lx must outlive the
 * desk); cfg must outlive it too. Returns 0 and *out, or -1 with *out NULL
 * and a message in err. Free with desk_free (NULL is a no-op). */
int desk_new(const char *conninfo, const char *index, const kb_lexicon *lx,
             const struct desk_config *cfg, struct desk **out, char *err, size_t errlen);
void desk_free(struct desk *d);

/* The desk's store (for tests). */
struct store *desk_store(struct desk *d);

/* The store the reports read from: a connection to cfg->report_db (a
 * streaming standby), opened at the first call and reconnected by the
 * store like any other; without report_db, or while it cannot be opened
 * (a warning is logged; the next call tries again), the desk's own store.
 * Owned by the desk. */
struct store *desk_report_store(struct desk *d);

/* Can a reader open document id in the index (internal: an agent, who
 * sees internal documents too; else public ones only)? Returns 1, 0 (no
 * such document, or not for this reader) or -1 (the index cannot be read).
 * Picks up a new index revision first, like the desk's own look-ups. */
int desk_doc_visible(struct desk *d, const char *id, int internal);

/* Handles msg from who into out (initialised by the caller). Never fails:
 * problems become error frames. A requester's message is stored and
 * acknowledged without searching: the suggestions to search next are left
 * in out->suggest, for desk_suggest. */
void desk_on_message(struct desk *d, const struct desk_client *who, const struct desk_msg *msg,
                     struct desk_outbox *out);

/* Runs the searches of sg (from an outbox of desk_on_message for who) into
 * out (initialised by the caller): a "suggestions" frame with for_seq to
 * the requester (recorded as shown, one commit), and/or one with ticket to
 * the agent holding it. Never fails: a search or store error only leaves
 * its frame out. Does nothing when sg asks for nothing. */
void desk_suggest(struct desk *d, const struct desk_client *who, const struct desk_suggest *sg,
                  struct desk_outbox *out);

#endif
