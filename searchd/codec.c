/* codec: HTTP/1.x request heads, request targets and response heads for
 * searchd, as pure functions (see codec.h for why searchd reads HTTP itself).
 * Everything here works on (pointer, length) pairs and never reads past the
 * length it is given; decoded strings are fresh heap copies. */
#include "codec.h"
#include "kb_search.h"
#include "kb_doc.h"
#include "kb_utf8.h"
#include "kb_util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const endpoint_names[SD_EP_COUNT] = {
    "other", "search", "doc", "nav", "suggest", "standards", "healthz", "metrics", "static",
};

const char *codec_endpoint_name(enum sd_endpoint ep)
{
    return (unsigned)ep < SD_EP_COUNT ? endpoint_names[ep] : "other";
}

static void set_err(struct codec_error *e, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void set_err(struct codec_error *e, int status, const char *code, const char *fmt, ...)
{
    e->status = status;
    e->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
}

/* ---- small helpers ---------------------------------------------------------- */

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* Case-insensitive: does s[0..n) equal the lower-case ASCII word w? */
static int eq_nocase(const char *s, size_t n, const char *w)
{
    size_t wl = strlen(w);
    if (n != wl)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)s[i]) != w[i])
            return 0;
    return 1;
}

static int is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* ---- the request head ----------------------------------------------------- */

/* Offset just past the blank line ending the head in s[0..n), or 0. Lines
 * end in LF with an optional CR before it. */
static size_t find_head_end(const char *s, size_t n)
{
    unsigned state = 0;
    size_t k = codec_scan_head_end(&state, s, n);
    return k;
}

size_t codec_scan_head_end(unsigned *state, const char *chunk, size_t len)
{
    /* state 0: inside a line; 1: just after LF; 2: after LF CR */
    unsigned st = *state;
    for (size_t i = 0; i < len; i++) {
        char c = chunk[i];
        if (c == '\n') {
            if (st == 1 || st == 2) {
                *state = 0;
                return i + 1;
            }
            st = 1;
        } else if (c == '\r' && st == 1) {
            st = 2;
        } else {
            st = 0;
        }
    }
    *state = st;
    return 0;
}

/* Skips empty lines before the request line (RFC 9112 2.2). */
static size_t skip_leading_crlf(const char *buf, size_t len)
{
    size_t i = 0;
    while (i < len && (buf[i] == '\r' || buf[i] == '\n'))
        i++;
    return i;
}

void codec_head_overflow(const char *buf, size_t len, struct codec_error *err)
{
    /* judged on the part that had to fit: a request line ending past
     * CODEC_MAX_HEAD is itself too long */
    if (len > CODEC_MAX_HEAD)
        len = CODEC_MAX_HEAD;
    size_t i = skip_leading_crlf(buf, len);
    if (memchr(buf + i, '\n', len - i)) {
        set_err(err, 431, "headers_too_large", "the request headers exceed %d KB",
                CODEC_MAX_HEAD / 1024);
        return;
    }
    /* the request line itself is too long: which path does it name? */
    const char *sp = memchr(buf + i, ' ', len - i);
    const char *t = sp ? sp + 1 : buf + len;
    size_t tl = (size_t)(buf + len - t);
    static const char *const schemes[] = {"http://", "https://"};
    for (size_t k = 0; k < 2; k++) {
        size_t sl = strlen(schemes[k]);
        if (tl > sl && eq_nocase(t, sl, schemes[k])) {
            const char *slash = memchr(t + sl, '/', tl - sl);
            tl = slash ? (size_t)(buf + len - slash) : 0;
            t = slash ? slash : t;
        }
    }
    static const char *const qpaths[] = {"/search", "/suggest"};
    for (size_t k = 0; k < 2; k++) {
        size_t pl = strlen(qpaths[k]);
        if (tl > pl && memcmp(t, qpaths[k], pl) == 0 && t[pl] == '?') {
            set_err(err, 413, "query_too_long", "the query exceeds %d bytes",
                    KB_SEARCH_MAX_QUERY);
            return;
        }
    }
    set_err(err, 414, "uri_too_long", "the request URI exceeds %d KB", CODEC_MAX_HEAD / 1024);
}

