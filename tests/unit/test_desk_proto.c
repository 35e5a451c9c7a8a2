/* Unit tests for chatdesk/proto, the wire codec: every client frame type
 * parses into its struct, and every kind of bad frame gives its typed
 * error (with the client id echoed when the frame had a valid one). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "../../chatdesk/proto.h"

static int parse(const char *s, struct desk_msg *m, struct proto_error *e)
{
    return proto_parse(s, strlen(s), m, e);
}

/* s must fail with code (and, when not NULL, field and echoed id). */
static void bad(const char *s, int code, const char *field, const char *id)
{
    struct desk_msg m;
    struct proto_error e;
    int rc = parse(s, &m, &e);
    if (rc != code)
        fail_msg("%s: wanted %s, got %s (%s)", s, proto_code_name(code), proto_code_name(rc),
                 e.message);
    assert_int_equal(e.code, code);
    assert_true(strlen(e.message) > 0);
    if (field)
        assert_string_equal(e.field, field);
    assert_string_equal(e.id, id ? id : "");
    assert_int_equal(m.type, DM_NONE);
    assert_null(m.id);
}

static void good(const char *s, struct desk_msg *m)
{
    struct proto_error e;
    if (parse(s, m, &e))
        fail_msg("%s: %s %s", s, proto_code_name(e.code), e.message);
}

static void parses_every_client_frame(void **state)
{
    (void)state;
    struct desk_msg m;
    good("{\"type\":\"hello\",\"role\":\"requester\",\"name\":\"王小明\",\"email\":\"w@x.cn\",\"id\":\"h\"}", &m);
    assert_int_equal(m.type, DM_HELLO);
    assert_string_equal(m.name, "王小明");
    assert_string_equal(m.email, "w@x.cn");
    assert_string_equal(m.id, "h");
    assert_int_equal(m.resume, 0);
    desk_msg_fin(&m);
    good("{\"type\":\"hello\",\"resume\":{\"session\":\"abc\",\"last_seq\":7,\"conversation\":12}}", &m);
    assert_int_equal(m.resume, 1);
    assert_string_equal(m.session, "abc");
    assert_int_equal(m.last_seq, 7);
    assert_int_equal(m.resume_conv, 12);
    assert_null(m.name);
    desk_msg_fin(&m);
    good("{\"type\":\"login\",\"username\":\"agent\",\"password\":\"p w\"}", &m);
    assert_int_equal(m.type, DM_LOGIN);
    assert_string_equal(m.username, "agent");
    assert_string_equal(m.password, "p w");
    desk_msg_fin(&m);
    assert_null(m.password);
    good("{\"type\":\"login\",\"session\":\"tok\"}", &m);
    assert_string_equal(m.session, "tok");
    assert_null(m.username);
    desk_msg_fin(&m);
    good("{\"type\":\"message\",\"id\":\"c1\",\"text\":\"VPN 809\"}", &m);
    assert_int_equal(m.type, DM_MESSAGE);
    assert_string_equal(m.text, "VPN 809");
    desk_msg_fin(&m);
    good("{\"type\":\"feedback\",\"item\":\"KB-0001\",\"helpful\":false}", &m);
    assert_int_equal(m.type, DM_FEEDBACK);
    assert_int_equal(m.helpful, 0);
    desk_msg_fin(&m);
    good("{\"type\":\"escalate\",\"impact\":1,\"urgency\":3,\"summary\":\"s\",\"category\":null}", &m);
    assert_int_equal(m.impact, 1);
    assert_int_equal(m.urgency, 3);
    assert_string_equal(m.summary, "s");
    assert_null(m.category);
    desk_msg_fin(&m);
    good("{\"type\":\"queue\"}", &m);
    assert_int_equal(m.type, DM_QUEUE);
    desk_msg_fin(&m);
    good("{\"type\":\"take\",\"ticket\":\"INC-000001\"}", &m);
    assert_string_equal(m.ticket, "INC-000001");
    desk_msg_fin(&m);
    good("{\"type\":\"reply\",\"ticket\":\"INC-1\",\"id\":\"a\",\"text\":\"ok\"}", &m);
    assert_int_equal(m.type, DM_REPLY);
    desk_msg_fin(&m);
    good("{\"type\":\"link\",\"ticket\":\"INC-1\",\"item\":\"std-s004:8.3\"}", &m);
    assert_null(m.relation);
    desk_msg_fin(&m);
    good("{\"type\":\"link\",\"ticket\":\"INC-1\",\"item\":\"KB-1\",\"relation\":\"viewed\"}", &m);
    assert_string_equal(m.relation, "viewed");
    desk_msg_fin(&m);
    good("{\"type\":\"resolve\",\"ticket\":\"INC-1\",\"resolution\":\"done\"}", &m);
    assert_string_equal(m.resolution, "done");
    desk_msg_fin(&m);
    good("{\"type\":\"confirm\",\"ticket\":\"INC-1\",\"accepted\":true}", &m);
    assert_int_equal(m.accepted, 1);
    desk_msg_fin(&m);
    good("{\"type\":\"rate\",\"ticket\":\"INC-1\",\"score\":4,\"comment\":\"  \"}", &m);
    assert_int_equal(m.score, 4);
    assert_null(m.comment); /* blank is no comment */
    desk_msg_fin(&m);
    good("{\"type\":\"open\",\"ticket\":\"INC-1\"}", &m);
    assert_int_equal(m.type, DM_OPEN);
    desk_msg_fin(&m);
    good("{\"type\":\"typing\"}", &m);
    assert_int_equal(m.active, 1);
    assert_null(m.ticket);
    desk_msg_fin(&m);
    good("{\"type\":\"typing\",\"ticket\":\"INC-2\",\"active\":false}", &m);
    assert_int_equal(m.active, 0);
    desk_msg_fin(&m);
    good("{\"type\":\"ping\",\"id\":\"p\",\"extra\":[1,2]}", &m); /* extra fields are ignored */
    assert_int_equal(m.type, DM_PING);
    desk_msg_fin(&m);
    good("{\"type\":\"logout\"}", &m);
    assert_int_equal(m.type, DM_LOGOUT);
    desk_msg_fin(&m);
}

