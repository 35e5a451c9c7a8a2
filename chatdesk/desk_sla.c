/* desk_sla: the desk's side of service levels: the SLA timer's step
 * (DM_SLA, a job the daemon starts every sla_interval seconds). It asks the
 * store to mark the tickets that reached a warning share or a deadline
 * (each threshold once, whichever chatdesk marks it: store_sla_tick; the
 * same transaction records who is told, queues their mails and applies
 * the escalation rules: store_escalation.h) and sends one frame per mark
 * to each person told (the assignee, the members and leads of the
 * ticket's team, the service owner team's leads by rule):
 *   {"type":"sla_warning"|"sla_breach","ticket":"INC-000001",
 *    "target":"response"|"resolution","due":1791428400 (Unix seconds),
 *    "priority":3,"assigned":true,"why":"assignee"|"team"|"lead"|"owner"}
 * A ticket nobody holds and no team has goes to every signed-in agent
 * (without "why"), since nobody else would hear of it. The ticket's own
 * JSON carries the state ("sla":{"service","state"}), so a page that
 * reloads the queue shows it too. */
#include "desk_int.h"

static json_t *sla_json(const struct store_sla_alert *a, const char *why)
{
    char type[32];
    snprintf(type, sizeof type, "sla_%s", a->kind);
    json_t *f = json_pack("{s:s, s:s, s:s, s:o, s:i, s:b}", "type", type, "ticket", a->number,
                          "target", a->target, "due", proto_time(a->due), "priority",
                          a->priority, "assigned", a->agent_id != 0);
    if (f && why)
        json_object_set_new(f, "why", json_string(why));
    return f;
}

struct sla_told {
    struct req *r;
    const struct store_sla_alert *a;
};

static int sla_person(void *arg, int64_t person, const char *why)
{
    struct sla_told *t = arg;
    desk_outbox_add(t->r->out, DESK_TO_PERSON, person, sla_json(t->a, why));
    return 0;
}

static int sla_frame(void *arg, const struct store_sla_alert *a)
{
    struct req *r = arg;
    struct sla_told t = {r, a};
    int n = 0;
    int rc = store_sla_notified(r->d->st, a->ticket_id, a->kind, a->target, sla_person, &t, &n);
    if (rc == STORE_EDB)
        r->out->db_error = 1;
    if (rc == 0 && n == 0)
        desk_outbox_add(r->out, DESK_TO_AGENTS, 0, sla_json(a, NULL));
    r->out->sla_marked++;
    return 0;
}

void desk_do_sla(struct req *r)
{
    /* 200 of each kind per run; the rest are marked at the next */
    int rc = store_sla_tick(r->d->st, 0, 200, sla_frame, r, NULL);
    if (rc == STORE_EDB)
        r->out->db_error = 1;
    /* major incidents by the priority rule (desk_major.c) */
    desk_do_major_sweep(r);
}
