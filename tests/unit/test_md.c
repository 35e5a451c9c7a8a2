/* Unit tests for kb_md (article / known-error files) and kb_doc (JSON). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "kb_doc.h"
#include "kb_md.h"
#include "kb_util.h"

static struct kb_doc *parse_ok(const char *text)
{
    struct kb_doc *d = NULL;
    int line = -1;
    char err[KB_ERR_MAX] = "";
    int rc = kb_md_parse(text, strlen(text), "articles/x.md", &d, &line, err, sizeof err);
    if (rc != 0)
        fail_msg("parse failed at line %d: %s", line, err);
    assert_non_null(d);
    return d;
}

static void parse_err(const char *text, int want_line, const char *want_msg)
{
    struct kb_doc *d = (struct kb_doc *)1;
    int line = -1;
    char err[KB_ERR_MAX] = "";
    assert_int_equal(kb_md_parse(text, strlen(text), "x.md", &d, &line, err, sizeof err), -1);
    assert_null(d);
    if (line != want_line || !strstr(err, want_msg))
        fail_msg("got line %d '%s', want line %d '%s'", line, err, want_line, want_msg);
}

static void article_fields(void **state)
{
    (void)state;
    struct kb_doc *d = parse_ok("---\n"
                                "id: KB-0001\n"
                                "kind: article\n"
                                "title: VPN 连接失败：错误 809\n"
                                "category: 网络/VPN\n"
                                "tags: VPN, L2TP\n"
                                "product: Windows 10\n"
                                "lang: zh\n"
                                "visibility: internal\n"
                                "updated: 2026-05-12\n"
                                "---\n"
                                "## 现象\n\n提示错误 809。\n");
    assert_int_equal(d->kind, KB_KIND_ARTICLE);
    assert_string_equal(d->id, "KB-0001");
    assert_string_equal(d->title, "VPN 连接失败：错误 809");
    assert_string_equal(d->category, "网络/VPN");
    assert_string_equal(d->tags, "VPN, L2TP");
    assert_string_equal(d->visibility, "internal");
    assert_string_equal(d->updated, "2026-05-12");
    assert_string_equal(d->body, "## 现象\n\n提示错误 809。");
    assert_string_equal(d->source, "articles/x.md");
    kb_doc_free(d);
}

static void article_defaults(void **state)
{
    (void)state;
    struct kb_doc *d = parse_ok("\xEF\xBB\xBF---\r\nid: KB-9\r\nkind: article\r\ntitle: Outlook "
                                "cannot connect\r\n---\r\nOutlook shows error 0x800CCC0E when "
                                "sending mail through the SMTP server.\r\n");
    assert_string_equal(d->visibility, "public");
    assert_string_equal(d->lang, "en");
    assert_null(d->category);
    kb_doc_free(d);
    d = parse_ok("---\nid: KB-10\nkind: article\ntitle: 打印机脱机\n---\n打印机显示脱机，无法打印文档，"
                 "请检查网络连接和打印队列。\n");
    assert_string_equal(d->lang, "zh");
    kb_doc_free(d);
}

static void known_error_sections(void **state)
{
    (void)state;
    struct kb_doc *d = parse_ok("---\n"
                                "id: KE-0001\n"
                                "kind: known_error\n"
                                "title: 证书过期\n"
                                "service: 远程接入 VPN\n"
                                "status: workaround\n"
                                "---\n"
                                "前言文字\n"
                                "## 症状\n客户端提示证书不受信任。\n"
                                "## 原因\n网关证书过期。\n"
                                "## 临时解决方案\n1. 手动信任。\n2. 重连。\n"
                                "## 解决方案\n更换证书，CHG-2026-0142。\n");
    assert_int_equal(d->kind, KB_KIND_KNOWN_ERROR);
    assert_string_equal(d->symptom, "客户端提示证书不受信任。");
    assert_string_equal(d->cause, "网关证书过期。");
    assert_string_equal(d->workaround, "1. 手动信任。\n2. 重连。");
    assert_string_equal(d->resolution, "更换证书，CHG-2026-0142。");
    assert_string_equal(d->service, "远程接入 VPN");
    assert_string_equal(d->status, "workaround");
    assert_string_equal(d->body, "前言文字");
    kb_doc_free(d);
    d = parse_ok("---\nid: KE-2\nkind: known_error\ntitle: Queue stuck\n---\n"
                 "## Symptom\nMail stays in the queue.\n## Workaround\nRestart transport.\n");
    assert_string_equal(d->symptom, "Mail stays in the queue.");
    assert_string_equal(d->workaround, "Restart transport.");
    assert_null(d->cause);
    assert_string_equal(d->status, "open");
    kb_doc_free(d);
}

static void malformed_files(void **state)
{
    (void)state;
    parse_err("", 1, "missing header");
    parse_err("id: x\n", 1, "missing header");
    parse_err("---\nid: a\nkind: article\ntitle: t\n", 4, "not closed");
    parse_err("---\nid: a\nkind article\n---\n", 3, "not 'key: value'");
    parse_err("---\nid: a\nkind: article\ntitle: t\ncolour: red\n---\n", 5, "unknown header field 'colour'");
    parse_err("---\nid: a\nid: b\nkind: article\ntitle: t\n---\n", 3, "given twice (first on line 2)");
    parse_err("---\nkind: article\ntitle: t\n---\n", 1, "'id' is missing");
    parse_err("---\nid: a\nkind: memo\ntitle: t\n---\n", 3, "kind must be");
    parse_err("---\nid: a b\nkind: article\ntitle: t\n---\n", 2, "id 'a b'");
    parse_err("---\nid: a\nkind: article\ntitle: t\nvisibility: secret\n---\n", 5, "visibility");
    parse_err("---\nid: a\nkind: article\ntitle: t\nupdated: 2026-13-01\n---\n", 5, "updated");
    parse_err("---\nid: a\nkind: article\ntitle: t\nstatus: open\n---\n", 5, "known errors only");
    parse_err("---\nid: a\nkind: known_error\ntitle: t\n---\n## 原因\nx\n", 6, "no symptom");
    parse_err("---\nid: a\nkind: article\ntitle: t\n---\nok\nbad \xff here\n", 7, "invalid UTF-8");
}

static void malformed_nul(void **state)
{
    (void)state;
    const char text[] = "---\nid: a\nkind: article\ntitle: t\n---\nnul \0 byte\n";
    struct kb_doc *d = NULL;
    int line = 0;
    char err[KB_ERR_MAX];
    assert_int_equal(kb_md_parse(text, sizeof text - 1, "x.md", &d, &line, err, sizeof err), -1);
    assert_int_equal(line, 6);
}

static void doc_json_roundtrip(void **state)
{
    (void)state;
    struct kb_doc *d = kb_doc_new(KB_KIND_STANDARD);
    kb_doc_set(&d->id, "std-gbt34077.5-2020:8.3");
    kb_doc_set(&d->clause, "8.3");
    kb_doc_set(&d->heading, "服务台 \"quoted\"\n");
    d->source_line = 42;
    char *json = kb_doc_to_json(d);
    char err[KB_ERR_MAX];
    struct kb_doc *e = kb_doc_from_json(json, strlen(json), err, sizeof err);
    assert_non_null(e);
    assert_int_equal(e->kind, KB_KIND_STANDARD);
    assert_string_equal(e->id, d->id);
    assert_string_equal(e->heading, d->heading);
    assert_int_equal(e->source_line, 42);
    assert_null(e->body);
    free(json);
    kb_doc_free(d);
    kb_doc_free(e);
    assert_null(kb_doc_from_json("{\"kind\":\"memo\"}", 15, err, sizeof err));
    assert_non_null(strstr(err, "kind"));
    assert_null(kb_doc_from_json("[1", 2, err, sizeof err));
    kb_doc_free(NULL);
    assert_int_equal(kb_kind_parse("known_error"), KB_KIND_KNOWN_ERROR);
    assert_int_equal(kb_kind_parse(NULL), -1);
    assert_true(kb_kind_valid("standard,x", 8)); /* n bytes, not up to a NUL */
    assert_true(kb_kind_valid("known_error", 11));
    assert_false(kb_kind_valid("known_erro", 10));
    assert_false(kb_kind_valid("article ", 8));
    assert_false(kb_kind_valid("", 0));
}

