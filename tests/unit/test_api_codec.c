/* Unit tests for chatdesk's API codec (httpreq) and router: what the
 * transport read becomes a request struct or a typed error in the one
 * error shape; Content-Type and bearer parsing; the route table's matches,
 * path parameters, 404 and 405 with the Allow list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../chatdesk/api.h"
#include "../../chatdesk/httpreq.h"
#include "../../chatdesk/router.h"

#define TOKEN "8V_KPK2VBHu3h5IO1to1DTeIv0MYvdFDymMNobxNpdw" /* 43 base64url */

/* The error body's code and message, checking the shape on the way:
 * exactly {"error":{"code":"...","message":"..."}}. */
static void assert_error(const struct api_response *r, int status, const char *code)
{
    assert_int_equal(r->status, status);
    assert_non_null(r->body);
    assert_int_equal(r->len, strlen(r->body));
    json_error_t je;
    json_t *o = json_loads(r->body, 0, &je);
    assert_non_null(o);
    assert_int_equal(json_object_size(o), 1);
    json_t *e = json_object_get(o, "error");
    assert_true(json_is_object(e));
    assert_int_equal(json_object_size(e), 2);
    assert_string_equal(json_string_value(json_object_get(e, "code")), code);
    const char *msg = json_string_value(json_object_get(e, "message"));
    assert_non_null(msg);
    assert_true(strlen(msg) > 0);
    json_decref(o);
}

static struct httpreq_raw post_json(const char *body)
{
    struct httpreq_raw raw;
    memset(&raw, 0, sizeof raw);
    raw.method = API_M_POST;
    raw.path = "/api/v1/sessions";
    raw.content_type = "application/json";
    raw.body = body;
    raw.body_len = body ? strlen(body) : 0;
    raw.peer = "127.0.0.1";
    return raw;
}

static void parses_a_full_request(void **state)
{
    (void)state;
    struct httpreq_raw raw = post_json("{\"username\":\"张三\",\"password\":\"pw\"}");
    raw.args[0] = "after=INC-000010";
    raw.args[1] = "limit=5";
    raw.nargs = 2;
    raw.authorization = "Bearer " TOKEN;
    raw.if_match = "\"3\"";
    raw.idempotency_key = "k-1";
    raw.peer = "::1";
    struct api_request req;
    struct api_response err;
    assert_int_equal(httpreq_parse(&raw, &req, &err), 0);
    assert_int_equal(req.method, API_M_POST);
    assert_string_equal(req.path, "/api/v1/sessions");
    assert_string_equal(api_request_arg(&req, "after"), "INC-000010");
    assert_string_equal(api_request_arg(&req, "limit"), "5");
    assert_null(api_request_arg(&req, "lim"));
    assert_null(api_request_arg(&req, "x"));
    assert_true(req.has_auth);
    assert_string_equal(req.token, TOKEN);
    assert_string_equal(req.if_match, "\"3\"");
    assert_string_equal(req.idempotency_key, "k-1");
    assert_string_equal(req.peer, "::1");
    assert_true(json_is_object(req.body));
    assert_string_equal(json_string_value(json_object_get(req.body, "username")), "张三");
    assert_null(err.body);
    api_request_fin(&req);
    assert_null(req.path);
    api_request_fin(NULL);

    /* no body, no headers */
    memset(&raw, 0, sizeof raw);
    raw.method = API_M_GET;
    raw.path = "/api/v1/me";
    assert_int_equal(httpreq_parse(&raw, &req, &err), 0);
    assert_null(req.body);
    assert_false(req.has_auth);
    assert_string_equal(req.token, "");
    assert_null(req.if_match);
    assert_null(req.idempotency_key);
    api_request_fin(&req);
}

