/* store: the desk's PostgreSQL store library (build/lib/libstore.a), linked
 * by chatdesk, the indexer and report commands. Include this header for all
 * of it. No SQL is written outside this folder: programs call the functions
 * declared here. It is split by aggregate, one header and one source file
 * each:
 *
 *   store_pg.h       connection, reconnecting, errors, limits; the rules
 *                    every function follows (transactions, threads, times)
 *   store_migrate.h  versioned migrations (migrations/NNN_name.sql)
 *   store_people.h   agents, admins, requesters; disabling
 *   store_session.h  signed-in sessions
 *   store_conv.h     conversations, messages, suggestions, feedback
 *   store_ticket.h   tickets and their lifecycle (one transition table),
 *                    events, links, ratings; waiting for the requester
 *                    (store_pause.c)
 *   store_knowledge.h knowledge items, versions, their review lifecycle
 *                    (one transition table)
 *   store_sla.h      calendars and their versions, services, SLA policies
 *                    (store_catalog.c), tickets' service-level clocks, the
 *                    warning/breach timer (store_sla.c)
 *   store_workspace.h teams, roles, the ticket list and search, edits,
 *                    internal notes, transfers, merges
 *   store_problem.h  problem records, linked incidents, the known error
 *                    drafted from a problem (one transition table)
 *   store_kuse.h     knowledge utilisation (shown, opened, linked, ...)
 *                    and reader feedback
 *   store_ci.h       configuration items, their relations and what refers
 *                    to them (tickets, problems, knowledge)
 *   store_audit.h    the hash-chained data-access audit log
 *   store_report.h   the key indicators over a period, from event rows
 *   store_followup.h the follow-up after a ticket closes (回访)
 *   store_portal.h   private links, e-mail sign-in codes, my tickets
 *   store_mail.h     the mail outbox (claimed FOR UPDATE SKIP LOCKED)
 *   store_hook.h     notification preferences, robots, webhooks, their outbox
 *   store_cluster.h  LISTEN / NOTIFY between chatdesk instances
 *   store_escalation.h who hears of SLA marks, escalation rules, quiet hours
 *   store_major.h    major incidents, their linked tickets, requesters' banners
 *   store_attach.h   attachments: files by content hash, on messages and tickets
 *
 * A new aggregate (knowledge, problems, SLAs, reports) gets a
 * store_<noun>.h / store_<noun>.c pair here, its tables in a new numbered
 * migration, and a line below. The helpers the files share are in
 * store_int.h, which is private to the library. */
#ifndef STORE_H
#define STORE_H

#include "store_pg.h"
#include "store_migrate.h"
#include "store_people.h"
#include "store_login.h"
#include "store_session.h"
#include "store_conv.h"
#include "store_ticket.h"
#include "store_knowledge.h"
#include "store_sla.h"
#include "store_workspace.h"
#include "store_escalation.h"
#include "store_major.h"
#include "store_problem.h"
#include "store_kuse.h"
#include "store_ci.h"
#include "store_audit.h"
#include "store_report.h"
#include "store_followup.h"
#include "store_portal.h"
#include "store_mail.h"
#include "store_admin.h"
#include "store_hook.h"
#include "store_cluster.h"
#include "store_attach.h"

#endif