/* The stored form: packed documents read back whole; a short one stays
 * plain JSON; plain JSON (older indexes) is still read; a damaged frame is
 * an error with a message, at every truncation and with flipped bytes. */
static void doc_pack_unpack(void **state)
{
    (void)state;
    char err[KB_ERR_MAX];
    struct kb_doc *d = kb_doc_new(KB_KIND_KNOWN_ERROR);
    kb_doc_set(&d->id, "KE-0001");
    kb_doc_set(&d->title, "VPN 错误 809");
    struct kb_buf b;
    kb_buf_init(&b);
    for (int i = 0; i < 200; i++)
        kb_buf_printf(&b, "第 %d 段：L2TP 连接失败，检查 NAT-T 设置 \"quoted\"\n", i);
    kb_doc_set(&d->body, b.data);
    kb_buf_fin(&b);
    size_t len = 0;
    char *packed = kb_doc_pack(d, NULL, &len);
    char *json = kb_doc_to_json(d);
    assert_true(len < strlen(json) / 4); /* repetitive text: well compressed */
    assert_int_equal((unsigned char)packed[0], 0x28);
    struct kb_doc *e = kb_doc_unpack(packed, len, err, sizeof err);
    assert_non_null(e);
    assert_string_equal(e->body, d->body);
    assert_string_equal(e->title, d->title);
    assert_int_equal(e->kind, KB_KIND_KNOWN_ERROR);
    kb_doc_free(e);
    e = kb_doc_unpack(json, strlen(json), err, sizeof err); /* plain JSON */
    assert_non_null(e);
    assert_string_equal(e->body, d->body);
    kb_doc_free(e);
    for (size_t cut = 0; cut < len; cut += cut < 64 ? 1 : 97) {
        err[0] = '\0';
        assert_null(kb_doc_unpack(packed, cut, err, sizeof err));
        assert_true(err[0] != '\0');
    }
    char *bad = kb_xmalloc(len);
    for (size_t at = 4; at < len; at += 3) {
        memcpy(bad, packed, len);
        bad[at] ^= 0x5A;
        err[0] = '\0';
        assert_null(kb_doc_unpack(bad, len, err, sizeof err)); /* the checksum */
        assert_true(err[0] != '\0');
    }
    free(bad);
    free(packed);
    free(json);
    kb_doc_free(d);
    d = kb_doc_new(KB_KIND_ARTICLE);
    kb_doc_set(&d->id, "a");
    packed = kb_doc_pack(d, NULL, &len);
    assert_int_equal(packed[0], '{'); /* too short to gain: kept as JSON */
    e = kb_doc_unpack(packed, len, err, sizeof err);
    assert_non_null(e);
    assert_string_equal(e->id, "a");
    kb_doc_free(e);
    free(packed);
    kb_doc_free(d);
}

