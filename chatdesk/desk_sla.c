/* desk_sla: the desk's side of service levels: the SLA timer's step
 * (DM_SLA, a job the daemon starts every sla_interval seconds). It asks the
 * store to mark the tickets that reached a warning share or a deadline
 * (each threshold once, whichever chatdesk marks it: store_sla_tick) and
 * tells every signed-in agent, one frame per mark:
 *   {"type":"sla_warning"|"sla_breach","ticket":"INC-000001",
 *    "target":"response"|"resolution","due":1791428400 (Unix seconds),
 *    "priority":3,"assigned":true}
 * The ticket's own JSON carries the state ("sla":{"service","state"}), so a
 * page that reloads the queue shows it too. */
#include "desk_int.h"

static int sla_frame(void *arg, const struct store_sla_alert *a)
{
    struct req *r = arg;
    char type[32];
    snprintf(type, sizeof type, "sla_%s", a->kind);
    desk_outbox_add(r->out, DESK_TO_AGENTS, 0,
                    json_pack("{s:s, s:s, s:s, s:o, s:i, s:b}", "type", type, "ticket",
                              a->number, "target", a->target, "due", proto_time(a->due),
                              "priority", a->priority, "assigned", a->agent_id != 0));
    r->out->sla_marked++;
    return 0;
}

void desk_do_sla(struct req *r)
{
    /* 200 of each kind per run; the rest are marked at the next */
    int rc = store_sla_tick(r->d->st, 0, 200, sla_frame, r, NULL);
    if (rc == STORE_EDB)
        r->out->db_error = 1;
}
