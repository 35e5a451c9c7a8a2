/* store_major: major incidents (重大事件; migration 019_major.sql). A team
 * lead or an administrator declares an open ticket a major incident (or
 * the system does, when the priority rule of `chatdesk escalation-load`,
 * "major_priority", covers its priority), and clears it; other tickets are
 * linked to it. Each transition writes its ticket event in the same
 * transaction (major_declared, major_cleared, major_linked). A declaration
 * tells every team lead and every member of the service's owner team at
 * once: the people told go to a callback after the commit (the desk sends
 * them frames) and each with an address gets a "major_incident" mail in
 * the outbox, due at once whatever the calendar's quiet hours. The ticket
 * JSON of the incident and of every ticket linked to it carries the banner
 * (store_ticket.major, major_message, major_since).
 *
 * Strings handed to callbacks are borrowed (valid during the call). */
#ifndef STORE_MAJOR_H
#define STORE_MAJOR_H

#include "store_pg.h"

#include <time.h>

#define STORE_MAJOR_TEXT_MAX 500 /* reason and message, in characters */

/* Someone told of a major incident's declaration or clearing: person,
 * why ("lead": a team lead; "owner": a member of the service's owner
 * team), the incident's ticket number and what happened ("declared",
 * "cleared"). */
struct store_major_told {
    int64_t person_id;
    const char *why, *number, *event;
    int by_rule; /* declared by the priority rule, not by a person */
};
typedef int (*store_major_told_cb)(void *arg, const struct store_major_told *t);

/* A ticket whose requester sees the incident's banner (the incident itself
 * and every ticket linked to it): number, conversation, the incident's
 * number, whether it is a major incident now (0: cleared, no banner), its
 * message (NULL if none) and when it was declared. */
typedef int (*store_major_affected_cb)(void *arg, const char *number, int64_t conversation_id,
                                       const char *major, int active, const char *message,
                                       int64_t since);

/* Declares ticket number a major incident by actor (an enabled admin, or
 * an enabled agent with the team_lead role), with reason (1..500
 * characters) and message to affected requesters (NULL or 1..500
 * characters), at now (0: the server's clock). The ticket must be open
 * (new, assigned, pending, reopened). A ticket that is one already changes
 * nothing (*declared = 0); a cleared one is declared again. told (may be
 * NULL) gets each person told, after the commit. Returns 0,
 * STORE_EINVALID (bad text, a resolved or closed ticket, a ticket linked to
 * another incident), STORE_EFORBIDDEN, STORE_ENOTFOUND, a callback's
 * nonzero value or STORE_EDB. */
int store_major_declare(struct store *s, const char *number, int64_t actor, const char *reason,
                        const char *message, time_t now, store_major_told_cb told, void *arg,
                        int *declared);

/* Clears the major incident ticket number by actor (as for declaring):
 * the banner goes from every affected requester, the links stay (history).
 * told gets the people told of the declaration. Returns 0, STORE_EINVALID
 * (not a major incident now), STORE_EFORBIDDEN, STORE_ENOTFOUND, a
 * callback's nonzero value or STORE_EDB. */
int store_major_clear(struct store *s, const char *number, int64_t actor, time_t now,
                      store_major_told_cb told, void *arg);

/* Links ticket to the major incident major by actor (an admin or a team
 * lead, or an agent who may work on ticket: store_workspace.h), with a
 * "major_linked" event on ticket. *added (may be NULL) is 0 when it was
 * linked to it already. Returns 0, STORE_EINVALID (major is not a major
 * incident now, ticket is major itself, or is linked to another incident,
 * or is closed), STORE_EFORBIDDEN, STORE_ENOTFOUND or STORE_EDB. */
int store_major_link(struct store *s, const char *major, const char *ticket, int64_t actor,
                     time_t now, int *added);

/* One major incident as an agent sees it (strings owned; free with
 * store_major_fin). declared_at 0: the ticket was never one. */
struct store_major {
    char number[32];
    int64_t declared_at, cleared_at; /* 0: not yet */
    char *declared_by;               /* the person's name, NULL: the rule */
    char *reason, *message;          /* message NULL if none */
    int nlinked;
    struct store_major_link {
        char number[32];
        char status[16];
        char *summary;
        int64_t at;
    } *linked;
};
void store_major_fin(struct store_major *m);

/* Ticket number's major incident record and the tickets linked to it, for
 * viewer (an enabled agent or admin). Returns 0, STORE_EFORBIDDEN (a
 * requester, a disabled account), STORE_ENOTFOUND or STORE_EDB. */
int store_major_get(struct store *s, const char *number, int64_t viewer, struct store_major *out);

/* The incident major itself and every ticket linked to it, to cb (their
 * requesters see its banner). Returns 0, a callback's nonzero value or
 * STORE_EDB. */
int store_major_affected(struct store *s, const char *major, store_major_affected_cb cb,
                         void *arg);

/* The priority rule's step: declares (by the system, reason "priority N")
 * every open ticket at the rule's priority or a more urgent one that was
 * never a major incident, at most limit per run, oldest first, in one
 * transaction (FOR UPDATE SKIP LOCKED: several chatdesk processes declare
 * each once). told gets each person told; declared (may be NULL) each
 * incident's number, after the commit. No rule loaded: nothing. Returns 0,
 * a callback's nonzero value or STORE_EDB. */
int store_major_sweep(struct store *s, time_t now, int limit, store_major_told_cb told,
                      int (*declared)(void *arg, const char *number), void *arg);

#endif