static void rejects_bad_frames(void **state)
{
    (void)state;
    bad("", P_BAD_JSON, NULL, NULL);
    bad("not json", P_BAD_JSON, NULL, NULL);
    bad("{\"type\":\"ping\"", P_BAD_JSON, NULL, NULL);
    bad("{\"type\":\"ping\",\"type\":\"queue\"}", P_BAD_JSON, NULL, NULL); /* duplicate key */
    bad("[1,2]", P_NOT_OBJECT, NULL, NULL);
    bad("42", P_NOT_OBJECT, NULL, NULL);
    bad("\"hello\"", P_NOT_OBJECT, NULL, NULL);
    /* encoding */
    bad("{\"type\":\"message\",\"id\":\"x\",\"text\":\"\xff\xfe\"}", P_BAD_ENCODING, NULL, NULL);
    bad("{\"type\":\"message\",\"id\":\"x\",\"text\":\"\xc0\xaf\"}", P_BAD_ENCODING, NULL, NULL);
    bad("{\"type\":\"message\",\"id\":\"x\",\"text\":\"\xe6\x88\"}", P_BAD_ENCODING, NULL, NULL);
    {
        const char nul[] = "{\"type\":\"ping\"}\0";
        struct desk_msg m;
        struct proto_error e;
        assert_int_equal(proto_parse(nul, sizeof nul - 1, &m, &e), P_BAD_ENCODING);
    }
    bad("{\"type\":\"message\",\"id\":\"x\",\"text\":\"a\\u0000b\"}", P_BAD_ENCODING, "text", "x");
    /* type */
    bad("{\"id\":\"i1\"}", P_MISSING_FIELD, "type", "i1");
    bad("{\"type\":7,\"id\":\"i2\"}", P_BAD_FIELD, "type", "i2");
    bad("{\"type\":\"dance\",\"id\":\"i3\"}", P_UNKNOWN_TYPE, "type", "i3");
    bad("{\"type\":\"catchup\"}", P_UNKNOWN_TYPE, "type", NULL); /* internal only */
    bad("{\"type\":\"Hello\",\"name\":\"x\"}", P_UNKNOWN_TYPE, "type", NULL);
    /* id */
    bad("{\"type\":\"ping\",\"id\":5}", P_BAD_FIELD, "id", NULL);
    bad("{\"type\":\"ping\",\"id\":\"\"}", P_BAD_FIELD, "id", NULL);
    {
        char big[400];
        memset(big, 'a', sizeof big);
        memcpy(big, "{\"type\":\"ping\",\"id\":\"", 21);
        memcpy(big + 21 + 129, "\"}", 3);
        bad(big, P_BAD_FIELD, "id", NULL); /* 129 characters */
    }
    /* missing fields */
    bad("{\"type\":\"message\",\"text\":\"hi\"}", P_MISSING_FIELD, "id", NULL);
    bad("{\"type\":\"message\",\"id\":\"m\"}", P_MISSING_FIELD, "text", "m");
    bad("{\"type\":\"hello\"}", P_MISSING_FIELD, "name", NULL);
    bad("{\"type\":\"hello\",\"resume\":{\"last_seq\":1}}", P_MISSING_FIELD, "resume.session", NULL);
    bad("{\"type\":\"login\",\"username\":\"a\"}", P_MISSING_FIELD, "password", NULL);
    bad("{\"type\":\"reply\",\"ticket\":\"INC-1\",\"text\":\"x\"}", P_MISSING_FIELD, "id", NULL);
    bad("{\"type\":\"take\",\"id\":\"t\"}", P_MISSING_FIELD, "ticket", "t");
    bad("{\"type\":\"escalate\",\"impact\":1}", P_MISSING_FIELD, "urgency", NULL);
    bad("{\"type\":\"feedback\",\"item\":\"KB-1\"}", P_MISSING_FIELD, "helpful", NULL);
    bad("{\"type\":\"confirm\",\"ticket\":\"INC-1\"}", P_MISSING_FIELD, "accepted", NULL);
    bad("{\"type\":\"rate\",\"ticket\":\"INC-1\"}", P_MISSING_FIELD, "score", NULL);
    bad("{\"type\":\"resolve\",\"ticket\":\"INC-1\"}", P_MISSING_FIELD, "resolution", NULL);
    /* ill-typed or out of range */
    bad("{\"type\":\"message\",\"id\":\"m\",\"text\":5}", P_BAD_FIELD, "text", "m");
    bad("{\"type\":\"message\",\"id\":\"m\",\"text\":\"\"}", P_BAD_FIELD, "text", "m");
    bad("{\"type\":\"message\",\"id\":\"m\",\"text\":\" \\n\\t \"}", P_BAD_FIELD, "text", "m");
    bad("{\"type\":\"escalate\",\"impact\":4,\"urgency\":1}", P_BAD_FIELD, "impact", NULL);
    bad("{\"type\":\"escalate\",\"impact\":\"1\",\"urgency\":1}", P_BAD_FIELD, "impact", NULL);
    bad("{\"type\":\"escalate\",\"impact\":1.5,\"urgency\":1}", P_BAD_FIELD, "impact", NULL);
    bad("{\"type\":\"escalate\",\"impact\":1,\"urgency\":0}", P_BAD_FIELD, "urgency", NULL);
    bad("{\"type\":\"feedback\",\"item\":\"KB-1\",\"helpful\":\"yes\"}", P_BAD_FIELD, "helpful", NULL);
    bad("{\"type\":\"rate\",\"ticket\":\"INC-1\",\"score\":6}", P_BAD_FIELD, "score", NULL);
    bad("{\"type\":\"take\",\"ticket\":\"123\"}", P_BAD_FIELD, "ticket", NULL);
    bad("{\"type\":\"take\",\"ticket\":\"INC-12a\"}", P_BAD_FIELD, "ticket", NULL);
    bad("{\"type\":\"take\",\"ticket\":\"INC-\"}", P_BAD_FIELD, "ticket", NULL);
    bad("{\"type\":\"hello\",\"role\":\"agent\",\"name\":\"x\"}", P_BAD_FIELD, "role", NULL);
    bad("{\"type\":\"hello\",\"name\":\"x\",\"email\":\"nope\"}", P_BAD_FIELD, "email", NULL);
    bad("{\"type\":\"hello\",\"resume\":\"tok\"}", P_BAD_FIELD, "resume", NULL);
    bad("{\"type\":\"hello\",\"resume\":{\"session\":\"t\",\"last_seq\":-1}}", P_BAD_FIELD,
        "resume.last_seq", NULL);
    bad("{\"type\":\"link\",\"ticket\":\"INC-1\",\"item\":\"KB-1\",\"relation\":\"loves\"}",
        P_BAD_FIELD, "relation", NULL);
    bad("{\"type\":\"typing\",\"active\":1}", P_BAD_FIELD, "active", NULL);
}

