/* desk_major: the desk's side of major incidents (store_major.h): the
 * frames after a declaration, a clearing or a link, and the priority rule's
 * step inside the SLA timer's job (desk_do_sla).
 *   to each person told (every team lead, the service owner team):
 *     {"type":"major_incident","event":"declared"|"cleared",
 *      "ticket":"INC-000001","why":"lead"|"owner","by_rule":false}
 *   to the requesters of the incident and of every ticket linked to it:
 *     {"type":"major_banner","ticket":"INC-000002",
 *      "major":{"ticket":"INC-000001","message":"...","since":1791428400}
 *      (null once cleared)}
 *   to every agent: {"type":"major_update","event":"major_declared"|
 *     "major_cleared"|"major_linked","ticket":"INC-000001"} (the number
 *     only: a page reloads the ticket).
 * Frames are owned by the outbox once added. */
#include "desk_int.h"

int desk_major_told(void *arg, const struct store_major_told *t)
{
    struct desk_outbox *out = arg;
    if (!out)
        return 0;
    desk_outbox_add(out, DESK_TO_PERSON, t->person_id,
                    json_pack("{s:s, s:s, s:s, s:s, s:b}", "type", "major_incident", "event",
                              t->event, "ticket", t->number, "why", t->why, "by_rule",
                              t->by_rule));
    return 0;
}

static int banner(void *arg, const char *number, int64_t conv, const char *major, int active,
                  const char *message, int64_t since)
{
    struct desk_outbox *out = arg;
    json_t *m = active ? json_pack("{s:s, s:o, s:o}", "ticket", major, "message",
                                   message ? json_string(message) : json_null(), "since",
                                   proto_time(since))
                       : json_null();
    desk_outbox_add(out, DESK_TO_CONV, conv,
                    json_pack("{s:s, s:s, s:o}", "type", "major_banner", "ticket", number,
                              "major", m));
    return 0;
}

int desk_major_changed(struct desk *d, struct desk_outbox *out, const char *major,
                       const char *event)
{
    if (!out)
        return 0;
    char ev[32];
    snprintf(ev, sizeof ev, "major_%s", event);
    desk_outbox_add(out, DESK_TO_AGENTS, 0,
                    json_pack("{s:s, s:s, s:s}", "type", "major_update", "event", ev, "ticket",
                              major));
    return store_major_affected(desk_store(d), major, banner, out);
}

struct sweep {
    struct req *r;
};

static int swept(void *arg, const char *number)
{
    struct sweep *w = arg;
    int rc = desk_major_changed(w->r->d, w->r->out, number, "declared");
    if (rc == STORE_EDB)
        w->r->out->db_error = 1;
    return 0;
}

static int swept_told(void *arg, const struct store_major_told *t)
{
    struct sweep *w = arg;
    return desk_major_told(w->r->out, t);
}

void desk_do_major_sweep(struct req *r)
{
    struct sweep w = {r};
    int rc = store_major_sweep(r->d->st, 0, 50, swept_told, swept, &w);
    if (rc == STORE_EDB)
        r->out->db_error = 1;
}
