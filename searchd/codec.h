/* codec: searchd's pure functions between bytes and structs, with no
 * sockets, threads or globals:
 *   - an HTTP/1.x request head (request line and headers) -> struct codec_head
 *   - a request target (path and query string) -> struct sd_request, with all
 *     the validation (URL-decoding, UTF-8, limits, filter values)
 *   - a response (status, content type, body) -> the response head bytes,
 *     and the JSON error bodies;
 *   - the search core's result structs -> the JSON response bodies
 *     (codec_json.c).
 *
 * Why searchd parses HTTP itself: libwebsockets 4.1's HTTP parser decodes
 * the URI before any callback sees it and answers some bad input on its own:
 * a bad %-escape gets a 403 HTML page, a %00 or a URI longer than its header
 * buffer drops the connection without an answer. The API promises a JSON 4xx
 * for all of those, so searchd runs lws in raw-socket mode (lws still does the
 * event loop, timeouts and writes) and reads requests with this codec.
 *
 * Ownership: every char * in sd_request and sd_response is a heap string
 * owned by the struct and freed by its _fin function; codec_head only borrows
 * the caller's buffer. */
#ifndef SD_CODEC_H
#define SD_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "kb_search.h"

#define CODEC_MAX_HEAD (64 * 1024)           /* request line + headers */
#define CODEC_MAX_DISCARD (16 * 1024 * 1024) /* an over-long head is read this far */
#define CODEC_MAX_HEADERS 100
#define CODEC_MAX_OFFSET 10000
#define CODEC_MAX_VALUE 1024 /* bytes of a filter value or id after decoding */
#define CODEC_DEFAULT_LIMIT KB_SEARCH_DEFAULT_LIMIT
/* /suggest's q: kb_search_suggest refuses longer prefixes (KB_SEARCH_EINPUT;
 * the limit is KB_SEARCH_MAX_PREFIX, in kb_search.h) */
#define CODEC_MAX_SUGGEST KB_SEARCH_MAX_PREFIX

enum sd_endpoint {
    SD_EP_OTHER = 0, /* not routed (malformed request) */
    SD_EP_SEARCH,
    SD_EP_DOC,
    SD_EP_NAV,
    SD_EP_SUGGEST,
    SD_EP_STANDARDS,
    SD_EP_HEALTHZ,
    SD_EP_METRICS,
    SD_EP_STATIC,
    SD_EP_COUNT
};

/* "search", "doc", ... ("other" for SD_EP_OTHER); static strings. */
const char *codec_endpoint_name(enum sd_endpoint ep);

/* A client error: HTTP status, a stable code (static string) and an English
 * message for people. */
struct codec_error {
    int status;
    const char *code;
    char message[192];
};

/* What the transport needs of a request head. Pointers borrow the buffer
 * given to codec_parse_head. */
struct codec_head {
    const char *method;
    size_t method_len;
    const char *target;
    size_t target_len;
    int minor;          /* HTTP/1.<minor> */
    int keepalive;      /* Connection: header and the version's default */
    int has_body;       /* Content-Length > 0 or a Transfer-Encoding */
    const char *token;  /* agent token from Authorization: Bearer or
                           X-Agent-Token; NULL if none */
    size_t token_len;
};

#define CODEC_MORE 1 /* codec_parse_head: the head is not complete yet */

/* Parses the request head at the start of buf[0..len). Returns 0 with *h
 * filled and *used = the head's length in bytes (the blank line included),
 * CODEC_MORE when no complete head is there yet (and len is below
 * CODEC_MAX_HEAD), or -1 with *err set (400 malformed, 431 too many headers,
 * 505 not HTTP/1.x, and for len >= CODEC_MAX_HEAD without the head's end the
 * answer codec_head_overflow gives). Never reads past buf[len). */
int codec_parse_head(const char *buf, size_t len, struct codec_head *h, size_t *used,
                     struct codec_error *err);

/* The answer for a head that does not fit in CODEC_MAX_HEAD bytes, judged
 * from its first bytes (at most CODEC_MAX_HEAD of them: a request line
 * ending later is too long itself): 413 query_too_long for /search and /suggest,
 * 414 uri_too_long for another path still in its request line, 431
 * headers_too_large when the request line was complete. */
void codec_head_overflow(const char *buf, size_t len, struct codec_error *err);

/* Finds the end of a head across reads, for discarding an over-long one:
 * feed each chunk; returns the number of bytes of chunk up to and including
 * the blank line, or 0 if it is not in this chunk. *state starts at 0. */
size_t codec_scan_head_end(unsigned *state, const char *chunk, size_t len);