static void refuses_bad_bodies(void **state)
{
    (void)state;
    struct api_request req;
    struct api_response err;
    static const struct {
        const char *body, *ctype;
        int status;
        const char *code;
    } cases[] = {
        {"{bad", "application/json", 400, "bad_json"},
        {"[1,2]", "application/json", 400, "bad_json"},
        {"\"s\"", "application/json", 400, "bad_json"},
        {"{\"a\":1} x", "application/json", 400, "bad_json"},          /* trailing bytes */
        {"{\"a\":1,\"a\":2}", "application/json", 400, "bad_json"},    /* duplicate key */
        {"{\"a\":\"\xff\xfe\"}", "application/json", 400, "bad_json"}, /* invalid UTF-8 */
        {"{\"a\":\"x\\u0000y\"}", "application/json", 400, "bad_json"}, /* NUL */
        {"{}", "text/plain", 415, "unsupported_media_type"},
        {"{}", NULL, 415, "unsupported_media_type"},
        {"{}", "application/json; charset=latin1", 415, "unsupported_media_type"},
        {"{}", "application/jsonx", 415, "unsupported_media_type"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct httpreq_raw raw = post_json(cases[i].body);
        raw.content_type = cases[i].ctype;
        if (httpreq_parse(&raw, &req, &err) != -1)
            fail_msg("case %zu (%s) was accepted", i, cases[i].body);
        assert_error(&err, cases[i].status, cases[i].code);
        assert_null(req.path); /* nothing left to free */
        api_response_fin(&err);
    }

    /* size: one byte over the limit is 413, the limit itself is parsed */
    char *big = malloc(API_BODY_MAX + 2);
    memset(big, ' ', API_BODY_MAX + 1);
    big[0] = '{';
    big[API_BODY_MAX - 1] = '}';
    big[API_BODY_MAX + 1] = '\0';
    struct httpreq_raw raw = post_json(big);
    raw.body_len = API_BODY_MAX;
    assert_int_equal(httpreq_parse(&raw, &req, &err), 0);
    api_request_fin(&req);
    raw.body_len = API_BODY_MAX + 1;
    assert_int_equal(httpreq_parse(&raw, &req, &err), -1);
    assert_error(&err, 413, "too_large");
    api_response_fin(&err);
    free(big);

    /* a header too long */
    raw = post_json("{}");
    raw.header_too_long = 1;
    assert_int_equal(httpreq_parse(&raw, &req, &err), -1);
    assert_error(&err, 400, "bad_header");
    api_response_fin(&err);
}

static void content_types_and_bearer_tokens(void **state)
{
    (void)state;
    assert_true(httpreq_is_json_type("application/json"));
    assert_true(httpreq_is_json_type("Application/JSON"));
    assert_true(httpreq_is_json_type("application/json; charset=utf-8"));
    assert_true(httpreq_is_json_type("application/json;charset=UTF-8"));
    assert_true(httpreq_is_json_type("application/json; charset=\"utf-8\""));
    assert_false(httpreq_is_json_type("application/json; charset=gbk"));
    assert_false(httpreq_is_json_type("application/json; boundary=x"));
    assert_false(httpreq_is_json_type("text/json"));
    assert_false(httpreq_is_json_type(""));
    assert_false(httpreq_is_json_type(NULL));

    char tok[AUTH_TOKEN_LEN + 1];
    assert_int_equal(httpreq_bearer("Bearer " TOKEN, tok), 0);
    assert_string_equal(tok, TOKEN);
    assert_int_equal(httpreq_bearer("bearer  " TOKEN " ", tok), 0);
    assert_string_equal(tok, TOKEN);
    assert_int_equal(httpreq_bearer("Basic " TOKEN, tok), -1);
    assert_string_equal(tok, "");
    assert_int_equal(httpreq_bearer("Bearer", tok), -1);
    assert_int_equal(httpreq_bearer("Bearer ", tok), -1);
    assert_int_equal(httpreq_bearer("Bearer " TOKEN "x", tok), -1);       /* too long */
    assert_int_equal(httpreq_bearer("Bearer abc", tok), -1);              /* too short */
    assert_int_equal(httpreq_bearer("Bearer " TOKEN " extra", tok), -1);
    char bad[] = "Bearer " TOKEN;
    bad[10] = '+';                                                         /* not base64url */
    assert_int_equal(httpreq_bearer(bad, tok), -1);
    assert_int_equal(httpreq_bearer(NULL, tok), -1);

    /* a malformed Authorization is remembered, so the answer can say so */
    struct httpreq_raw raw;
    memset(&raw, 0, sizeof raw);
    raw.method = API_M_GET;
    raw.path = "/api/v1/me";
    raw.authorization = "Basic dXNlcjpwYXNz";
    struct api_request req;
    struct api_response err;
    assert_int_equal(httpreq_parse(&raw, &req, &err), 0);
    assert_true(req.has_auth);
    assert_string_equal(req.token, "");
    api_request_fin(&req);
}

static void responses(void **state)
{
    (void)state;
    struct api_response r = {0};
    api_response_error(&r, 401, "unauthorized", "log in");
    assert_error(&r, 401, "unauthorized");
    assert_true(r.bearer_challenge);
    api_response_error(&r, 404, "not_found", "没有这张工单"); /* replaces the first */
    assert_error(&r, 404, "not_found");
    assert_false(r.bearer_challenge);
    assert_non_null(strstr(r.body, "没有这张工单"));
    api_response_json(&r, 204, NULL);
    assert_int_equal(r.status, 204);
    assert_null(r.body);
    assert_int_equal(r.len, 0);
    api_response_json(&r, 200, json_pack("{s:i}", "a", 1));
    assert_string_equal(r.body, "{\"a\":1}");
    api_response_fin(&r);
    api_response_fin(NULL);
    assert_string_equal(httpreq_status_text(413), "Content Too Large");
    assert_string_equal(httpreq_method_name(API_M_DELETE), "DELETE");
}

/* ---- router ------------------------------------------------------------------- */

static int route(enum api_method m, const char *path, struct api_request *req, char *allow)
{
    memset(req, 0, sizeof *req);
    req->method = m;
    req->path = (char *)path;
    return router_match(req, allow, 64);
}

static void routes_the_table(void **state)
{
    (void)state;
    struct api_request req;
    char allow[64];
    assert_int_equal(route(API_M_POST, "/api/v1/sessions", &req, allow), 200);
    assert_ptr_equal(req.route->handler, api_sessions_create);
    assert_false(req.route->auth);
    assert_int_equal(route(API_M_DELETE, "/api/v1/sessions/current", &req, allow), 200);
    assert_ptr_equal(req.route->handler, api_sessions_delete);
    assert_true(req.route->auth);
    assert_int_equal(route(API_M_GET, "/api/v1/me", &req, allow), 200);
    assert_ptr_equal(req.route->handler, api_me_get);
    assert_int_equal(route(API_M_GET, "/api/v1/tickets/INC-000123", &req, allow), 200);
    assert_ptr_equal(req.route->handler, api_tickets_get);
    assert_true(req.route->auth);
    assert_string_equal(req.params[0], "INC-000123");
    /* every route but the login needs a token */
    for (const struct router_route *r = router_routes; r->pattern; r++)
        assert_int_equal(r->auth, r->handler != api_sessions_create);
}

static void not_found_and_method_not_allowed(void **state)
{
    (void)state;
    struct api_request req;
    char allow[64];
    static const char *const missing[] = {
        "/api/v1/ticket/INC-1", "/api/v1/ticketz", "/api/v1/tickets/", "/api/v1/tickets/INC-1/",
        "/api/v1/tickets/INC-1/x", "/api/v1/me/", "/api/v1", "/api", "/", "", "/api/v2/me",
        "/api/v1/mex", "/api/v1/sessions/other", "//api/v1/me",
    };
    for (size_t i = 0; i < sizeof missing / sizeof *missing; i++) {
        if (route(API_M_GET, missing[i], &req, allow) != 404)
            fail_msg("%s should be 404", missing[i]);
        assert_null(req.route);
        assert_string_equal(allow, "");
    }
    /* a parameter longer than API_PARAM_MAX - 1 bytes matches nothing */
    char longp[200];
    int n = snprintf(longp, sizeof longp, "/api/v1/tickets/");
    memset(longp + n, 'A', API_PARAM_MAX);
    longp[n + API_PARAM_MAX] = '\0';
    assert_int_equal(route(API_M_GET, longp, &req, allow), 404);
    longp[n + API_PARAM_MAX - 1] = '\0';
    assert_int_equal(route(API_M_GET, longp, &req, allow), 200);
    assert_int_equal(strlen(req.params[0]), API_PARAM_MAX - 1);

    assert_int_equal(route(API_M_PUT, "/api/v1/me", &req, allow), 405);
    assert_null(req.route);
    assert_string_equal(allow, "GET");
    assert_int_equal(route(API_M_GET, "/api/v1/sessions", &req, allow), 405);
    assert_string_equal(allow, "POST");
    assert_int_equal(route(API_M_NONE, "/api/v1/sessions/current", &req, allow), 405);
    assert_string_equal(allow, "DELETE");
}

static void allow_lists_every_method_of_a_path(void **state)
{
    (void)state;
    static const struct router_route table[] = {
        {API_M_GET, "/a/{x}", api_me_get, 1, "a.get", 0},
        {API_M_PATCH, "/a/{x}", api_me_get, 1, "a.patch", 0},
        {API_M_DELETE, "/a/{x}", api_me_get, 1, "a.delete", 0},
        {API_M_GET, "/a/{x}/b/{y}", api_me_get, 1, "b.get", 0},
        {API_M_NONE, NULL, NULL, 0, NULL, 0},
    };
    struct api_request req;
    memset(&req, 0, sizeof req);
    char allow[64];
    req.method = API_M_POST;
    req.path = "/a/1";
    assert_int_equal(router_match_in(table, &req, allow, sizeof allow), 405);
    assert_string_equal(allow, "GET, PATCH, DELETE");
    req.method = API_M_PATCH;
    assert_int_equal(router_match_in(table, &req, allow, sizeof allow), 200);
    assert_string_equal(req.route->name, "a.patch");
    req.method = API_M_GET;
    req.path = "/a/k1/b/k2";
    assert_int_equal(router_match_in(table, &req, allow, sizeof allow), 200);
    assert_string_equal(req.route->name, "b.get");
    assert_string_equal(req.params[0], "k1");
    assert_string_equal(req.params[1], "k2");
    req.path = "/a//b/k2";
    assert_int_equal(router_match_in(table, &req, allow, sizeof allow), 404);
}

/* Every route of the table is described in chatdesk/openapi.yaml, the
 * contract: its path as a key under paths, its method under that. */
static void every_route_is_in_the_openapi_file(void **state)
{
    (void)state;
    FILE *f = fopen("chatdesk/openapi.yaml", "rb");
    assert_non_null(f);
    static char yaml[256 * 1024];
    size_t n = fread(yaml, 1, sizeof yaml - 1, f);
    fclose(f);
    yaml[n] = '\0';
    int routes = 0;
    for (const struct router_route *r = router_routes; r->pattern; r++, routes++) {
        char key[256], method[32];
        snprintf(key, sizeof key, "\n  %s:\n", r->pattern);
        const char *at = strstr(yaml, key);
        if (!at)
            fail_msg("%s is not in openapi.yaml", r->pattern);
        at += strlen(key);
        /* the path's block: up to the next line indented by two spaces */
        const char *endp = at;
        while ((endp = strstr(endp, "\n  ")) && endp[3] == ' ')
            endp++;
        size_t i = 0;
        for (const char *m = httpreq_method_name(r->method); *m && i < 20; m++)
            method[i++] = (char)(*m - 'A' + 'a');
        method[i] = '\0';
        snprintf(key, sizeof key, "    %s:\n", method);
        const char *mat = strstr(at, key);
        if (!mat || (endp && mat > endp))
            fail_msg("%s %s is not in openapi.yaml", method, r->pattern);
    }
    assert_true(routes >= 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_a_full_request),
        cmocka_unit_test(refuses_bad_bodies),
        cmocka_unit_test(content_types_and_bearer_tokens),
        cmocka_unit_test(responses),
        cmocka_unit_test(routes_the_table),
        cmocka_unit_test(not_found_and_method_not_allowed),
        cmocka_unit_test(allow_lists_every_method_of_a_path),
        cmocka_unit_test(every_route_is_in_the_openapi_file),
    };
    return cmocka_run_group_tests_name("api_codec", tests, NULL, NULL);
}
