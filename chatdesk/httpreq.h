/* httpreq: the codec of chatdesk's JSON API, pure functions between what
 * the transport read off an HTTP request and the structs the service layer
 * sees: struct api_request (method, path, query arguments, bearer token,
 * If-Match, Idempotency-Key, the client's address, the JSON body) and
 * struct api_response (status, JSON body, the headers an error needs), and
 * the error bodies in the API's one shape
 *     {"error":{"code":"not_found","message":"no such ticket"}}
 * No sockets, threads or globals: the transport (apihttp.c) copies the
 * request's parts out of libwebsockets and hands them to httpreq_parse.
 *
 * Ownership: every pointer in api_request and api_response is owned by the
 * struct and freed by api_request_fin / api_response_fin; the raw parts
 * given to httpreq_parse are borrowed and may go once it returns. */
#ifndef CD_HTTPREQ_H
#define CD_HTTPREQ_H

#include "auth.h"

#include <jansson.h>
#include <stddef.h>

/* bytes of a request body read and parsed; a longer body is 413 */
#define API_BODY_MAX (64 * 1024)
/* a longer declared body is answered 413 at once and the connection closed;
 * between API_BODY_MAX and this, the body is read and dropped first, so the
 * client gets its answer on a healthy connection */
#define API_BODY_DRAIN_MAX (4 * 1024 * 1024)
/* bytes of a path, of a header value kept (longer: 400), query arguments */
#define API_PATH_MAX 1024
#define API_HEADER_MAX 256
#define API_ARGS_MAX 16
/* the client's address as text ("127.0.0.1", "::1") */
#define API_PEER_MAX 64
/* path parameters ("{number}") per route, and bytes of each with its NUL */
#define API_PARAMS_MAX 3
#define API_PARAM_MAX 64

enum api_method {
    API_M_NONE = 0, /* a method the API does not know */
    API_M_GET,
    API_M_POST,
    API_M_PUT,
    API_M_PATCH,
    API_M_DELETE,
    API_M_OPTIONS,
    API_M_COUNT
};

/* "GET", ... ("" for API_M_NONE). Static. */
const char *httpreq_method_name(enum api_method m);

/* What the transport read; every pointer is borrowed and may be NULL for a
 * header the request did not have. */
struct httpreq_raw {
    enum api_method method;
    const char *path;            /* decoded by lws, no query string */
    const char *args[API_ARGS_MAX]; /* "name=value" (decoded), nargs of them */
    int nargs;
    const char *authorization;
    const char *content_type;
    const char *if_match;
    const char *idempotency_key;
    const char *peer;
    int header_too_long;         /* a header above was longer than API_HEADER_MAX */
    const char *body;            /* body_len bytes (NULL: no body) */
    size_t body_len;
    /* attachments: an upload route takes its body as bytes of any type */
    int raw_body;                /* keep the body as it came (req->raw) */
    size_t raw_max;              /* ... at most this many bytes (more: 413) */
    const char *filename;        /* X-Filename (percent-encoded UTF-8), NULL if none */
};

struct router_route;

struct api_request {
    enum api_method method;
    char *path;
    char *args[API_ARGS_MAX];   /* "name=value" */
    int nargs;
    int has_auth;               /* an Authorization header was there */
    char token[AUTH_TOKEN_LEN + 1]; /* its bearer token ("" if none or malformed) */
    char *if_match;             /* NULL if absent */
    char *idempotency_key;      /* NULL if absent */
    char peer[API_PEER_MAX];    /* the client's address, for logs and throttling */
    json_t *body;               /* the JSON body (an object), NULL without a body */
    /* set by the router (router.h) */
    const struct router_route *route;
    char params[API_PARAMS_MAX][API_PARAM_MAX];         /* path parameters, in pattern order */
    /* an upload route's body (raw_body): its bytes, Content-Type and
     * X-Filename as sent (each NULL when absent) */
    char *raw;
    size_t raw_len;
    char *content_type;
    char *filename;
};

struct api_response {
    int status;                 /* 200, 201, 204, 4xx, 5xx */
    char *body;                 /* JSON (UTF-8), NULL for none (204) */
    size_t len;
    char allow[64];             /* 405: the Allow header ("" otherwise) */
    int bearer_challenge;       /* 401: send WWW-Authenticate: Bearer */
    int retry_after;            /* > 0: send Retry-After with these seconds */
    int login;                  /* POST /api/v1/sessions: what the password check came
                                   to (DESK_LOGIN_*), for the per-address count */
    const char *content_type;   /* a static string; NULL: JSON */
    char filename[64];          /* "" or a download's name (Content-Disposition) */
    int inline_file;            /* Content-Disposition: inline (else attachment) */
};

/* Fills req from raw (req is overwritten; free with api_request_fin). The
 * bearer token is taken from "Authorization: Bearer <token>" (scheme case
 * insensitive); another scheme or a malformed value leaves token empty with
 * has_auth set, which the service answers 401. A body must be
 * application/json (charset utf-8 or none) and a JSON object of valid
 * UTF-8; with raw->raw_body the body is kept as bytes in req->raw
 * instead (any type, at most raw->raw_max bytes). Returns 0, or -1 with
 * the error answer in *err (400 bad_json,
 * 400 bad_header, 413 too_large, 415 unsupported_media_type), which the
 * caller frees with api_response_fin. */
int httpreq_parse(const struct httpreq_raw *raw, struct api_request *req,
                  struct api_response *err);

/* Frees req's strings and body and zeroes it. NULL is a no-op. */
void api_request_fin(struct api_request *req);

/* The value of query argument name ("after" for "?after=x"), borrowed from
 * req, or NULL when absent. */
const char *api_request_arg(const struct api_request *req, const char *name);

/* Sets resp to status with {"error":{"code":code,"message":message}}
 * (whatever resp held is freed). A 401 also gets the Bearer challenge. */
void api_response_error(struct api_response *resp, int status, const char *code,
                        const char *message);

/* Sets resp to status with body o serialised (its reference is dropped);
 * o NULL means no body. */
void api_response_json(struct api_response *resp, int status, json_t *o);

/* Sets a 200 answer of body (taken; len bytes) with content_type (a static
 * string) to be saved as filename ([A-Za-z0-9._-], may be NULL). */
void api_response_file(struct api_response *resp, char *body, size_t len,
                       const char *content_type, const char *filename);

/* Frees resp's body and zeroes it. NULL is a no-op. */
void api_response_fin(struct api_response *resp);

/* Returns 1 if the Content-Type value ct names JSON: application/json,
 * optionally with "; charset=utf-8" (any case, spaces allowed), else 0. */
int httpreq_is_json_type(const char *ct);

/* Copies the token of an Authorization value "Bearer <token>" into out.
 * Returns 0, or -1 (another scheme, no token, or not AUTH_TOKEN_LEN
 * characters of base64url); out is then "". */
int httpreq_bearer(const char *authorization, char out[AUTH_TOKEN_LEN + 1]);

/* The reason phrase of an HTTP status ("Not Found"); "" if unknown. */
const char *httpreq_status_text(int status);

#endif
