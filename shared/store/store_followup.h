/* store_followup: the follow-up after a ticket closes (回访, 8.3.3 f) in
 * the table followups: one per closed ticket, recording whether the
 * problem stayed solved (stayed_solved, recurred, no_answer) with who,
 * when and a note. The follow-ups the desk owes are the tickets closed in
 * the last days without one. Agents and admins only (STORE_EFORBIDDEN for
 * others). */
#ifndef STORE_FOLLOWUP_H
#define STORE_FOLLOWUP_H

#include "store_pg.h"

/* Records the follow-up of ticket number by agent: outcome one of
 * stayed_solved, recurred, no_answer; note may be NULL (1..2000
 * characters). Returns 0, STORE_ENOTFOUND, STORE_EFORBIDDEN, STORE_EINVALID
 * (a bad outcome or note; the ticket is not closed), STORE_ECONFLICT (it has
 * one already) or STORE_EDB. */
int store_followup_record(struct store *s, const char *number, int64_t agent, const char *outcome,
                          const char *note);

struct store_followup_due {
    char number[STORE_NUMBER_MAX];
    const char *summary;      /* borrowed */
    const char *requester;    /* borrowed: the requester's name */
    int64_t closed_at;
};

/* Tickets closed in the last days (1..90) without a follow-up, oldest
 * first, at most 200, to cb. Returns 0, STORE_EFORBIDDEN, STORE_EINVALID or
 * STORE_EDB. */
int store_followup_due(struct store *s, int64_t viewer, int days,
                       int (*cb)(void *ud, const struct store_followup_due *f), void *ud);

#endif
