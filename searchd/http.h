/* http: searchd's transport. libwebsockets callbacks in raw-socket mode:
 * bytes in (handed to the codec), bytes out (written in chunks when the
 * socket is writeable). Parsed requests go to the worker pool; finished
 * answers come back through the pool's done queue and lws_cancel_service().
 * Connections are accepted here, not by lws, and admitted against
 * cfg->net's caps (in all, per client address, by descriptors; kb_net.h);
 * a refused one is answered 503 too_many_connections. /metrics is served
 * only as cfg->net.metrics_access allows (403 otherwise).
 * Everything here runs on the one service thread (kb_lws_serve runs it). */
#ifndef SD_HTTP_H
#define SD_HTTP_H

#include "config.h"

#include <stddef.h>

struct kb_lws;

typedef struct sd_http sd_http;

/* Sets RLIMIT_NOFILE (cfg->net.max_open_files, or raised to fit
 * cfg->net.max_connections; the outcome is logged), opens the index (one
 * searcher per worker), starts the workers, binds cfg->host:cfg->port and
 * creates the lws context. cfg must outlive the server.
 * Returns 0 and *out (free with http_free), or -1 with a message in err. */
int http_new(const struct sd_config *cfg, sd_http **out, char *err, size_t errlen);

/* The accepting side and its lws context, for kb_lws_serve (the service
 * loop until a signal; the port bound is its ->port). Lives as long as h. */
struct kb_lws *http_net(sd_http *h);

/* Stops and joins the workers, closes every connection, destroys the
 * context and frees everything. NULL is a no-op. */
void http_free(sd_http *h);

#endif