static void search_and_doc_frames(void **state)
{
    (void)state;
    struct desk_msg m;
    good("{\"type\":\"search\",\"id\":\"s1\",\"q\":\"域账号锁定 4740\"}", &m);
    assert_int_equal(m.type, DM_SEARCH);
    assert_string_equal(m.q, "域账号锁定 4740");
    assert_null(m.kind);
    assert_int_equal(m.limit, PROTO_SEARCH_LIMIT);
    assert_int_equal(m.offset, 0);
    assert_string_equal(proto_type_name(m.type), "search");
    desk_msg_fin(&m);
    assert_null(m.q);
    good("{\"type\":\"search\",\"q\":\"VPN\",\"kind\":\"known_error\",\"limit\":50,\"offset\":10}", &m);
    assert_string_equal(m.kind, "known_error");
    assert_int_equal(m.limit, 50);
    assert_int_equal(m.offset, 10);
    desk_msg_fin(&m);
    good("{\"type\":\"search\",\"q\":\"x\",\"kind\":\"article,known_error,standard\",\"limit\":null}", &m);
    assert_string_equal(m.kind, "article,known_error,standard");
    assert_int_equal(m.limit, PROTO_SEARCH_LIMIT);
    desk_msg_fin(&m);
    good("{\"type\":\"doc\",\"id\":\"d1\",\"item\":\"std-s004:8.3.4.1\"}", &m);
    assert_int_equal(m.type, DM_DOC);
    assert_string_equal(m.item, "std-s004:8.3.4.1");
    assert_string_equal(proto_type_name(m.type), "doc");
    desk_msg_fin(&m);

    bad("{\"type\":\"search\",\"id\":\"s\"}", P_MISSING_FIELD, "q", "s");
    bad("{\"type\":\"search\",\"q\":\"\"}", P_BAD_FIELD, "q", NULL);
    bad("{\"type\":\"search\",\"q\":\"  \\n \"}", P_BAD_FIELD, "q", NULL);
    bad("{\"type\":\"search\",\"q\":42}", P_BAD_FIELD, "q", NULL);
    bad("{\"type\":\"search\",\"q\":\"a\\u0000b\"}", P_BAD_ENCODING, "q", NULL);
    bad("{\"type\":\"search\",\"q\":\"x\",\"kind\":\"faq\"}", P_BAD_FIELD, "kind", NULL);
    bad("{\"type\":\"search\",\"q\":\"x\",\"kind\":\"article,\"}", P_BAD_FIELD, "kind", NULL);
    bad("{\"type\":\"search\",\"q\":\"x\",\"kind\":\"article, standard\"}", P_BAD_FIELD, "kind", NULL);
    bad("{\"type\":\"search\",\"q\":\"x\",\"kind\":\"\"}", P_BAD_FIELD, "kind", NULL);
    bad("{\"type\":\"search\",\"q\":\"x\",\"kind\":[\"article\"]}", P_BAD_FIELD, "kind", NULL);
    bad("{\"type\":\"search\",\"q\":\"x\",\"limit\":0}", P_BAD_FIELD, "limit", NULL);
    bad("{\"type\":\"search\",\"q\":\"x\",\"limit\":51}", P_BAD_FIELD, "limit", NULL);
    bad("{\"type\":\"search\",\"q\":\"x\",\"offset\":-1}", P_BAD_FIELD, "offset", NULL);
    bad("{\"type\":\"doc\",\"id\":\"d\"}", P_MISSING_FIELD, "item", "d");
    bad("{\"type\":\"doc\",\"item\":\"\"}", P_BAD_FIELD, "item", NULL);
    /* q: KB_SEARCH_MAX_QUERY bytes are fine, one more is not */
    size_t n = KB_SEARCH_MAX_QUERY;
    char *s = malloc(64 + n + 1);
    strcpy(s, "{\"type\":\"search\",\"q\":\"");
    char *p = s + strlen(s);
    memset(p, 'a', n);
    strcpy(p + n, "\"}");
    good(s, &m);
    assert_int_equal(strlen(m.q), KB_SEARCH_MAX_QUERY);
    desk_msg_fin(&m);
    memset(p, 'a', n + 1);
    strcpy(p + n + 1, "\"}");
    bad(s, P_BAD_FIELD, "q", NULL);
    free(s);
}

