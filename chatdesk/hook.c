/* hook: the robots' bodies, the signatures and the HTTP POST of the
 * outgoing notifications (see hook.h). */
#include "hook.h"
#include "kb_util.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void hmac(const char *key, size_t klen, const char *msg, size_t mlen,
                 unsigned char mac[crypto_auth_hmacsha256_BYTES])
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)key, klen);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)msg, mlen);
    crypto_auth_hmacsha256_final(&st, mac);
}

void hook_hmac_b64(const char *key, size_t klen, const char *msg, size_t mlen, char *out)
{
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    hmac(key, klen, msg, mlen, mac);
    sodium_bin2base64(out, 45, mac, sizeof mac, sodium_base64_VARIANT_ORIGINAL);
}

void hook_hmac_hex(const char *key, size_t klen, const char *msg, size_t mlen, char *out)
{
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    hmac(key, klen, msg, mlen, mac);
    sodium_bin2hex(out, 65, mac, sizeof mac);
}

static const char *jstr(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* The event types in words (Chinese / English). */
static const char *event_words(const char *e)
{
    static const char *const t[][2] = {
        {"created", "新工单 / New ticket"},
        {"taken", "已接手 / Taken"},
        {"replied", "已回复 / Replied"},
        {"resolved", "已解决 / Resolved"},
        {"reopened", "重新打开 / Reopened"},
        {"confirmed", "已确认 / Confirmed"},
        {"closed", "已关闭 / Closed"},
        {"auto_closed", "自动关闭 / Closed automatically"},
        {"rated", "已评价 / Rated"},
        {"sla_warning", "SLA 即将超时 / SLA warning"},
        {"sla_breach", "SLA 已超时 / SLA breached"},
        {"assigned", "已分配 / Assigned"},
        {"transferred", "已转派 / Transferred"},
        {"merged", "已合并 / Merged"},
        {"edited", "已修改 / Edited"},
        {"noted", "内部备注 / Internal note"},
        {"pending", "等待用户反馈 / Waiting for the requester"},
        {"resumed", "已恢复处理 / Resumed"},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        if (strcmp(t[i][0], e) == 0)
            return t[i][1];
    return e;
}

char *hook_text(const char *payload)
{
    json_t *p = json_loads(payload, 0, NULL);
    if (!json_is_object(p)) {
        json_decref(p);
        return NULL;
    }
    json_t *t = json_object_get(p, "ticket");
    struct kb_buf b;
    kb_buf_init(&b);
    kb_buf_adds(&b, "**");
    kb_buf_adds(&b, event_words(jstr(p, "event")));
    kb_buf_adds(&b, "** ");
    kb_buf_adds(&b, jstr(t, "number"));
    kb_buf_adds(&b, "\n\n");
    kb_buf_adds(&b, jstr(t, "summary"));
    kb_buf_adds(&b, "\n\n");
    const char *team = jstr(t, "team_name"), *agent = jstr(t, "agent"), *actor = jstr(p, "actor");
    char line[64];
    snprintf(line, sizeof line, "> 状态 / status: %s", jstr(t, "status"));
    kb_buf_adds(&b, line);
    json_int_t prio = json_integer_value(json_object_get(t, "priority"));
    if (prio) {
        snprintf(line, sizeof line, ", P%d", (int)prio);
        kb_buf_adds(&b, line);
    }
    if (*team) {
        kb_buf_adds(&b, "\n> 团队 / team: ");
        kb_buf_adds(&b, team);
    }
    if (*agent) {
        kb_buf_adds(&b, "\n> 处理人 / agent: ");
        kb_buf_adds(&b, agent);
    }
    if (*actor) {
        kb_buf_adds(&b, "\n> 操作人 / by: ");
        kb_buf_adds(&b, actor);
    }
    json_decref(p);
    return kb_buf_take(&b);
}

static char *dump(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

int hook_request(const char *kind, const char *url, const char *secret, const char *payload,
                 int64_t now_ms, struct hook_request *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    int webhook = strcmp(kind, "webhook") == 0;
    if (webhook) {
        json_t *p = json_loads(payload, 0, NULL);
        int ok = json_is_object(p);
        const char *ev = ok ? json_string_value(json_object_get(p, "event")) : NULL;
        json_int_t id = ok ? json_integer_value(json_object_get(p, "delivery")) : 0;
        if (!ok || !secret || !*secret) {
            json_decref(p);
            kb_seterr(err, errlen, ok ? "a webhook needs its secret" : "payload is not JSON");
            return -1;
        }
        out->url = kb_xstrdup(url);
        out->body = kb_xstrdup(payload);
        char hex[65], h[128];
        hook_hmac_hex(secret, strlen(secret), payload, strlen(payload), hex);
        snprintf(h, sizeof h, "X-Kbdesk-Signature: sha256=%s", hex);
        out->headers[0] = kb_xstrdup(h);
        snprintf(h, sizeof h, "X-Kbdesk-Delivery: %lld", (long long)id);
        out->headers[1] = kb_xstrdup(h);
        snprintf(h, sizeof h, "X-Kbdesk-Timestamp: %lld", (long long)(now_ms / 1000));
        out->headers[2] = kb_xstrdup(h);
        snprintf(h, sizeof h, "X-Kbdesk-Event: %.64s", ev ? ev : "");
        out->headers[3] = kb_xstrdup(h);
        json_decref(p);
        return 0;
    }
    int wecom = strcmp(kind, "wecom") == 0, ding = strcmp(kind, "dingtalk") == 0,
        feishu = strcmp(kind, "feishu") == 0;
    if (!wecom && !ding && !feishu) {
        kb_seterr(err, errlen, "unknown robot kind '%s'", kind);
        return -1;
    }
    char *text = hook_text(payload);
    if (!text) {
        kb_seterr(err, errlen, "payload is not JSON");
        return -1;
    }
    if (wecom) {
        out->url = kb_xstrdup(url);
        out->body = dump(json_pack("{s:s, s:{s:s}}", "msgtype", "markdown", "markdown",
                                   "content", text));
    } else if (ding) {
        json_t *p = json_loads(payload, 0, NULL);
        char title[160];
        snprintf(title, sizeof title, "%s %s", event_words(jstr(p, "event")),
                 jstr(json_object_get(p, "ticket"), "number"));
        json_decref(p);
        out->body = dump(json_pack("{s:s, s:{s:s, s:s}}", "msgtype", "markdown", "markdown",
                                   "title", title, "text", text));
        if (secret && *secret) {
            char ts[32], b64[45];
            snprintf(ts, sizeof ts, "%lld", (long long)now_ms);
            size_t n = strlen(ts) + 1 + strlen(secret);
            char *msg = kb_xmalloc(n + 1);
            snprintf(msg, n + 1, "%s\n%s", ts, secret);
            hook_hmac_b64(secret, strlen(secret), msg, n, b64);
            free(msg);
            char *enc = curl_easy_escape(NULL, b64, 0);
            size_t ul = strlen(url) + strlen(ts) + strlen(enc ? enc : "") + 32;
            out->url = kb_xmalloc(ul);
            snprintf(out->url, ul, "%s%stimestamp=%s&sign=%s", url, strchr(url, '?') ? "&" : "?",
                     ts, enc ? enc : "");
            curl_free(enc);
        } else {
            out->url = kb_xstrdup(url);
        }
    } else {
        json_t *b = json_pack("{s:s, s:{s:s}}", "msg_type", "text", "content", "text", text);
        if (secret && *secret) {
            char ts[32], b64[45];
            snprintf(ts, sizeof ts, "%lld", (long long)(now_ms / 1000));
            size_t n = strlen(ts) + 1 + strlen(secret);
            char *key = kb_xmalloc(n + 1);
            snprintf(key, n + 1, "%s\n%s", ts, secret);
            hook_hmac_b64(key, n, "", 0, b64);
            free(key);
            json_object_set_new(b, "timestamp", json_string(ts));
            json_object_set_new(b, "sign", json_string(b64));
        }
        out->url = kb_xstrdup(url);
        out->body = dump(b);
    }
    free(text);
    if (!out->body) {
        hook_request_fin(out);
        kb_seterr(err, errlen, "the text is not valid UTF-8");
        return -1;
    }
    return 0;
}

void hook_request_fin(struct hook_request *r)
{
    if (!r)
        return;
    free(r->url);
    free(r->body);
    for (int i = 0; i < 4; i++)
        free(r->headers[i]);
    memset(r, 0, sizeof *r);
}

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    struct kb_buf *b = ud;
    size_t len = size * n;
    if (b->len + len < 8192) /* an answer is small; keep its start */
        kb_buf_add(b, p, len);
    return len;
}

int hook_post(const struct hook_request *r, int robot, char *err, size_t errlen)
{
    CURL *c = curl_easy_init();
    if (!c) {
        kb_seterr(err, errlen, "curl_easy_init failed");
        return -1;
    }
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json; charset=utf-8");
    h = curl_slist_append(h, "User-Agent: kbdesk-chatdesk");
    for (int i = 0; i < 4 && r->headers[i]; i++)
        h = curl_slist_append(h, r->headers[i]);
    struct kb_buf ans;
    kb_buf_init(&ans);
    char cerr[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, r->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(r->body));
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &ans);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 15L);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    int bad = 0;
    if (rc != CURLE_OK) {
        kb_seterr(err, errlen, "%s", cerr[0] ? cerr : curl_easy_strerror(rc));
        bad = 1;
    } else if (status < 200 || status > 299) {
        kb_seterr(err, errlen, "HTTP %ld", status);
        bad = 1;
    } else if (robot && ans.len) {
        /* the robots answer 200 with {"errcode":N,"errmsg":...} (WeCom,
         * DingTalk) or {"code":N,"msg":...} (Feishu); nonzero is a refusal */
        json_t *a = json_loadb(ans.data, ans.len, 0, NULL);
        json_t *code = json_object_get(a, "errcode");
        if (!code)
            code = json_object_get(a, "code");
        if (json_is_integer(code) && json_integer_value(code) != 0) {
            const char *m = json_string_value(json_object_get(a, "errmsg"));
            if (!m)
                m = json_string_value(json_object_get(a, "msg"));
            kb_seterr(err, errlen, "refused: %lld %.200s", (long long)json_integer_value(code),
                      m ? m : "");
            bad = 1;
        }
        json_decref(a);
    }
    kb_buf_fin(&ans);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return bad ? -1 : 0;
}
