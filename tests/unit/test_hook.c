/* Unit tests for chatdesk's outgoing notifications (hook.c): HMAC-SHA256
 * against RFC 4231, each robot's documented JSON body, the DingTalk and
 * Feishu signatures and the integration webhook's signature header for
 * fixed clocks (expected values computed independently with Python's hmac),
 * and the refusals: unknown kind, payload that is not JSON, a webhook
 * without its secret. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "../../chatdesk/hook.h"

#define PAYLOAD                                                                                 \
    "{\"event\":\"created\",\"ticket\":{\"number\":\"INC-000007\",\"summary\":\"打印机脱机\","   \
    "\"status\":\"new\",\"priority\":3,\"team\":null,\"team_name\":null,\"agent\":null},"        \
    "\"actor\":\"张三\",\"delivery\":42}"

static void hmac_rfc4231(void **state)
{
    (void)state;
    char hex[65], b64[45];
    const char *data = "what do ya want for nothing?";
    hook_hmac_hex("Jefe", 4, data, strlen(data), hex);
    assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    hook_hmac_b64("Jefe", 4, data, strlen(data), b64);
    assert_string_equal(b64, "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=");
}

static json_t *body_of(const struct hook_request *r)
{
    json_t *o = json_loads(r->body, 0, NULL);
    assert_non_null(o);
    return o;
}

static void wecom_markdown(void **state)
{
    (void)state;
    struct hook_request r;
    char err[128];
    assert_int_equal(hook_request("wecom", "http://127.0.0.1:9/w?key=k", NULL, PAYLOAD, 1, &r, err,
                                  sizeof err), 0);
    assert_string_equal(r.url, "http://127.0.0.1:9/w?key=k");
    assert_null(r.headers[0]);
    json_t *o = body_of(&r);
    assert_int_equal(json_object_size(o), 2);
    assert_string_equal(json_string_value(json_object_get(o, "msgtype")), "markdown");
    json_t *md = json_object_get(o, "markdown");
    assert_int_equal(json_object_size(md), 1);
    const char *c = json_string_value(json_object_get(md, "content"));
    assert_non_null(strstr(c, "INC-000007"));
    assert_non_null(strstr(c, "打印机脱机"));
    assert_non_null(strstr(c, "张三"));
    json_decref(o);
    hook_request_fin(&r);
}

static void dingtalk_signed(void **state)
{
    (void)state;
    struct hook_request r;
    char err[128];
    assert_int_equal(hook_request("dingtalk", "http://127.0.0.1:9/robot/send?access_token=t",
                                  "SECabc", PAYLOAD, 1700000000123LL, &r, err, sizeof err), 0);
    assert_string_equal(r.url, "http://127.0.0.1:9/robot/send?access_token=t&timestamp=1700000000123"
                               "&sign=IqXBU%2FaLfwMA3S%2FtDcfRmHx5vWHw9Y1aOgFLBr1Ti9w%3D");
    json_t *o = body_of(&r);
    assert_string_equal(json_string_value(json_object_get(o, "msgtype")), "markdown");
    json_t *md = json_object_get(o, "markdown");
    assert_non_null(strstr(json_string_value(json_object_get(md, "title")), "INC-000007"));
    assert_non_null(strstr(json_string_value(json_object_get(md, "text")), "打印机脱机"));
    json_decref(o);
    hook_request_fin(&r);
    /* without a secret: the URL as it is, with no query added */
    assert_int_equal(hook_request("dingtalk", "http://127.0.0.1:9/d", NULL, PAYLOAD, 5, &r, err,
                                  sizeof err), 0);
    assert_string_equal(r.url, "http://127.0.0.1:9/d");
    hook_request_fin(&r);
}

static void feishu_signed(void **state)
{
    (void)state;
    struct hook_request r;
    char err[128];
    assert_int_equal(hook_request("feishu", "http://127.0.0.1:9/f", "fsecret", PAYLOAD,
                                  1700000000999LL, &r, err, sizeof err), 0);
    json_t *o = body_of(&r);
    assert_string_equal(json_string_value(json_object_get(o, "msg_type")), "text");
    assert_non_null(strstr(json_string_value(json_object_get(json_object_get(o, "content"), "text")),
                           "INC-000007"));
    assert_string_equal(json_string_value(json_object_get(o, "timestamp")), "1700000000");
    assert_string_equal(json_string_value(json_object_get(o, "sign")),
                        "HLzt7YDW5Xjz5Mh4RVOd0NRODMm01O79OcTFVCyWBbQ=");
    json_decref(o);
    hook_request_fin(&r);
}

static void webhook_signature(void **state)
{
    (void)state;
    struct hook_request r;
    char err[128];
    assert_int_equal(hook_request("webhook", "https://127.0.0.1:9/h", "integration-secret-01",
                                  PAYLOAD, 1700000000999LL, &r, err, sizeof err), 0);
    assert_string_equal(r.body, PAYLOAD); /* signed as sent, byte for byte */
    assert_string_equal(r.headers[0], "X-Kbdesk-Signature: sha256="
                                      "be1bf411ee0d482d7175173d4699ac712d00ef5bf5cbea459f5eb1598ba52442");
    assert_string_equal(r.headers[1], "X-Kbdesk-Delivery: 42");
    assert_string_equal(r.headers[2], "X-Kbdesk-Timestamp: 1700000000");
    assert_string_equal(r.headers[3], "X-Kbdesk-Event: created");
    hook_request_fin(&r);
}

static void refusals(void **state)
{
    (void)state;
    struct hook_request r;
    char err[128];
    assert_int_equal(hook_request("slack", "http://x/", NULL, PAYLOAD, 1, &r, err, sizeof err), -1);
    assert_non_null(strstr(err, "slack"));
    assert_int_equal(hook_request("wecom", "http://x/", NULL, "[1,2]", 1, &r, err, sizeof err), -1);
    assert_int_equal(hook_request("feishu", "http://x/", NULL, "{not json", 1, &r, err, sizeof err),
                     -1);
    assert_int_equal(hook_request("webhook", "http://x/", NULL, PAYLOAD, 1, &r, err, sizeof err), -1);
    assert_non_null(strstr(err, "secret"));
    assert_null(r.url);
    assert_null(hook_text("nope"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hmac_rfc4231),     cmocka_unit_test(wecom_markdown),
        cmocka_unit_test(dingtalk_signed),  cmocka_unit_test(feishu_signed),
        cmocka_unit_test(webhook_signature), cmocka_unit_test(refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