/* The reference reading of stored JSON: jansson, field by field, as
 * kb_doc_from_json did before its fast path. NULL where jansson fails. */
static const char *const ref_fields[] = {
    "id", "title", "body", "visibility", "source", "category", "tags", "product", "lang",
    "updated", "symptom", "cause", "workaround", "resolution", "service", "status",
    "std_code", "std_title", "clause", "heading", "path",
};

static char **doc_field(struct kb_doc *d, size_t i)
{
    char **f[] = {&d->id, &d->title, &d->body, &d->visibility, &d->source, &d->category,
                  &d->tags, &d->product, &d->lang, &d->updated, &d->symptom, &d->cause,
                  &d->workaround, &d->resolution, &d->service, &d->status, &d->std_code,
                  &d->std_title, &d->clause, &d->heading, &d->path};
    return f[i];
}

/* The reference for kb_doc_to_json: the Jansson object it used to build,
 * dumped compact and in order. */
static char *ref_to_json(struct kb_doc *d)
{
    json_t *o = json_object();
    json_object_set_new(o, "kind", json_string(kb_kind_name(d->kind)));
    for (size_t i = 0; i < sizeof ref_fields / sizeof *ref_fields; i++)
        if (*doc_field(d, i))
            json_object_set_new(o, ref_fields[i], json_string(*doc_field(d, i)));
    if (d->source_line)
        json_object_set_new(o, "source_line", json_integer(d->source_line));
    if (d->body_composed)
        json_object_set_new(o, "body_composed", json_true());
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return s;
}

