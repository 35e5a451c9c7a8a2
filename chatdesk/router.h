/* router: the table of chatdesk's JSON API, from a method and a path
 * pattern to the service function that answers it (api.h), and the
 * matching. Patterns are literal segments and "{name}" segments, each of
 * which matches one non-empty segment of at most API_PARAM_MAX - 1 bytes
 * (its value goes to req->params in pattern order). Matching is exact: no
 * trailing slash, no prefix matches. Runs on the service thread (it is a
 * few string comparisons) so an unknown route never costs a worker.
 * No allocation, no globals but the constant table. */
#ifndef CD_ROUTER_H
#define CD_ROUTER_H

#include "httpreq.h"

struct api_ctx;
typedef void (*router_handler)(struct api_ctx *ctx);

struct router_route {
    enum api_method method;
    const char *pattern;     /* "/api/v1/tickets/{number}" */
    router_handler handler;
    int auth;                /* needs a bearer token of a live session */
    const char *name;        /* for logs: "tickets.get" */
    int login;               /* checks a password: the per-address login delays apply */
};

/* Does route take a file as its body (attachments: req->raw, up to
 * apihttp_ops.upload_max bytes) instead of JSON? */
int router_is_upload(const struct router_route *route);

/* The whole table, terminated by a route with a NULL pattern. */
extern const struct router_route router_routes[];

/* Finds the route for req->method and req->path. Returns 200 with
 * req->route and req->params set; 404 when no pattern matches the path;
 * 405 when patterns match the path but none for this method (allow, of
 * allow_len bytes, gets their methods: "GET, DELETE"). */
int router_match(struct api_request *req, char *allow, size_t allow_len);

/* The same against another table (for tests). */
int router_match_in(const struct router_route *table, struct api_request *req, char *allow,
                    size_t allow_len);

#endif
