/* metrics: lock-free Prometheus metrics for searchd (see metrics.h).
 *
 *   searchd_requests_total{endpoint,code}   counter
 *   searchd_errors_total{class}             counter: client (4xx), server (5xx)
 *   searchd_request_duration_seconds        histogram, 0.001 .. 2.5 s
 *   searchd_requests_in_flight              gauge
 *   searchd_index_documents                 gauge
 *   searchd_index_revision                  gauge (the Xapian revision)
 *   searchd_index_refresh_errors_total      counter
 *   searchd_workers                         gauge
 *   searchd_cache_requests_total{endpoint,result}  counter: hit, miss
 *   searchd_cache_entries, searchd_cache_bytes     gauges
 *   searchd_cache_max_bytes                 gauge (0: the cache is off)
 *   searchd_cache_evictions_total           counter
 *   searchd_cache_invalidations_total       counter (index revision changes)
 *   searchd_connections_open                gauge (admitted connections)
 *   searchd_connections_refused_total{reason}  counter: total, per_address, no_fd
 *   searchd_connections_max, searchd_connections_max_per_address,
 *   searchd_connections_fd_budget, searchd_open_files_limit  gauges (the caps)
 *   searchd_accept_pauses_total             counter (accept() paused, no descriptor) */
#include "metrics.h"
#include "kb_util.h"

#include <stdatomic.h>
#include <stdlib.h>

/* status codes with their own counter; anything else counts as "other" */
static const int codes[] = {200, 400, 403, 404, 405, 413, 414, 431, 500, 503, 505};
#define NCODES (sizeof codes / sizeof *codes)

static const double buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                 0.1,   0.25,   0.5,   1.0,  2.5};
#define NBUCKETS (sizeof buckets / sizeof *buckets)

static atomic_ullong requests[SD_EP_COUNT][NCODES + 1];
static atomic_ullong errors_client, errors_server;
static atomic_ullong hist[NBUCKETS + 1]; /* non-cumulative; last is +Inf */
static atomic_ullong hist_sum_ns;
static atomic_llong inflight;
static atomic_ullong index_docs, index_rev, refresh_errors;
static atomic_int workers;
static atomic_ullong cache_hits[SD_EP_COUNT], cache_misses[SD_EP_COUNT];
static atomic_ullong cache_entries, cache_bytes, cache_max, cache_evictions, cache_invalidations;
static atomic_int conn_open, conn_max, conn_max_addr, conn_fd_budget;
static atomic_long open_files_limit;
static atomic_ullong conn_refused[KB_REFUSE_COUNT], accept_pauses;

