/* metrics: chatdesk's Prometheus metrics (see metrics.h).
 *
 *   chatdesk_connections_open                    gauge (admitted connections)
 *   chatdesk_websockets_open                     gauge
 *   chatdesk_connections_refused_total{reason}   counter: total, per_address, no_fd
 *   chatdesk_connections_max, chatdesk_connections_max_per_address,
 *   chatdesk_connections_fd_budget, chatdesk_open_files_limit   gauges (the caps)
 *   chatdesk_accept_pauses_total                 counter
 *   chatdesk_frames_received_total, chatdesk_frames_sent_total   counters
 *   chatdesk_messages_acknowledged_total         counter (ack frames sent)
 *   chatdesk_jobs_queued_total{stage}            counter: request, search
 *   chatdesk_jobs_rejected_total{stage}          counter (the stage's queue was full)
 *   chatdesk_jobs_in_flight{stage}               gauge (queued or running) */
#include "metrics.h"
#include "kb_net.h"
#include "kb_util.h"

static struct {
    int open, ws, max_total, max_addr, fd_budget;
    long open_files;
    unsigned long long refused[KB_REFUSE_COUNT], pauses;
    unsigned long long frames_in, frames_out, acks;
    unsigned long long queued[CD_STAGE_COUNT], rejected[CD_STAGE_COUNT];
    long long in_flight[CD_STAGE_COUNT];
} m;

static const char *const stage_names[CD_STAGE_COUNT] = {"request", "search"};

void cd_metrics_limits(int max_total, int max_per_address, int fd_budget, long open_files)
{
    m.max_total = max_total;
    m.max_addr = max_per_address;
    m.fd_budget = fd_budget;
    m.open_files = open_files;
}

void cd_metrics_conn_open(int n)
{
    m.open = n;
}

void cd_metrics_ws_add(int delta)
{
    m.ws += delta;
}

void cd_metrics_refused(int reason)
{
    if (reason > KB_REFUSE_NONE && reason < KB_REFUSE_COUNT)
        m.refused[reason]++;
}

void cd_metrics_accept_paused(void)
{
    m.pauses++;
}

void cd_metrics_frame_in(void)
{
    m.frames_in++;
}

void cd_metrics_frame_out(int ack)
{
    m.frames_out++;
    if (ack)
        m.acks++;
}

void cd_metrics_job_submitted(enum cd_stage stage, int queued)
{
    if ((unsigned)stage >= CD_STAGE_COUNT)
        return;
    if (queued) {
        m.queued[stage]++;
        m.in_flight[stage]++;
    } else {
        m.rejected[stage]++;
    }
}

void cd_metrics_job_done(enum cd_stage stage)
{
    if ((unsigned)stage < CD_STAGE_COUNT)
        m.in_flight[stage]--;
}

char *cd_metrics_render(size_t *len)
{
    struct kb_buf b;
    kb_buf_init(&b);
    kb_buf_printf(&b,
                  "# HELP chatdesk_connections_open Connections open (admitted), HTTP and "
                  "WebSocket.\n"
                  "# TYPE chatdesk_connections_open gauge\n"
                  "chatdesk_connections_open %d\n"
                  "# HELP chatdesk_websockets_open WebSocket sessions open.\n"
                  "# TYPE chatdesk_websockets_open gauge\n"
                  "chatdesk_websockets_open %d\n"
                  "# HELP chatdesk_connections_refused_total Connections refused, by the cap "
                  "reached.\n"
                  "# TYPE chatdesk_connections_refused_total counter\n",
                  m.open, m.ws);
    for (int r = KB_REFUSE_NONE + 1; r < KB_REFUSE_COUNT; r++)
        kb_buf_printf(&b, "chatdesk_connections_refused_total{reason=\"%s\"} %llu\n",
                      kb_refusal_name((enum kb_refusal)r), m.refused[r]);
    kb_buf_printf(&b,
                  "# HELP chatdesk_connections_max Cap on open connections (max_connections).\n"
                  "# TYPE chatdesk_connections_max gauge\n"
                  "chatdesk_connections_max %d\n"
                  "# HELP chatdesk_connections_max_per_address Cap on open connections from "
                  "one address (0: none).\n"
                  "# TYPE chatdesk_connections_max_per_address gauge\n"
                  "chatdesk_connections_max_per_address %d\n"
                  "# HELP chatdesk_connections_fd_budget Connections the file descriptor "
                  "limit leaves room for.\n"
                  "# TYPE chatdesk_connections_fd_budget gauge\n"
                  "chatdesk_connections_fd_budget %d\n"
                  "# HELP chatdesk_open_files_limit RLIMIT_NOFILE (soft) in force.\n"
                  "# TYPE chatdesk_open_files_limit gauge\n"
                  "chatdesk_open_files_limit %ld\n"
                  "# HELP chatdesk_accept_pauses_total Times accepting paused for lack of "
                  "file descriptors.\n"
                  "# TYPE chatdesk_accept_pauses_total counter\n"
                  "chatdesk_accept_pauses_total %llu\n"
                  "# HELP chatdesk_frames_received_total WebSocket messages received.\n"
                  "# TYPE chatdesk_frames_received_total counter\n"
                  "chatdesk_frames_received_total %llu\n"
                  "# HELP chatdesk_frames_sent_total WebSocket frames sent.\n"
                  "# TYPE chatdesk_frames_sent_total counter\n"
                  "chatdesk_frames_sent_total %llu\n"
                  "# HELP chatdesk_messages_acknowledged_total Client messages acknowledged "
                  "(stored).\n"
                  "# TYPE chatdesk_messages_acknowledged_total counter\n"
                  "chatdesk_messages_acknowledged_total %llu\n",
                  m.max_total, m.max_addr, m.fd_budget, m.open_files, m.pauses, m.frames_in,
                  m.frames_out, m.acks);
    kb_buf_adds(&b, "# HELP chatdesk_jobs_queued_total Jobs handed to the workers, by stage.\n"
                    "# TYPE chatdesk_jobs_queued_total counter\n");
    for (int s = 0; s < CD_STAGE_COUNT; s++)
        kb_buf_printf(&b, "chatdesk_jobs_queued_total{stage=\"%s\"} %llu\n", stage_names[s],
                      m.queued[s]);
    kb_buf_adds(&b, "# HELP chatdesk_jobs_rejected_total Jobs refused because the stage's "
                    "queue was full.\n# TYPE chatdesk_jobs_rejected_total counter\n");
    for (int s = 0; s < CD_STAGE_COUNT; s++)
        kb_buf_printf(&b, "chatdesk_jobs_rejected_total{stage=\"%s\"} %llu\n", stage_names[s],
                      m.rejected[s]);
    kb_buf_adds(&b, "# HELP chatdesk_jobs_in_flight Jobs queued or running, by stage.\n"
                    "# TYPE chatdesk_jobs_in_flight gauge\n");
    for (int s = 0; s < CD_STAGE_COUNT; s++)
        kb_buf_printf(&b, "chatdesk_jobs_in_flight{stage=\"%s\"} %lld\n", stage_names[s],
                      m.in_flight[s]);
    *len = b.len;
    return kb_buf_take(&b);
}