/* Reads a Content-Length value; returns 0 with *v, or -1. */
static int parse_content_length(const char *s, size_t n, unsigned long long *v)
{
    if (n == 0 || n > 18)
        return -1;
    unsigned long long x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        x = x * 10 + (unsigned)(s[i] - '0');
    }
    *v = x;
    return 0;
}

static int parse_request_line(const char *s, size_t n, struct codec_head *h,
                              struct codec_error *err)
{
    const char *sp1 = memchr(s, ' ', n);
    if (!sp1 || sp1 == s) {
        set_err(err, 400, "bad_request", "malformed request line");
        return -1;
    }
    h->method = s;
    h->method_len = (size_t)(sp1 - s);
    if (h->method_len > 32) {
        set_err(err, 400, "bad_request", "malformed request line");
        return -1;
    }
    for (size_t i = 0; i < h->method_len; i++)
        if (!is_tchar((unsigned char)s[i])) {
            set_err(err, 400, "bad_request", "malformed request line");
            return -1;
        }
    const char *t = sp1 + 1, *end = s + n;
    const char *sp2 = memchr(t, ' ', (size_t)(end - t));
    if (!sp2 || sp2 == t) {
        set_err(err, 400, "bad_request", "malformed request line");
        return -1;
    }
    h->target = t;
    h->target_len = (size_t)(sp2 - t);
    for (size_t i = 0; i < h->target_len; i++) {
        unsigned char c = (unsigned char)t[i];
        if (c <= 0x20 || c == 0x7f) {
            set_err(err, 400, "bad_request", "control character in the request URI");
            return -1;
        }
    }
    const char *v = sp2 + 1;
    size_t vl = (size_t)(end - v);
    if (vl == 8 && memcmp(v, "HTTP/1.", 7) == 0 && (v[7] == '0' || v[7] == '1')) {
        h->minor = v[7] - '0';
        return 0;
    }
    if (vl == 8 && memcmp(v, "HTTP/", 5) == 0 && v[5] >= '0' && v[5] <= '9' && v[6] == '.' &&
        v[7] >= '0' && v[7] <= '9') {
        set_err(err, 505, "http_version", "only HTTP/1.0 and HTTP/1.1 are supported");
        return -1;
    }
    set_err(err, 400, "bad_request", "malformed request line");
    return -1;
}

static void connection_tokens(const char *v, size_t n, int *close, int *ka)
{
    size_t i = 0;
    while (i < n) {
        while (i < n && (is_ows(v[i]) || v[i] == ','))
            i++;
        size_t b = i;
        while (i < n && v[i] != ',')
            i++;
        size_t e = i;
        while (e > b && is_ows(v[e - 1]))
            e--;
        if (eq_nocase(v + b, e - b, "close"))
            *close = 1;
        else if (eq_nocase(v + b, e - b, "keep-alive"))
            *ka = 1;
    }
}

int codec_parse_head(const char *buf, size_t len, struct codec_head *h, size_t *used,
                     struct codec_error *err)
{
    memset(h, 0, sizeof *h);
    size_t scan = len < CODEC_MAX_HEAD ? len : CODEC_MAX_HEAD;
    size_t start = skip_leading_crlf(buf, scan);
    size_t end = find_head_end(buf + start, scan - start);
    if (!end) {
        if (len >= CODEC_MAX_HEAD) {
            codec_head_overflow(buf, len, err);
            return -1;
        }
        return CODEC_MORE;
    }
    end += start;
    *used = end;

