/* metrics: searchd's Prometheus counters, gauges and the request latency
 * histogram. Every value is a C11 atomic, so the service thread and the
 * workers update them without locks; metrics_render reads a consistent-
 * enough snapshot (each value atomically, not all of them at one instant).
 * One global instance: there is one daemon per process. */
#ifndef SD_METRICS_H
#define SD_METRICS_H

#include "codec.h"
#include "kb_net.h"

#include <stddef.h>
#include <stdint.h>

/* Counts one finished request: its endpoint, status and latency. */
void metrics_request(enum sd_endpoint ep, int status, double seconds);
/* A request the transport accepted / finished answering (the in-flight gauge). */
void metrics_inflight_add(int delta);
/* The index a worker just read (documents, revision). */
void metrics_index(uint32_t documents, uint64_t revision);
/* A failed index refresh. */
void metrics_refresh_error(void);
/* The number of worker threads (a constant gauge). */
void metrics_workers(int n);

/* The result cache (cache.c): its size limit (0: off), a lookup of an
 * endpoint's request (hit or miss), its current entries and bytes, entries
 * evicted to make room, and a revision change that emptied it. */
void metrics_cache_config(size_t max_bytes);
void metrics_cache_lookup(enum sd_endpoint ep, int hit);
void metrics_cache_size(size_t entries, size_t bytes);
void metrics_cache_evicted(size_t n);
void metrics_cache_invalidated(void);

/* Connections (http.c): the caps in force (max_connections, per address
 * (0: none), and the connections the descriptors allow), the admitted
 * connections open now, one refused (reason as kb_refusal_name: "total",
 * "per_address", "no_fd"), and a pause of accept() for lack of
 * descriptors. */
void metrics_conn_limits(int max_total, int max_per_address, int fd_budget, long open_files);
void metrics_conn_open(int n);
void metrics_conn_refused(int reason);
void metrics_accept_paused(void);

/* The Prometheus text format (version 0.0.4) as a heap string (caller
 * frees) and its length. */
char *metrics_render(size_t *len);

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