static void text_limits_count_characters(void **state)
{
    (void)state;
    /* 20000 Chinese characters (60000 bytes) are fine, 20001 are not */
    size_t n = 20001;
    char *s = malloc(64 + n * 3);
    strcpy(s, "{\"type\":\"message\",\"id\":\"m\",\"text\":\"");
    char *p = s + strlen(s);
    for (size_t i = 0; i < n - 1; i++, p += 3)
        memcpy(p, "字", 3);
    strcpy(p, "\"}");
    struct desk_msg m;
    good(s, &m);
    assert_int_equal(proto_utf8_chars(m.text), 20000);
    desk_msg_fin(&m);
    memcpy(p, "字\"}", 6);
    bad(s, P_BAD_FIELD, "text", "m");
    free(s);
}

static void error_frames_and_objects(void **state)
{
    (void)state;
    size_t len;
    char *f = proto_error_frame(P_FORBIDDEN, "agents only", "c-7", NULL, &len);
    assert_int_equal(strlen(f), len);
    json_t *o = json_loads(f, 0, NULL);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "type")), "error");
    assert_string_equal(json_string_value(json_object_get(o, "code")), "forbidden");
    assert_string_equal(json_string_value(json_object_get(o, "message")), "agents only");
    assert_string_equal(json_string_value(json_object_get(o, "id")), "c-7");
    assert_null(json_object_get(o, "field"));
    json_decref(o);
    free(f);
    f = proto_error_frame(P_MISSING_FIELD, "text is required", "", "text", NULL);
    o = json_loads(f, 0, NULL);
    assert_null(json_object_get(o, "id"));
    assert_string_equal(json_string_value(json_object_get(o, "field")), "text");
    json_decref(o);
    free(f);
    /* every code has a distinct wire name */
    for (int i = 1; i < P_NCODES; i++)
        for (int k = i + 1; k < P_NCODES; k++)
            assert_string_not_equal(proto_code_name(i), proto_code_name(k));
    assert_string_equal(proto_code_name(P_DB_UNAVAILABLE), "db_unavailable");
    assert_string_equal(proto_code_name(999), "internal");

    struct store_ticket t = {0};
    strcpy(t.number, "INC-000042");
    strcpy(t.status, "new");
    t.priority = 3;
    t.created_at = 1767225600;
    t.summary = "打印机脱机";
    t.requester_name = "王小明";
    o = proto_ticket_frame(&t, "e1");
    assert_string_equal(json_string_value(json_object_get(o, "type")), "ticket");
    assert_string_equal(json_string_value(json_object_get(o, "number")), "INC-000042");
    assert_int_equal(json_integer_value(json_object_get(o, "priority")), 3);
    assert_true(json_is_null(json_object_get(o, "agent")));
    assert_true(json_is_null(json_object_get(o, "resolved_at")));
    assert_true(json_is_null(json_object_get(o, "rating")));
    assert_int_equal(json_integer_value(json_object_get(o, "created_at")), 1767225600);
    assert_string_equal(json_string_value(json_object_get(o, "id")), "e1");
    json_decref(o);

    struct kb_hit h = {0};
    h.id = "KE-0005";
    h.kind = "known_error";
    h.title = "L2TP";
    h.snippet = "a <mark>b</mark>";
    h.workaround = "重启";
    h.visibility = "internal";
    o = proto_hit(&h);
    assert_string_equal(json_string_value(json_object_get(o, "workaround")), "重启");
    assert_string_equal(json_string_value(json_object_get(o, "visibility")), "internal");
    assert_null(json_object_get(o, "category"));
    assert_null(json_object_get(o, "clause"));
    json_decref(o);
    struct kb_hit sh = {0};
    sh.id = "std-s004:8.3.4.1";
    sh.kind = "standard";
    sh.title = "8.3.4.1 要求";
    sh.std = "s004";
    sh.clause = "8.3.4.1";
    sh.heading = "要求";
    o = proto_hit(&sh);
    assert_string_equal(json_string_value(json_object_get(o, "clause")), "8.3.4.1");
    assert_string_equal(json_string_value(json_object_get(o, "std")), "s004");
    assert_string_equal(json_string_value(json_object_get(o, "visibility")), "public");
    assert_null(json_object_get(o, "path"));
    json_decref(o);

    o = proto_message(1, "admin", "张工", "hi", 3, 0, "c1", "INC-1");
    assert_string_equal(json_string_value(json_object_get(o, "from")), "agent");
    assert_true(json_is_null(json_object_get(o, "at")));
    assert_int_equal(json_integer_value(json_object_get(o, "seq")), 3);
    json_decref(o);
}