    int close = 0, ka = 0, nheaders = 0, have_cl = 0;
    unsigned long long cl = 0;
    const char *bearer = NULL, *xtoken = NULL;
    size_t bearer_len = 0, xtoken_len = 0;
    size_t i = start;
    int first = 1;
    while (i < end) {
        const char *nl = memchr(buf + i, '\n', end - i);
        size_t le = (size_t)(nl - buf); /* nl exists: the head ends with one */
        size_t ll = le - i;
        if (ll && buf[le - 1] == '\r')
            ll--;
        const char *line = buf + i;
        i = le + 1;
        if (ll == 0)
            break; /* the blank line */
        if (memchr(line, '\r', ll)) {
            set_err(err, 400, "bad_request", "stray CR in the request head");
            return -1;
        }
        if (first) {
            first = 0;
            if (parse_request_line(line, ll, h, err))
                return -1;
            continue;
        }
        if (++nheaders > CODEC_MAX_HEADERS) {
            set_err(err, 431, "headers_too_large", "more than %d request headers",
                    CODEC_MAX_HEADERS);
            return -1;
        }
        if (is_ows(line[0])) {
            set_err(err, 400, "bad_request", "folded header lines are not accepted");
            return -1;
        }
        const char *colon = memchr(line, ':', ll);
        if (!colon || colon == line) {
            set_err(err, 400, "bad_request", "malformed header line");
            return -1;
        }
        size_t nlen = (size_t)(colon - line);
        for (size_t k = 0; k < nlen; k++)
            if (!is_tchar((unsigned char)line[k])) {
                set_err(err, 400, "bad_request", "malformed header name");
                return -1;
            }
        const char *v = colon + 1, *ve = line + ll;
        while (v < ve && is_ows(*v))
            v++;
        while (ve > v && is_ows(ve[-1]))
            ve--;
        size_t vl = (size_t)(ve - v);
        for (size_t k = 0; k < vl; k++) {
            unsigned char c = (unsigned char)v[k];
            if ((c < 0x20 && c != '\t') || c == 0x7f) {
                set_err(err, 400, "bad_request", "control character in a header");
                return -1;
            }
        }
        if (eq_nocase(line, nlen, "connection")) {
            connection_tokens(v, vl, &close, &ka);
        } else if (eq_nocase(line, nlen, "content-length")) {
            unsigned long long x;
            if (parse_content_length(v, vl, &x) || (have_cl && x != cl)) {
                set_err(err, 400, "bad_request", "bad Content-Length");
                return -1;
            }
            have_cl = 1;
            cl = x;
        } else if (eq_nocase(line, nlen, "transfer-encoding")) {
            h->has_body = 1;
        } else if (eq_nocase(line, nlen, "authorization")) {
            if (vl > 7 && eq_nocase(v, 6, "bearer") && is_ows(v[6])) {
                const char *tk = v + 7;
                while (tk < ve && is_ows(*tk))
                    tk++;
                bearer = tk;
                bearer_len = (size_t)(ve - tk);
            }
        } else if (eq_nocase(line, nlen, "x-agent-token")) {
            xtoken = v;
            xtoken_len = vl;
        }
    }
    if (first) { /* cannot happen: the head holds at least one line */
        set_err(err, 400, "bad_request", "empty request");
        return -1;
    }
    if (cl > 0)
        h->has_body = 1;
    h->keepalive = h->minor >= 1 ? !close : (ka && !close);
    if (bearer) {
        h->token = bearer;
        h->token_len = bearer_len;
    } else if (xtoken) {
        h->token = xtoken;
        h->token_len = xtoken_len;
    }
    return 0;
}

/* ---- the request target ------------------------------------------------------ */

