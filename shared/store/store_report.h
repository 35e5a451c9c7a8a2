/* store_report: the key indicators of the operations-and-maintenance
 * standard (7.6.1.2 knowledge, 7.8.2 service desk, 8.3.4.2 problems,
 * satisfaction), computed in SQL from the store's event rows over a period
 * of days in the organisation's time zone. Every figure has one definition
 * here (and one sentence in the README); the API, the page and the CSV
 * read this struct, so they cannot disagree.
 *
 * The period is [from, to] as local dates in tz (to inclusive); "in the
 * period" means at or after from's midnight and before the midnight after
 * to, in tz. A rate whose denominator is 0 is -1 (no figure). */
#ifndef STORE_REPORT_H
#define STORE_REPORT_H

#include "store_pg.h"

#define STORE_TZ_MAX 64
#define STORE_DATE_MAX 11 /* YYYY-MM-DD */

struct store_report_period {
    char from[STORE_DATE_MAX], to[STORE_DATE_MAX]; /* local dates, to inclusive */
    char tz[STORE_TZ_MAX];                         /* "Asia/Shanghai" */
    int recontact_days;                            /* deflection window, 1..90 */
};

struct store_indicators {
    /* desk */
    int received;             /* tickets created in the period */
    int resolved;             /* tickets whose last resolution in the period falls in it */
    int received_resolved;    /* of those received, resolved (and not reopened) by its end */
    int first_contact;        /* of those resolved, resolved with at most one agent reply
                                 and never reopened */
    int conversations;        /* chats started in the period with a requester message */
    int self_solved;          /* of those, ended self-solved (no ticket) */
    int deflected;            /* of those self-solved, whose requester did not start
                                 another chat within recontact_days that was shown the
                                 same document, nor raised a ticket in that time */
    double resolution_rate;   /* received_resolved / received */
    double fcr_rate;          /* first_contact / resolved */
    double self_service_rate; /* self_solved / conversations */
    double deflection_rate;   /* deflected / conversations */
    /* satisfaction */
    int ratings;              /* ratings given in the period */
    int ratings_good;         /* of those, 4 or 5 */
    int closed;               /* tickets closed in the period */
    int closed_rated;         /* of those, rated */
    double csat;              /* ratings_good / ratings */
    double rating_response_rate; /* closed_rated / closed */
    /* knowledge */
    int k_items[2][5];        /* desk items now: [article, known_error][draft, in_review,
                                 approved, published, retired] */
    int k_new, k_updated, k_retired; /* events in the period */
    int k_past_review;        /* published items whose review date has passed */
    int tickets_with_knowledge; /* of the tickets received, with knowledge linked */
    double utilisation;       /* tickets_with_knowledge / received */
    /* problems */
    int p_opened;             /* problems created in the period */
    int p_resolved;           /* problems whose resolution fell in the period */
    int p_opened_resolved;    /* of those opened, resolved or closed by its end */
    int p_open_known_errors;  /* problems in status known_error now */
    double p_resolution_rate; /* p_opened_resolved / p_opened */
    double p_mttr_hours;      /* mean hours from creation to resolution of p_resolved */
};

/* Computes the indicators for viewer (an enabled agent or admin) into
 * *out. Returns 0, STORE_EFORBIDDEN, STORE_EINVALID (bad dates, from after
 * to, a period over 366 days, an unknown time zone, recontact_days out of
 * range) or STORE_EDB. */
int store_report_indicators(struct store *s, int64_t viewer, const struct store_report_period *p,
                            struct store_indicators *out);

struct store_report_doc {
    const char *doc_id;  /* borrowed */
    int self_solved;     /* conversations of the period it ended self-solved */
    int deflected;       /* of those, not followed by a recontact (as above) */
    int shown, opened, helpful, linked; /* knowledge_use rows of the period */
};

/* Per document of the period (those with any self-solved chat or use),
 * most self-solved first, at most 100, to cb (non-zero stops). Returns as
 * store_report_indicators. */
int store_report_docs(struct store *s, int64_t viewer, const struct store_report_period *p,
                      int (*cb)(void *ud, const struct store_report_doc *d), void *ud);

#endif
