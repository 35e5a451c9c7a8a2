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
    /* filters of the ticket figures (desk, satisfaction, utilisation,
     * timeliness); "" or 0 = all. service: a service's name (the ticket's
     * SLA service); team: a team's slug; category: exact or a whole leading
     * path ("网络" matches "网络/VPN"); channel: how the ticket was raised,
     * "chat" (every ticket is raised from a chat today); priority 1..4. */
    char service[64], team[33], category[201], channel[16];
    int priority;
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
    /* search (search_log) */
    int searches;             /* searches in the period (chat suggestions, agents' searches) */
    int zero_result;          /* of those, with no hit */
    int low_confidence;       /* of those, answered "no good match" (zero results included) */
    int searches_with_hits;   /* of those, with a hit shown */
    int clicked;              /* of those with hits, after which the same person opened or
                                 marked helpful a document within 30 minutes */
    double zero_result_rate;  /* zero_result / searches */
    double low_confidence_rate; /* low_confidence / searches */
    double click_through;     /* clicked / searches_with_hits */
    /* follow-ups (回访) */
    int followups;            /* follow-ups recorded in the period */
    int followups_recurred;   /* of those, the problem had come back: recontacts */
    double stayed_solved_rate; /* stayed solved / (stayed solved + recurred) */
    /* timeliness (ticket_sla): a clock "due in the period" has its deadline
     * in the period and is decided (answered / resolved by the period's
     * end, or its deadline has passed) */
    int response_due;         /* tickets whose response deadline fell in the period */
    int response_met;         /* of those, first agent reply at or before the deadline */
    int resolve_due;          /* tickets whose resolution deadline fell in the period */
    int resolve_met;          /* of those, resolved (not reopened) at or before it */
    int breached;             /* tickets with a response or resolution deadline in the
                                 period that was missed */
    double response_attainment; /* response_met / response_due */
    double resolve_attainment;  /* resolve_met / resolve_due */
    int response_timed;       /* tickets with an SLA clock first answered in the period */
    double response_mean_hours, response_p90_hours; /* working hours, started -> reply */
    int resolve_timed;        /* tickets with an SLA clock resolved in the period */
    double resolve_mean_hours, resolve_p90_hours;   /* working hours, started -> resolution */
    int priority1;            /* tickets received in the period with priority 1 */
    int major_incidents;      /* tickets declared a major incident in the period (019_major;
                                 cleared since or not) */
};

/* One search of the desk, for the search indicators: source "chat" (a
 * requester's suggestions; conv set) or "agent"; query (cut to 200
 * characters at a character boundary); hits shown, the best one's
 * confidence (< 0: none), whether it was no good match, the best hit's id
 * (may be NULL). One statement. Returns 0, STORE_EINVALID or STORE_EDB. */
int store_search_log(struct store *s, const char *source, int64_t person, int64_t conv,
                     const char *query, int hits, double top_confidence, int no_good_match,
                     const char *top_doc);

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

struct store_report_query {
    const char *query; /* borrowed, lower-cased */
    int count, no_good_match;
};

/* The period's most frequent queries (gaps 0) or those that most often
 * found nothing good (gaps 1: content gaps), at most 20, to cb. Returns as
 * store_report_indicators. */
int store_report_queries(struct store *s, int64_t viewer, const struct store_report_period *p,
                         int gaps, int (*cb)(void *ud, const struct store_report_query *q),
                         void *ud);

/* ---- timeliness per policy, drill-down ---------------------------------------- */

struct store_report_policy {
    const char *service; /* borrowed */
    int priority;
    int response_due, response_met, resolve_due, resolve_met; /* as in store_indicators */
};

/* The timeliness counts per service x priority (the ticket's SLA policy),
 * ordered by service and priority, to cb (non-zero stops). Returns as
 * store_report_indicators. */
int store_report_policies(struct store *s, int64_t viewer, const struct store_report_period *p,
                          int (*cb)(void *ud, const struct store_report_policy *x), void *ud);

struct store_report_item {
    const char *kind;       /* "ticket", "problem" or "conversation" */
    const char *id;         /* INC-000001, PRB-000001, a conversation's id; borrowed */
    const char *summary;    /* ticket / problem summary; a conversation's document; may be NULL */
    const char *status;     /* may be NULL */
    const char *service;    /* the ticket's SLA service; may be NULL */
    const char *resolution; /* the ticket's or problem's resolution text; may be NULL */
    int priority;           /* tickets; 0 otherwise */
    double hours;           /* response_timed / resolve_timed: the working hours counted;
                               -1 otherwise */
};

/* The rows behind one countable indicator, named "section.name" as in the
 * API (desk.received, timeliness.breached, problems.opened, ...: each
 * countable field above), from the same SQL as the figure, so there
 * are exactly as many rows as the figure says; to cb in id order (non-zero
 * stops). Returns as store_report_indicators, and STORE_ENOTFOUND for a
 * name with no list. */
int store_report_items(struct store *s, int64_t viewer, const struct store_report_period *p,
                       const char *indicator,
                       int (*cb)(void *ud, const struct store_report_item *it), void *ud);

#endif