static void expect_as_jansson(const char *json, size_t len)
{
    char err[KB_ERR_MAX];
    struct kb_doc *d = kb_doc_from_json(json, len, err, sizeof err);
    json_error_t je;
    json_t *o = json_loadb(json, len, 0, &je);
    int kind = o && json_is_object(o) ? kb_kind_parse(json_string_value(json_object_get(o, "kind")))
                                      : -1;
    if (kind < 0) {
        if (d)
            fail_msg("parsed what jansson rejects: %.*s", (int)len, json);
        json_decref(o);
        return;
    }
    if (!d)
        fail_msg("rejected what jansson reads: %.*s (%s)", (int)len, json, err);
    assert_int_equal(d->kind, kind);
    for (size_t i = 0; i < sizeof ref_fields / sizeof *ref_fields; i++) {
        const char *want = json_string_value(json_object_get(o, ref_fields[i]));
        const char *got = *doc_field(d, i);
        if (!want)
            assert_null(got);
        else
            assert_string_equal(got, want);
    }
    json_t *line = json_object_get(o, "source_line");
    assert_int_equal(d->source_line, json_is_integer(line) ? (int)json_integer_value(line) : 0);
    assert_int_equal(d->body_composed, json_is_true(json_object_get(o, "body_composed")));
    json_decref(o);
    kb_doc_free(d);
}

/* Whatever the input, kb_doc_from_json gives what jansson gives: the fast
 * path for kb_doc_to_json's output, and every case it hands to jansson. */