/* kb_feedback: a reader's verdict on a document, comment optional. */
/* edit's "was": the values the editor started from */
static void edit_was_frames(void **state)
{
    (void)state;
    struct desk_msg m;
    good("{\"type\":\"edit\",\"ticket\":\"INC-000001\",\"category\":\"网络/VPN\",\"impact\":1,"
         "\"was\":{\"category\":\"网络\",\"impact\":2}}", &m);
    assert_string_equal(m.was_category, "网络");
    assert_int_equal(m.was_impact, 2);
    assert_null(m.was_summary);
    assert_int_equal(m.was_urgency, 0);
    desk_msg_fin(&m);
    /* a null category was none: "" (checked), not absent (unchecked) */
    good("{\"type\":\"edit\",\"ticket\":\"INC-000001\",\"category\":\"网络\",\"was\":{\"category\":null}}",
         &m);
    assert_string_equal(m.was_category, "");
    desk_msg_fin(&m);
    good("{\"type\":\"edit\",\"ticket\":\"INC-000001\",\"summary\":\"x\"}", &m);
    assert_null(m.was_summary);
    assert_null(m.was_category);
    desk_msg_fin(&m);
    bad("{\"type\":\"edit\",\"ticket\":\"INC-000001\",\"impact\":1,\"was\":[2]}", P_BAD_FIELD, "was",
        NULL);
    bad("{\"type\":\"edit\",\"ticket\":\"INC-000001\",\"impact\":1,\"was\":{\"impact\":9}}",
        P_BAD_FIELD, "was.impact", NULL);
    bad("{\"type\":\"edit\",\"ticket\":\"INC-000001\",\"impact\":1,\"was\":{\"priority\":1}}",
        P_BAD_FIELD, "was", NULL);
    bad("{\"type\":\"edit\",\"ticket\":\"INC-000001\",\"summary\":\"x\",\"was\":{\"summary\":5}}",
        P_BAD_FIELD, "was.summary", NULL);
    assert_string_equal(proto_code_name(P_CONFLICT), "conflict");
    /* leave: a ticket number, nothing else */
    good("{\"type\":\"leave\",\"ticket\":\"INC-000001\"}", &m);
    assert_int_equal(m.type, DM_LEAVE);
    assert_string_equal(m.ticket, "INC-000001");
    assert_string_equal(proto_type_name(m.type), "leave");
    desk_msg_fin(&m);
    bad("{\"type\":\"leave\"}", P_MISSING_FIELD, "ticket", NULL);
}