void sd_request_fin(struct sd_request *r)
{
    if (!r)
        return;
    free(r->q);
    free(r->kind);
    free(r->category);
    free(r->lang);
    free(r->standard);
    free(r->id);
    free(r->path);
    memset(r, 0, sizeof *r);
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (unsigned char)lower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Percent-decodes s[0..n) into a new heap string *out (NUL-terminated, may
 * hold NUL bytes: *outlen tells). plus_space: '+' means ' ' (query strings).
 * Returns 0, or -1 for a bad escape (then *out is NULL). */
static int pct_decode(const char *s, size_t n, int plus_space, char **out, size_t *outlen)
{
    char *d = kb_xmalloc(n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            int hi = i + 1 < n ? hexval((unsigned char)s[i + 1]) : -1;
            int lo = i + 2 < n ? hexval((unsigned char)s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                free(d);
                *out = NULL;
                return -1;
            }
            d[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else if (c == '+' && plus_space) {
            d[o++] = ' ';
        } else {
            d[o++] = (char)c;
        }
    }
    d[o] = '\0';
    *out = d;
    *outlen = o;
    return 0;
}

/* Checks decoded text: valid UTF-8 without NUL. */
static int check_text(const char *s, size_t n, const char *what, struct codec_error *err)
{
    int rc = kb_utf8_check(s, n, 0, NULL);
    if (rc == 0)
        return 0;
    set_err(err, 400, "bad_encoding", "%s %s", what,
            rc == KB_UTF8_ENUL ? "contains a NUL byte" : "is not valid UTF-8");
    return -1;
}

static int only_space(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!(s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n' || s[i] == '\f' ||
              s[i] == '\v'))
            return 0;
    return 1;
}

/* Parses a non-negative decimal; saturates at UINT32_MAX. Returns 0 or -1. */
static int parse_uint(const char *s, size_t n, uint32_t *out)
{
    if (n == 0)
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
        if (v > UINT32_MAX)
            v = UINT32_MAX;
    }
    *out = (uint32_t)v;
    return 0;
}

/* Is every comma-separated item of v (ignoring spaces and empty items)
 * accepted by allowed(item, length)? 0 if so, else -1. */
static int check_list(const char *v, int (*allowed)(const char *, size_t))
{
    const char *p = v;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *b = p;
        while (*p && *p != ',')
            p++;
        const char *e = p;
        while (e > b && e[-1] == ' ')
            e--;
        if (e == b)
            continue;
        if (!allowed(b, (size_t)(e - b)))
            return -1;
    }
    return 0;
}

/* Appends value to a comma-separated filter (a repeated parameter adds
 * values). Takes ownership of value. */
static void add_filter(char **slot, char *value)
{
    if (!*slot) {
        *slot = value;
        return;
    }
    size_t a = strlen(*slot), b = strlen(value);
    char *j = kb_xmalloc(a + b + 2);
    memcpy(j, *slot, a);
    j[a] = ',';
    memcpy(j + a + 1, value, b + 1);
    free(*slot);
    free(value);
    *slot = j;
}

/* lang: one of the languages the corpus reader assigns (kb_doc.h) */
static int lang_valid(const char *s, size_t n)
{
    static const char *const langs[] = {"zh", "en", "mixed"};
    for (size_t i = 0; i < sizeof langs / sizeof *langs; i++)
        if (strlen(langs[i]) == n && memcmp(langs[i], s, n) == 0)
            return 1;
    return 0;
}

