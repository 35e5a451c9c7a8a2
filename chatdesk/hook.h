/* hook: outgoing HTTP notifications: the group robots of WeCom (企业微信),
 * DingTalk (钉钉) and Feishu (飞书) in their documented JSON bodies, and
 * the desk's own integration webhooks signed with HMAC-SHA256.
 * hook_request builds one request from a delivery of the outbox (pure but
 * for the clock it is given); hook_post sends it with libcurl (http and
 * https only, no redirects, bounded timeouts) and says whether the target
 * accepted it. The outbox and its retries are the store's (store_hook.h);
 * the sender's round is desk_do_hooks (desk_portal.c).
 *
 *   wecom     {"msgtype":"markdown","markdown":{"content":TEXT}}
 *   dingtalk  {"msgtype":"markdown","markdown":{"title":T,"text":TEXT}};
 *             with a secret, the URL gains &timestamp=MS&sign=S, S the
 *             URL-encoded base64 of HMAC-SHA256(key secret, MS "\n" secret)
 *   feishu    {"msg_type":"text","content":{"text":TEXT}}; with a secret,
 *             "timestamp" (seconds, a string) and "sign": the base64 of
 *             HMAC-SHA256(key SECONDS "\n" secret, empty message)
 *   webhook   the event's JSON; headers X-Kbdesk-Event, X-Kbdesk-Delivery,
 *             X-Kbdesk-Timestamp and X-Kbdesk-Signature: sha256=HEX, the
 *             hex HMAC-SHA256 of the body under the subscription's secret */
#ifndef CD_HOOK_H
#define CD_HOOK_H

#include <stddef.h>
#include <stdint.h>

/* One HTTP POST of JSON. */
struct hook_request {
    char *url;        /* with the signing query for DingTalk */
    char *body;       /* JSON */
    char *headers[4]; /* "Name: value" lines (webhooks), NULL-terminated early */
};

/* Builds the request for kind (wecom, dingtalk, feishu, webhook) to url
 * with the event payload (a JSON object: event, ticket{number, summary,
 * ...}, actor, delivery), signed with secret (may be NULL) at now_ms
 * (milliseconds since the epoch). Returns 0 with *out filled (free with
 * hook_request_fin), or -1 with a message in err (unknown kind, payload not
 * a JSON object, a webhook without a secret). */
int hook_request(const char *kind, const char *url, const char *secret, const char *payload,
                 int64_t now_ms, struct hook_request *out, char *err, size_t errlen);

void hook_request_fin(struct hook_request *r);

/* The text a robot posts for an event payload (markdown; caller frees), or
 * NULL when payload is not a JSON object. */
char *hook_text(const char *payload);

/* base64 of HMAC-SHA256(key, msg) into out (at least 45 bytes). */
void hook_hmac_b64(const char *key, size_t klen, const char *msg, size_t mlen, char *out);

/* lower-case hex of HMAC-SHA256(key, msg) into out (at least 65 bytes). */
void hook_hmac_hex(const char *key, size_t klen, const char *msg, size_t mlen, char *out);

/* POSTs r. Returns 0 when the target answered 2xx (and, for a robot, its
 * JSON answer carries no nonzero errcode / code), else -1 with the reason
 * in err (connection refused, the status, the robot's errmsg). Blocks (5 s
 * to connect, 15 s in all): call it on a worker thread. */
int hook_post(const struct hook_request *r, int robot, char *err, size_t errlen);

#endif