void metrics_request(enum sd_endpoint ep, int status, double seconds)
{
    if ((unsigned)ep >= SD_EP_COUNT)
        ep = SD_EP_OTHER;
    size_t c = NCODES;
    for (size_t i = 0; i < NCODES; i++)
        if (codes[i] == status)
            c = i;
    atomic_fetch_add_explicit(&requests[ep][c], 1, memory_order_relaxed);
    if (status >= 500)
        atomic_fetch_add_explicit(&errors_server, 1, memory_order_relaxed);
    else if (status >= 400)
        atomic_fetch_add_explicit(&errors_client, 1, memory_order_relaxed);
    if (seconds < 0)
        seconds = 0;
    size_t b = NBUCKETS;
    for (size_t i = 0; i < NBUCKETS; i++)
        if (seconds <= buckets[i]) {
            b = i;
            break;
        }
    atomic_fetch_add_explicit(&hist[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&hist_sum_ns, (unsigned long long)(seconds * 1e9),
                              memory_order_relaxed);
}

void metrics_inflight_add(int delta)
{
    atomic_fetch_add_explicit(&inflight, delta, memory_order_relaxed);
}

void metrics_index(uint32_t documents, uint64_t revision)
{
    atomic_store_explicit(&index_docs, documents, memory_order_relaxed);
    atomic_store_explicit(&index_rev, revision, memory_order_relaxed);
}

void metrics_refresh_error(void)
{
    atomic_fetch_add_explicit(&refresh_errors, 1, memory_order_relaxed);
}

void metrics_workers(int n)
{
    atomic_store_explicit(&workers, n, memory_order_relaxed);
}

void metrics_cache_config(size_t max_bytes)
{
    atomic_store_explicit(&cache_max, max_bytes, memory_order_relaxed);
}

void metrics_cache_lookup(enum sd_endpoint ep, int hit)
{
    if ((unsigned)ep >= SD_EP_COUNT)
        ep = SD_EP_OTHER;
    atomic_fetch_add_explicit(hit ? &cache_hits[ep] : &cache_misses[ep], 1,
                              memory_order_relaxed);
}

void metrics_cache_size(size_t entries, size_t bytes)
{
    atomic_store_explicit(&cache_entries, entries, memory_order_relaxed);
    atomic_store_explicit(&cache_bytes, bytes, memory_order_relaxed);
}

void metrics_cache_evicted(size_t n)
{
    atomic_fetch_add_explicit(&cache_evictions, n, memory_order_relaxed);
}

void metrics_cache_invalidated(void)
{
    atomic_fetch_add_explicit(&cache_invalidations, 1, memory_order_relaxed);
}

void metrics_conn_limits(int max_total, int max_per_address, int fd_budget, long open_files)
{
    atomic_store_explicit(&conn_max, max_total, memory_order_relaxed);
    atomic_store_explicit(&conn_max_addr, max_per_address, memory_order_relaxed);
    atomic_store_explicit(&conn_fd_budget, fd_budget, memory_order_relaxed);
    atomic_store_explicit(&open_files_limit, open_files, memory_order_relaxed);
}

void metrics_conn_open(int n)
{
    atomic_store_explicit(&conn_open, n, memory_order_relaxed);
}

void metrics_conn_refused(int reason)
{
    if (reason > KB_REFUSE_NONE && reason < KB_REFUSE_COUNT)
        atomic_fetch_add_explicit(&conn_refused[reason], 1, memory_order_relaxed);
}

void metrics_accept_paused(void)
{
    atomic_fetch_add_explicit(&accept_pauses, 1, memory_order_relaxed);
}

#define LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)

char *metrics_render(size_t *len)
{
    struct kb_buf b;
    kb_buf_init(&b);
    kb_buf_adds(&b, "# HELP searchd_requests_total Requests answered, by endpoint and "
                    "status code.\n# TYPE searchd_requests_total counter\n");
    for (int ep = 0; ep < SD_EP_COUNT; ep++)
        for (size_t c = 0; c <= NCODES; c++) {
            unsigned long long v = LOAD(requests[ep][c]);
            if (!v && !(ep == SD_EP_SEARCH && c == 0))
                continue; /* keep the output short; search 200 is always there */
            if (c < NCODES)
                kb_buf_printf(&b, "searchd_requests_total{endpoint=\"%s\",code=\"%d\"} %llu\n",
                              codec_endpoint_name((enum sd_endpoint)ep), codes[c], v);
            else
                kb_buf_printf(&b,
                              "searchd_requests_total{endpoint=\"%s\",code=\"other\"} %llu\n",
                              codec_endpoint_name((enum sd_endpoint)ep), v);
        }
    kb_buf_printf(&b,
                  "# HELP searchd_errors_total Requests answered with an error status.\n"
                  "# TYPE searchd_errors_total counter\n"
                  "searchd_errors_total{class=\"client\"} %llu\n"
                  "searchd_errors_total{class=\"server\"} %llu\n",
                  LOAD(errors_client), LOAD(errors_server));
    kb_buf_adds(&b, "# HELP searchd_request_duration_seconds Time from a complete request "
                    "to its answer being ready.\n"
                    "# TYPE searchd_request_duration_seconds histogram\n");
    unsigned long long cum = 0;
    for (size_t i = 0; i < NBUCKETS; i++) {
        cum += LOAD(hist[i]);
        kb_buf_printf(&b, "searchd_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
                      buckets[i], cum);
    }
    cum += LOAD(hist[NBUCKETS]);
    /* +Inf and _count are the bucket total, so the histogram is consistent
     * even while requests finish during rendering */
    kb_buf_printf(&b, "searchd_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n", cum);
    kb_buf_printf(&b, "searchd_request_duration_seconds_sum %.9f\n",
                  (double)LOAD(hist_sum_ns) / 1e9);
    kb_buf_printf(&b, "searchd_request_duration_seconds_count %llu\n", cum);
    kb_buf_printf(&b,
                  "# HELP searchd_requests_in_flight Requests being searched or written.\n"
                  "# TYPE searchd_requests_in_flight gauge\n"
                  "searchd_requests_in_flight %lld\n"
                  "# HELP searchd_index_documents Documents in the index being served.\n"
                  "# TYPE searchd_index_documents gauge\n"
                  "searchd_index_documents %llu\n"
                  "# HELP searchd_index_revision Revision (generation) of the index being "
                  "served.\n"
                  "# TYPE searchd_index_revision gauge\n"
                  "searchd_index_revision %llu\n"
                  "# HELP searchd_index_refresh_errors_total Failed index refreshes.\n"
                  "# TYPE searchd_index_refresh_errors_total counter\n"
                  "searchd_index_refresh_errors_total %llu\n"
                  "# HELP searchd_workers Worker threads.\n"
                  "# TYPE searchd_workers gauge\n"
                  "searchd_workers %d\n",
                  (long long)LOAD(inflight), LOAD(index_docs), LOAD(index_rev),
                  LOAD(refresh_errors), LOAD(workers));
    kb_buf_adds(&b, "# HELP searchd_cache_requests_total Result cache lookups, by endpoint "
                    "and result.\n# TYPE searchd_cache_requests_total counter\n");
    static const enum sd_endpoint cached_eps[] = {SD_EP_SEARCH, SD_EP_SUGGEST};
    for (size_t i = 0; i < sizeof cached_eps / sizeof *cached_eps; i++) {
        enum sd_endpoint ep = cached_eps[i];
        kb_buf_printf(&b,
                      "searchd_cache_requests_total{endpoint=\"%s\",result=\"hit\"} %llu\n"
                      "searchd_cache_requests_total{endpoint=\"%s\",result=\"miss\"} %llu\n",
                      codec_endpoint_name(ep), LOAD(cache_hits[ep]), codec_endpoint_name(ep),
                      LOAD(cache_misses[ep]));
    }
    kb_buf_printf(&b,
                  "# HELP searchd_cache_entries Answers in the result cache.\n"
                  "# TYPE searchd_cache_entries gauge\n"
                  "searchd_cache_entries %llu\n"
                  "# HELP searchd_cache_bytes Bytes the result cache holds.\n"
                  "# TYPE searchd_cache_bytes gauge\n"
                  "searchd_cache_bytes %llu\n"
                  "# HELP searchd_cache_max_bytes The result cache's limit (0: off).\n"
                  "# TYPE searchd_cache_max_bytes gauge\n"
                  "searchd_cache_max_bytes %llu\n"
                  "# HELP searchd_cache_evictions_total Answers evicted to make room.\n"
                  "# TYPE searchd_cache_evictions_total counter\n"
                  "searchd_cache_evictions_total %llu\n"
                  "# HELP searchd_cache_invalidations_total Times a new index revision "
                  "emptied the result cache.\n"
                  "# TYPE searchd_cache_invalidations_total counter\n"
                  "searchd_cache_invalidations_total %llu\n",
                  LOAD(cache_entries), LOAD(cache_bytes), LOAD(cache_max), LOAD(cache_evictions),
                  LOAD(cache_invalidations));
    kb_buf_printf(&b,
                  "# HELP searchd_connections_open Connections open (admitted).\n"
                  "# TYPE searchd_connections_open gauge\n"
                  "searchd_connections_open %d\n"
                  "# HELP searchd_connections_refused_total Connections refused, by the cap "
                  "reached.\n"
                  "# TYPE searchd_connections_refused_total counter\n",
                  LOAD(conn_open));
    for (int r = KB_REFUSE_NONE + 1; r < KB_REFUSE_COUNT; r++)
        kb_buf_printf(&b, "searchd_connections_refused_total{reason=\"%s\"} %llu\n",
                      kb_refusal_name((enum kb_refusal)r), LOAD(conn_refused[r]));
    kb_buf_printf(&b,
                  "# HELP searchd_connections_max Cap on open connections (max_connections).\n"
                  "# TYPE searchd_connections_max gauge\n"
                  "searchd_connections_max %d\n"
                  "# HELP searchd_connections_max_per_address Cap on open connections from one "
                  "address (0: none).\n"
                  "# TYPE searchd_connections_max_per_address gauge\n"
                  "searchd_connections_max_per_address %d\n"
                  "# HELP searchd_connections_fd_budget Connections the file descriptor limit "
                  "leaves room for.\n"
                  "# TYPE searchd_connections_fd_budget gauge\n"
                  "searchd_connections_fd_budget %d\n"
                  "# HELP searchd_open_files_limit RLIMIT_NOFILE (soft) in force.\n"
                  "# TYPE searchd_open_files_limit gauge\n"
                  "searchd_open_files_limit %ld\n"
                  "# HELP searchd_accept_pauses_total Times accepting paused for lack of file "
                  "descriptors.\n"
                  "# TYPE searchd_accept_pauses_total counter\n"
                  "searchd_accept_pauses_total %llu\n",
                  LOAD(conn_max), LOAD(conn_max_addr), LOAD(conn_fd_budget),
                  LOAD(open_files_limit), LOAD(accept_pauses));
    *len = b.len;
    return kb_buf_take(&b);
}