/* One name=value pair of the query string, raw. */
static int handle_param(struct sd_request *req, const char *p, size_t n, int *have_q,
                        int *have_limit, struct codec_error *err)
{
    const char *eq = memchr(p, '=', n);
    size_t nl = eq ? (size_t)(eq - p) : n;
    const char *rv = eq ? eq + 1 : p + n;
    size_t rvl = (size_t)(p + n - rv);
    char *name = NULL, *val = NULL;
    size_t namelen, vallen;
    int rc = -1;
    if (pct_decode(p, nl, 1, &name, &namelen)) {
        set_err(err, 400, "bad_escape", "bad %%-escape in a parameter name");
        return -1;
    }
    if (check_text(name, namelen, "a parameter name", err))
        goto out;
    /* known names only in messages: an unknown one may be anything */
    static const char *const known[] = {"q", "kind", "category", "lang", "standard",
                                        "limit", "offset", "min_confidence", "facets",
                                        NULL};
    const char *label = "a parameter";
    for (size_t k = 0; known[k]; k++)
        if (strcmp(name, known[k]) == 0)
            label = known[k];
    if (pct_decode(rv, rvl, 1, &val, &vallen)) {
        set_err(err, 400, "bad_escape", "bad %%-escape in %s", label);
        goto out;
    }
    int is_q = strcmp(name, "q") == 0;
    int takes_q = req->ep == SD_EP_SEARCH || req->ep == SD_EP_SUGGEST;
    if (is_q && takes_q) {
        size_t max = req->ep == SD_EP_SUGGEST ? CODEC_MAX_SUGGEST : KB_SEARCH_MAX_QUERY;
        if (vallen > max) {
            set_err(err, 413, "query_too_long", "q is %zu bytes; at most %zu are allowed",
                    vallen, max);
            goto out;
        }
    }
    if (check_text(val, vallen, label, err))
        goto out;
    if (!takes_q) {
        rc = 0; /* validated; other endpoints take no parameters */
        goto out;
    }
    if (is_q) {
        free(req->q);
        req->q = val;
        req->qlen = vallen;
        val = NULL;
        *have_q = 1;
        rc = 0;
        goto out;
    }
    if (req->ep != SD_EP_SEARCH) {
        rc = 0;
        goto out;
    }
    if (strcmp(name, "limit") == 0 || strcmp(name, "offset") == 0) {
        int is_limit = name[0] == 'l';
        uint32_t v = 0;
        if (vallen == 0) { /* limit= : as if absent */
            if (is_limit)
                *have_limit = 0;
            else
                req->offset = 0;
            rc = 0;
            goto out;
        }
        if (parse_uint(val, vallen, &v)) {
            if (is_limit)
                set_err(err, 400, "bad_limit", "limit must be a whole number 0..%d",
                        KB_SEARCH_MAX_LIMIT);
            else
                set_err(err, 400, "bad_offset", "offset must be a whole number 0..%d",
                        CODEC_MAX_OFFSET);
            goto out;
        }
        if (is_limit) {
            /* 0 means the default; above the maximum is clamped */
            req->limit = kb_search_limit(v);
            *have_limit = 1;
        } else {
            if (v > CODEC_MAX_OFFSET) {
                set_err(err, 400, "bad_offset", "offset must be a whole number 0..%d",
                        CODEC_MAX_OFFSET);
                goto out;
            }
            req->offset = v;
        }
        rc = 0;
        goto out;
    }
    if (strcmp(name, "min_confidence") == 0) {
        /* a number in (0, 1], at most three decimals; empty: the default */
        char *end = NULL;
        double v = vallen ? strtod(val, &end) : 0;
        if (vallen && (end != val + vallen || !(v > 0 && v <= 1))) {
            set_err(err, 400, "bad_min_confidence",
                    "min_confidence must be a number above 0 and at most 1");
            goto out;
        }
        req->min_conf = vallen ? (uint32_t)(v * 1000 + 0.5) : 0;
        if (vallen && req->min_conf == 0)
            req->min_conf = 1;
        rc = 0;
        goto out;
    }
    if (strcmp(name, "facets") == 0) {
        /* 1 or true: count the facets; 0, false or empty: do not */
        int on = (vallen == 1 && val[0] == '1') || (vallen == 4 && !memcmp(val, "true", 4));
        int off = vallen == 0 || (vallen == 1 && val[0] == '0') ||
                  (vallen == 5 && !memcmp(val, "false", 5));
        if (!on && !off) {
            set_err(err, 400, "bad_facets", "facets must be 1, true, 0 or false");
            goto out;
        }
        req->facets = on;
        rc = 0;
        goto out;
    }
    char **slot = strcmp(name, "kind") == 0       ? &req->kind
                  : strcmp(name, "category") == 0 ? &req->category
                  : strcmp(name, "lang") == 0     ? &req->lang
                  : strcmp(name, "standard") == 0 ? &req->standard
                                                  : NULL;
    if (!slot) {
        rc = 0; /* unknown parameters are ignored */
        goto out;
    }
    if (vallen > CODEC_MAX_VALUE) {
        set_err(err, 400, "bad_filter", "%s is longer than %d bytes", label, CODEC_MAX_VALUE);
        goto out;
    }
    if (slot == &req->kind && check_list(val, kb_kind_valid)) {
        set_err(err, 400, "bad_kind", "kind must be article, known_error or standard");
        goto out;
    }
    if (slot == &req->lang && check_list(val, lang_valid)) {
        set_err(err, 400, "bad_lang", "lang must be zh, en or mixed");
        goto out;
    }
    if (vallen)
        add_filter(slot, val);
    else
        free(val);
    val = NULL;
    rc = 0;
out:
    free(name);
    free(val);
    return rc;
}

