/* ws: chatdesk's transport, the libwebsockets side. One vhost serves the
 * pages (an lws file mount of --www at /, with lws's security headers) and
 * the WebSocket endpoint /ws (protocol "kbdesk", the vhost's default, so
 * clients sending no Sec-WebSocket-Protocol are served too). The handshake
 * is refused for another path and for a browser Origin other than the
 * pages' own (http://HOST:PORT as listened on) or cfg->allowed_origins; a
 * client without Origin is accepted. The callbacks
 * only move bytes: a WebSocket message is reassembled from its fragments
 * (at most cfg->max_frame bytes are kept; a longer one is dropped and
 * reported as too large) and handed to the hub; the hub's answers are
 * queued per connection and written in LWS_CALLBACK_SERVER_WRITEABLE, one
 * frame per callback, with LWS_PRE headroom. Finished jobs come back from
 * the workers through the pool's done queue and lws_cancel_service().
 * The JSON API is mounted at /api (protocol "kbdesk-api", apihttp.h); its
 * jobs come back through the same done queue.
 * Connections are accepted by ws.c itself and admitted against cfg->net's
 * caps (in all, per client address, by descriptors; kb_net.h): a refused
 * page request gets HTTP 503, a refused WebSocket the close code 1013.
 * GET /metrics (metrics.h) is answered under cfg->net.metrics_access.
 * Everything runs on the one service thread (kb_lws_serve runs it). */
#ifndef CD_WS_H
#define CD_WS_H

#include "config.h"

#include <stddef.h>

struct kb_lws;

/* a connection with more answers than this waiting to be written (it does
 * not read) is closed */
#define WS_MAX_QUEUED (4 * 1024 * 1024)

typedef struct cd_server cd_server;

/* Sets RLIMIT_NOFILE (cfg->net.max_open_files, or raised to fit
 * cfg->net.max_connections; the outcome is logged), opens the workers
 * (cfg->threads desks: PostgreSQL connections and index handles), binds
 * cfg->host:cfg->port and creates the lws context. cfg must
 * outlive the server. Returns 0 and *out (free with cd_server_free), or -1
 * with a message in err. */
int cd_server_new(const struct cd_config *cfg, cd_server **out, char *err, size_t errlen);

/* The accepting side and its lws context, for kb_lws_serve (the service
 * loop until a signal; the port bound is its ->port). Lives as long as s. */
struct kb_lws *cd_server_net(cd_server *s);

/* Stops and joins the workers, closes every connection, destroys the
 * context and frees everything. NULL is a no-op. */
void cd_server_free(cd_server *s);

#endif