static void doc_json_matches_jansson(void **state)
{
    (void)state;
    static const char *const cases[] = {
        "{\"kind\":\"article\",\"title\":\"a\\u00e9\\ud83d\\ude00\\n\\\"\\\\\\/\\b\\f\\r\\t\",\"body\":\"x\"}",
        " {\"title\" : \"x\" ,\n\"kind\":\"known_error\"} ",
        "{\"kind\":\"article\",\"title\":null}",
        "{\"kind\":\"article\",\"source_line\":\"12\"}",
        "{\"kind\":\"article\",\"source_line\":12.5}",
        "{\"kind\":\"article\",\"source_line\":-3}",
        "{\"kind\":\"article\",\"source_line\":12345678901}",
        "{\"kind\":\"article\",\"source_line\":7,\"body_composed\":true}",
        "{\"kind\":\"article\",\"body_composed\":false}",
        "{\"kind\":\"article\",\"x\":{\"a\":[1,2]},\"title\":\"t\"}",
        "{\"kind\":\"article\",\"extra\":\"ignored\",\"title\":\"t\"}",
        "{\"kind\":\"article\"} trailing",
        "{\"kind\":\"article\",\"title\":\"\\u0000\"}",
        "{\"kind\":\"article\",\"title\":\"lone \\ud800 high\"}",
        "{\"kind\":\"article\",\"title\":\"lone \\udc00 low\"}",
        "{\"kind\":\"article\",\"title\":\"\\u12\"}",
        "{\"kind\":\"article\",\"title\":\"\\q\"}",
        "{\"kind\":\"article\",\"title\":\"raw\tcontrol\"}",
        /* past the eight-byte stride's first steps */
        "{\"kind\":\"article\",\"title\":\"0123456789abcdefghij\tcontrol\"}",
        "{\"kind\":\"article\",\"title\":\"0123456789abcdefghijk\\\"q\\\\b\"}",
        "{\"kind\":\"article\",\"title\":\"0123456789abcdefghijkl\x7f\x1f\"}",
        "{\"kind\":\"article\",\"title\":\"0123456789abcdefghijklmnop",
        "{\"kind\":\"article\",\"title\":\"bad \xff utf8\"}",
        "{\"kind\":\"article\",\"kind\":\"standard\"}",
        "{\"kind\":\"memo\"}",
        "{\"kind\":7}",
        "{}",
        "[]",
        "",
        "{\"kind\":\"article\",}",
        "{\"kind\":\"article\" \"title\":\"t\"}",
        "{\"kind\":\"article\",\"title\":\"unterminated}",
        "{\"kind\":\"article\",\"title\":\"t\"",
        /* the closing quote after runs of backslashes (even: it closes;
           odd: it is escaped) and escapes past the eight-byte stride */
        "{\"kind\":\"article\",\"title\":\"ab\\\\\\\\\",\"body\":\"x\"}",
        "{\"kind\":\"article\",\"title\":\"ab\\\\\\\"\",\"body\":\"x\"}",
        "{\"kind\":\"article\",\"title\":\"\\\\\"}",
        "{\"kind\":\"article\",\"title\":\"ab\\\"}",
        "{\"kind\":\"article\",\"title\":\"ab\\\\\\\"}",
        "{\"kind\":\"article\",\"body\":\"0123456789服务台\\n服务台\\\"end\\u00e9\\\\\"}",
        "{\"kind\":\"article\",\"body\":\"0123456789abcdefgh\\ud83d\\ude00\\ud83d\"}",
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        expect_as_jansson(cases[i], strlen(cases[i]));
    /* a NUL inside the buffer */
    expect_as_jansson("{\"kind\":\"article\",\"title\":\"a\0b\"}", 32);
    /* random documents through kb_doc_to_json: read back exactly */
    static const char *const bits[] = {"a", "Z", " ", "\"", "\\", "/", "\n", "\t", "\x01",
                                       "\x1f", "服务台", "é", "😀", "{", "}", ":", ","};
    uint64_t seed = 20261202;
    for (int iter = 0; iter < 500; iter++) {
        struct kb_doc *d = kb_doc_new((enum kb_kind)(iter % 3));
        for (size_t f = 0; f < sizeof ref_fields / sizeof *ref_fields; f++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            if ((seed >> 61) < 3)
                continue; /* field left unset */
            char buf[256] = "";
            size_t n = (seed >> 33) % 12;
            for (size_t k = 0; k < n; k++) {
                seed = seed * 6364136223846793005ull + 1442695040888963407ull;
                strcat(buf, bits[(seed >> 35) % (sizeof bits / sizeof *bits)]);
            }
            kb_doc_set(doc_field(d, f), buf);
        }
        d->source_line = iter;
        d->body_composed = iter % 2;
        if (iter % 50 == 7)
            kb_doc_set(&d->tags, "bad \xff utf8"); /* left out, as Jansson did */
        char *json = kb_doc_to_json(d);
        char *want = ref_to_json(d);
        assert_string_equal(json, want);
        free(want);
        expect_as_jansson(json, strlen(json));
        char err[KB_ERR_MAX];
        struct kb_doc *e = kb_doc_from_json(json, strlen(json), err, sizeof err);
        assert_non_null(e);
        for (size_t f = 0; f < sizeof ref_fields / sizeof *ref_fields; f++) {
            if (*doc_field(d, f) && !(iter % 50 == 7 && *doc_field(d, f) == d->tags))
                assert_string_equal(*doc_field(e, f), *doc_field(d, f));
            else
                assert_null(*doc_field(e, f));
        }
        assert_int_equal(e->source_line, iter);
        assert_int_equal(e->body_composed, iter % 2);
        free(json);
        kb_doc_free(d);
        kb_doc_free(e);
    }
}

/* kb_md_print writes what kb_md_parse reads back, field for field: an
 * article, and a known error with text outside its sections, an unknown
 * heading in it and a section missing. */
static void print_parse_roundtrip(void **state)
{
    (void)state;
    static const char *const files[] = {
        "---\nid: KB-7\nkind: article\ntitle: 打印机\ncategory: 外设\ntags: a, b\n"
        "product: HP\nlang: zh\nvisibility: internal\nupdated: 2026-01-02\n---\n"
        "## 步骤\n1. 重启\n\n2. 再试\n",
        "---\nid: KE-7\nkind: known_error\ntitle: 邮件延迟\nservice: 邮件\n"
        "status: workaround\nvisibility: public\n---\n前言\n\n## 症状\n晚到\n\n## 背景\n"
        "旧系统\n\n## 临时解决方案\n等待\n",
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        struct kb_doc *a = parse_ok(files[i]);
        char *text = kb_md_print(a);
        assert_non_null(text);
        struct kb_doc *b = parse_ok(text);
        kb_doc_set(&a->source, NULL);
        kb_doc_set(&b->source, NULL);
        char *ja = kb_doc_to_json(a), *jb = kb_doc_to_json(b);
        assert_string_equal(jb, ja);
        free(ja);
        free(jb);
        free(text);
        kb_doc_free(a);
        kb_doc_free(b);
    }
    struct kb_doc *std = kb_doc_new(KB_KIND_STANDARD);
    assert_null(kb_md_print(std));
    kb_doc_free(std);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(article_fields),
        cmocka_unit_test(article_defaults),
        cmocka_unit_test(known_error_sections),
        cmocka_unit_test(malformed_files),
        cmocka_unit_test(malformed_nul),
        cmocka_unit_test(doc_json_roundtrip),
        cmocka_unit_test(doc_json_matches_jansson),
        cmocka_unit_test(doc_pack_unpack),
        cmocka_unit_test(print_parse_roundtrip),
    };
    return cmocka_run_group_tests_name("md", tests, NULL, NULL);
}
