/* metrics: chatdesk's Prometheus counters and gauges (GET /metrics, served
 * by ws.c under the metrics_access rule). Every value is updated and read
 * on the service thread only (the transport's callbacks), so they are plain
 * integers. One instance per process. */
#ifndef CD_METRICS_H
#define CD_METRICS_H

#include <stddef.h>

enum cd_stage { CD_STAGE_REQUEST = 0, CD_STAGE_SEARCH, CD_STAGE_COUNT };

/* The caps in force: max_connections, per address (0: none), the
 * connections the descriptors allow, RLIMIT_NOFILE. */
void cd_metrics_limits(int max_total, int max_per_address, int fd_budget, long open_files);
/* Admitted connections open now (HTTP and WebSocket). */
void cd_metrics_conn_open(int n);
/* WebSocket sessions opened (+1) / closed (-1). */
void cd_metrics_ws_add(int delta);
/* A connection refused; reason is a kb_refusal other than KB_REFUSE_NONE. */
void cd_metrics_refused(int reason);
/* accept() paused for lack of descriptors. */
void cd_metrics_accept_paused(void);
/* A WebSocket message received / a frame sent; ack says it acknowledged a
 * client's message. */
void cd_metrics_frame_in(void);
void cd_metrics_frame_out(int ack);
/* A job handed to the workers (queued 1) or refused because the stage's
 * queue was full (queued 0); a job back from a worker. */
void cd_metrics_job_submitted(enum cd_stage stage, int queued);
void cd_metrics_job_done(enum cd_stage stage);

/* The Prometheus text format (0.0.4) as a heap string (caller frees) and
 * its length in *len. */
char *cd_metrics_render(size_t *len);

#define CD_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