struct sd_request {
    enum sd_endpoint ep;
    int head_only;  /* HEAD: same answer without the body */
    int internal;   /* set by the caller: the agent token matched */
    char *q;        /* search / suggest: decoded, valid UTF-8, no NUL */
    size_t qlen;
    char *kind, *category, *lang, *standard; /* filters, NULL when absent */
    uint32_t limit;  /* effective: 1..KB_SEARCH_MAX_LIMIT */
    uint32_t offset; /* 0..CODEC_MAX_OFFSET */
    uint32_t min_conf; /* search: no_good_match threshold in thousandths
                          (1..1000); 0: the default */
    int facets;      /* search: facets=1 asks for the facet counts */
    char *id;        /* doc, nav */
    char *path;      /* static: decoded path, starts with '/' */
};

/* Frees the strings; the struct is left zeroed. NULL is a no-op. */
void sd_request_fin(struct sd_request *r);

/* Routes and validates method[0..mlen) target[0..tlen) into *req (zeroed
 * first). Returns 0, or -1 with *err set; req->ep is then still the
 * endpoint the path names (for metrics) and req holds no strings. Only GET
 * and HEAD are accepted (405 otherwise). */
int codec_parse_target(const char *method, size_t mlen, const char *target, size_t tlen,
                       struct sd_request *req, struct codec_error *err);

struct sd_response {
    int status;
    const char *content_type;  /* static string */
    const char *cache_control; /* static string, NULL for none */
    char *body;                /* heap, owned; NULL when len is 0 */
    size_t len;
};

/* Frees the body; the struct is left zeroed. NULL is a no-op. */
void sd_response_fin(struct sd_response *r);

#define CODEC_JSON "application/json; charset=utf-8"
/* seconds a 503 answer (overloaded, too many connections) asks a client to
 * wait, as its Retry-After header */
#define CODEC_RETRY_AFTER "5"

/* Sets *r to status with a JSON body; takes ownership of json (heap). */
void codec_set_json(struct sd_response *r, int status, char *json);
/* Sets *r to the JSON error {"error":{"code":...,"message":...}}. */
void codec_set_error(struct sd_response *r, const struct codec_error *e);
/* As codec_set_error from the parts (message: ASCII or valid UTF-8). */
void codec_set_error3(struct sd_response *r, int status, const char *code, const char *message);

/* The response head for r: status line, Content-Type, Content-Length
 * (r->len, also for HEAD), Cache-Control, the security headers lws's
 * LWS_SERVER_OPTION_HTTP_HEADERS_SECURITY_BEST_PRACTICES_ENFORCE sends
 * (strict CSP: no inline script or style), Allow for 405, Retry-After for
 * 503, Connection, and
 * Date from now (seconds since the epoch). The status line is always
 * HTTP/1.1 (right for 1.0 clients too); keepalive says whether the
 * connection stays open.
 * Returns a heap string (caller frees) and its length in *len. */
char *codec_format_head(const struct sd_response *r, int keepalive, long long now, size_t *len);

/* The reason phrase for a status ("OK", "Not Found", ...). */
const char *codec_reason(int status);

/* ---- response bodies from the search core's results (codec_json.c) ----
 * Each returns a heap string the caller frees (never NULL); the result
 * is only read. */
struct kb_search_res;
struct kb_search_doc;
struct kb_search_nav;
struct kb_search_completions;
struct kb_search_stds;

/* /search: {"query":Q,"total":N,"took_ms":F,"offset":N,"limit":N,
 *   "hits":[{"id","kind","title","score","percent","snippet", and where
 *            present "category","updated","visibility","workaround",
 *            "status","service","std","standard","clause","heading","path"}],
 *   "facets":{"kind":{V:N,...},"category":{V:N,...},"standard":{V:N,...}},
 *   "suggestion":S|null, "corrected":S|null}
 * query is echoed as given (it must be valid UTF-8); offset and limit as
 * the request gave them. The bytes are what Jansson's compact dump of that
 * tree would be (the unit test compares them); a string that is not valid
 * UTF-8 leaves its member out. */
char *codec_search_json(const struct kb_search_res *res, const char *query, size_t qlen,
                        uint32_t offset, uint32_t limit);
/* /doc: the kb_doc fields (kb_doc_to_json), then "std" and "standard" for
 * standard clauses, and "refs":[ids]. */
char *codec_doc_json(const struct kb_search_doc *d);
/* /nav: {"parent":{id,clause,heading}|null,"prev":...|null,"next":...|null,
 *  "children":[...]} */
char *codec_nav_json(const struct kb_search_nav *n);
/* /suggest: {"query":P,"suggestions":[{"text":T,"kind":"title"|"term",
 *  "id":ID,"doc_kind":K (titles only)}]}; prefix echoed (valid UTF-8). */
char *codec_suggest_json(const struct kb_search_completions *l, const char *prefix, size_t len);
/* /standards: [{"std":slug,"code":C,"title":T,"clauses":N}] (code and title
 *  absent when the caller may see none of the standard's clauses). */
char *codec_standards_json(const struct kb_search_stds *l);

#endif