/* Routes a decoded path. */
static enum sd_endpoint route(const char *path, size_t n, const char **arg)
{
    static const struct { const char *path; enum sd_endpoint ep; } exact[] = {
        {"/search", SD_EP_SEARCH},       {"/suggest", SD_EP_SUGGEST},
        {"/standards", SD_EP_STANDARDS}, {"/healthz", SD_EP_HEALTHZ},
        {"/metrics", SD_EP_METRICS},
    };
    *arg = NULL;
    for (size_t k = 0; k < sizeof exact / sizeof *exact; k++)
        if (strlen(exact[k].path) == n && memcmp(path, exact[k].path, n) == 0)
            return exact[k].ep;
    if (n >= 5 && memcmp(path, "/doc/", 5) == 0) {
        *arg = path + 5;
        return SD_EP_DOC;
    }
    if (n >= 5 && memcmp(path, "/nav/", 5) == 0) {
        *arg = path + 5;
        return SD_EP_NAV;
    }
    return SD_EP_STATIC;
}

int codec_parse_target(const char *method, size_t mlen, const char *target, size_t tlen,
                       struct sd_request *req, struct codec_error *err)
{
    memset(req, 0, sizeof *req);
    req->limit = CODEC_DEFAULT_LIMIT;
    int is_get = mlen == 3 && memcmp(method, "GET", 3) == 0;
    int is_head = mlen == 4 && memcmp(method, "HEAD", 4) == 0;
    req->head_only = is_head;

    /* absolute-form (a proxy's request): keep only the path and query */
    for (size_t k = 0; k < 2; k++) {
        const char *scheme = k ? "https://" : "http://";
        size_t sl = strlen(scheme);
        if (tlen >= sl && eq_nocase(target, sl, scheme)) {
            const char *slash = memchr(target + sl, '/', tlen - sl);
            const char *qm = memchr(target + sl, '?', tlen - sl);
            if (qm && (!slash || qm < slash))
                slash = NULL; /* "http://host?x": path "/" */
            if (slash) {
                tlen -= (size_t)(slash - target);
                target = slash;
            } else {
                target = "/";
                tlen = 1;
            }
            break;
        }
    }
    if (tlen == 0 || target[0] != '/') {
        set_err(err, 400, "bad_request", "the request URI must start with /");
        return -1;
    }
    const char *qm = memchr(target, '?', tlen);
    size_t plen = qm ? (size_t)(qm - target) : tlen;
    char *path;
    size_t pathlen;
    if (pct_decode(target, plen, 0, &path, &pathlen)) {
        set_err(err, 400, "bad_escape", "bad %%-escape in the path");
        return -1;
    }
    if (check_text(path, pathlen, "the path", err)) {
        free(path);
        return -1;
    }
    const char *arg;
    req->ep = route(path, pathlen, &arg);
    if (!is_get && !is_head) {
        free(path);
        set_err(err, 405, "method_not_allowed", "only GET and HEAD are allowed");
        return -1;
    }
    if (req->ep == SD_EP_DOC || req->ep == SD_EP_NAV) {
        size_t al = pathlen - (size_t)(arg - path);
        if (al > CODEC_MAX_VALUE) {
            free(path);
            set_err(err, 404, "not_found", "no such document");
            return -1;
        }
        req->id = kb_xstrndup(arg, al);
        free(path);
    } else if (req->ep == SD_EP_STATIC) {
        req->path = path;
    } else {
        free(path);
    }