static void kb_feedback_frames(void **state)
{
    (void)state;
    struct desk_msg m;
    good("{\"type\":\"kb_feedback\",\"id\":\"f1\",\"item\":\"KE-0001\",\"verdict\":\"out_of_date\","
         "\"comment\":\"网关已更换\"}", &m);
    assert_int_equal(m.type, DM_KB_FEEDBACK);
    assert_string_equal(proto_type_name(m.type), "kb_feedback");
    assert_string_equal(m.item, "KE-0001");
    assert_string_equal(m.verdict, "out_of_date");
    assert_string_equal(m.comment, "网关已更换");
    desk_msg_fin(&m);
    good("{\"type\":\"kb_feedback\",\"item\":\"KB-0001\",\"verdict\":\"helpful\",\"comment\":\" \\n \"}", &m);
    assert_null(m.comment); /* blank: none */
    desk_msg_fin(&m);
    good("{\"type\":\"kb_feedback\",\"item\":\"KB-0001\",\"verdict\":\"not_helpful\",\"comment\":null}", &m);
    assert_null(m.comment);
    desk_msg_fin(&m);
    bad("{\"type\":\"kb_feedback\",\"item\":\"KB-1\",\"id\":\"x\"}", P_MISSING_FIELD, "verdict", "x");
    bad("{\"type\":\"kb_feedback\",\"verdict\":\"helpful\"}", P_MISSING_FIELD, "item", NULL);
    bad("{\"type\":\"kb_feedback\",\"item\":\"KB-1\",\"verdict\":\"great\"}", P_BAD_FIELD, "verdict", NULL);
    bad("{\"type\":\"kb_feedback\",\"item\":\"KB-1\",\"verdict\":true}", P_BAD_FIELD, "verdict", NULL);
    bad("{\"type\":\"kb_feedback\",\"item\":\"KB-1\",\"verdict\":\"helpful\",\"comment\":5}", P_BAD_FIELD,
        "comment", NULL);
    /* 2000 characters of comment are fine, 2001 are not */
    char buf[8000];
    for (int n = 2000; n <= 2001; n++) {
        int len = snprintf(buf, sizeof buf,
                           "{\"type\":\"kb_feedback\",\"item\":\"KB-1\",\"verdict\":\"helpful\",\"comment\":\"");
        for (int i = 0; i < n; i++)
            len += snprintf(buf + len, sizeof buf - (size_t)len, "长");
        snprintf(buf + len, sizeof buf - (size_t)len, "\"}");
        if (n == 2000) {
            good(buf, &m);
            assert_int_equal(proto_utf8_chars(m.comment), 2000);
            desk_msg_fin(&m);
        } else {
            bad(buf, P_BAD_FIELD, "comment", NULL);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_every_client_frame),
        cmocka_unit_test(rejects_bad_frames),
        cmocka_unit_test(search_and_doc_frames),
        cmocka_unit_test(kb_feedback_frames),
        cmocka_unit_test(edit_was_frames),
        cmocka_unit_test(text_limits_count_characters),
        cmocka_unit_test(error_frames_and_objects),
    };
    return cmocka_run_group_tests_name("desk_proto", tests, NULL, NULL);
}