    int have_q = 0, have_limit = 0;
    if (qm) {
        const char *p = qm + 1, *end = target + tlen;
        while (p < end) {
            const char *amp = memchr(p, '&', (size_t)(end - p));
            const char *pe = amp ? amp : end;
            if (pe > p && handle_param(req, p, (size_t)(pe - p), &have_q, &have_limit, err))
                goto fail;
            p = pe + 1;
        }
    }
    if (!have_limit)
        req->limit = CODEC_DEFAULT_LIMIT;
    if ((req->ep == SD_EP_SEARCH || req->ep == SD_EP_SUGGEST) &&
        (!have_q || only_space(req->q, req->qlen))) {
        set_err(err, 400, "missing_query", "the parameter q is missing or empty");
        goto fail;
    }
    if ((req->ep == SD_EP_DOC || req->ep == SD_EP_NAV) && (!req->id || !req->id[0])) {
        set_err(err, 404, "not_found", "no document id in the path");
        goto fail;
    }
    return 0;
fail:;
    enum sd_endpoint ep = req->ep;
    sd_request_fin(req);
    req->ep = ep;
    return -1;
}

/* ---- responses ----------------------------------------------------------------- */

void sd_response_fin(struct sd_response *r)
{
    if (!r)
        return;
    free(r->body);
    memset(r, 0, sizeof *r);
}

void codec_set_json(struct sd_response *r, int status, char *json)
{
    free(r->body);
    r->status = status;
    r->content_type = CODEC_JSON;
    r->cache_control = "no-store";
    r->body = json;
    r->len = json ? strlen(json) : 0;
}

void codec_set_error3(struct sd_response *r, int status, const char *code, const char *message)
{
    json_t *o = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", message);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!s) /* message was not valid UTF-8: keep the code */
        s = kb_xstrdup("{\"error\":{\"code\":\"internal\",\"message\":\"\"}}");
    codec_set_json(r, status, s);
}

void codec_set_error(struct sd_response *r, const struct codec_error *e)
{
    codec_set_error3(r, e->status, e->code, e->message);
}

const char *codec_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

/* The headers lws 4.1 adds with
 * LWS_SERVER_OPTION_HTTP_HEADERS_SECURITY_BEST_PRACTICES_ENFORCE (copied from
 * its lib/roles/http/header.c): pages may load scripts, styles, fonts and
 * images only from this server, and no inline script or style runs. */
static const char security_headers[] =
    "content-security-policy: default-src 'none'; img-src 'self' data: ; "
    "script-src 'self'; font-src 'self'; style-src 'self'; connect-src 'self' ws: wss:; "
    "frame-ancestors 'none'; base-uri 'none';form-action 'self';\r\n"
    "x-content-type-options: nosniff\r\n"
    "x-xss-protection: 1; mode=block\r\n"
    "x-frame-options: deny\r\n"
    "referrer-policy: no-referrer\r\n";

char *codec_format_head(const struct sd_response *r, int keepalive, long long now, size_t *len)
{
    char date[64];
    time_t t = (time_t)now;
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm))
        date[0] = '\0';
    struct kb_buf b;
    kb_buf_init(&b);
    kb_buf_printf(&b, "HTTP/1.1 %d %s\r\n", r->status, codec_reason(r->status));
    if (date[0])
        kb_buf_printf(&b, "Date: %s\r\n", date);
    kb_buf_printf(&b, "Content-Type: %s\r\nContent-Length: %zu\r\n",
                  r->content_type ? r->content_type : "text/plain; charset=utf-8", r->len);
    if (r->cache_control)
        kb_buf_printf(&b, "Cache-Control: %s\r\n", r->cache_control);
    if (r->status == 405)
        kb_buf_adds(&b, "Allow: GET, HEAD\r\n");
    if (r->status == 503)
        kb_buf_adds(&b, "Retry-After: " CODEC_RETRY_AFTER "\r\n");
    kb_buf_add(&b, security_headers, sizeof security_headers - 1);
    kb_buf_adds(&b, keepalive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n");
    *len = b.len;
    return kb_buf_take(&b);
}
