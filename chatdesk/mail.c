/* mail: composing a UTF-8 MIME message and sending it with libcurl's SMTP
 * (see mail.h). */
#include "mail.h"
#include "kb_util.h"

#include <curl/curl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int mail_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static void add_base64(struct kb_buf *b, const unsigned char *p, size_t n)
{
    size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
    char *tmp = kb_xmalloc(cap);
    sodium_bin2base64(tmp, cap, p, n, sodium_base64_VARIANT_ORIGINAL);
    kb_buf_adds(b, tmp);
    free(tmp);
}

char *mail_header_encode(const char *s)
{
    struct kb_buf b;
    kb_buf_init(&b);
    int plain = 1;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p >= 0x7f || (unsigned char)*p < 0x20 || *p == '=' || *p == '?')
            plain = 0;
    if (plain && strlen(s) <= 900) {
        kb_buf_adds(&b, s);
        return kb_buf_take(&b);
    }
    /* at most 45 bytes of text per word: 60 characters of base64, plus the
     * 12 of "=?UTF-8?B?" and "?=" makes 72 */
    const char *p = s;
    int first = 1;
    while (*p) {
        size_t n = 0;
        for (;;) {
            size_t c = 1;
            while (p[n + c] && ((unsigned char)p[n + c] & 0xC0) == 0x80)
                c++;
            if (n + c > 45 || !p[n])
                break;
            n += c;
        }
        if (n == 0) /* a malformed sequence longer than a word: take it whole */
            n = strlen(p) < 45 ? strlen(p) : 45;
        if (!first)
            kb_buf_adds(&b, "\r\n ");
        kb_buf_adds(&b, "=?UTF-8?B?");
        add_base64(&b, (const unsigned char *)p, n);
        kb_buf_adds(&b, "?=");
        first = 0;
        p += n;
    }
    return kb_buf_take(&b);
}

char *mail_compose(const char *from, const char *to, const char *subject, const char *body,
                   time_t now, size_t *len)
{
    struct kb_buf b;
    kb_buf_init(&b);
    char date[64];
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    unsigned char rnd[12];
    randombytes_buf(rnd, sizeof rnd);
    char id[2 * sizeof rnd + 1];
    sodium_bin2hex(id, sizeof id, rnd, sizeof rnd);
    const char *domain = strchr(from, '@');
    char *subj = mail_header_encode(subject);
    kb_buf_adds(&b, "Date: ");
    kb_buf_adds(&b, date);
    kb_buf_adds(&b, "\r\nFrom: ");
    kb_buf_adds(&b, from);
    kb_buf_adds(&b, "\r\nTo: ");
    kb_buf_adds(&b, to);
    kb_buf_adds(&b, "\r\nSubject: ");
    kb_buf_adds(&b, subj);
    kb_buf_adds(&b, "\r\nMessage-ID: <");
    kb_buf_adds(&b, id);
    kb_buf_adds(&b, domain ? domain : "@kbdesk.invalid");
    kb_buf_adds(&b, ">\r\nMIME-Version: 1.0\r\n"
                    "Content-Type: text/plain; charset=UTF-8\r\n"
                    "Content-Transfer-Encoding: base64\r\n"
                    "Auto-Submitted: auto-generated\r\n\r\n");
    free(subj);
    /* the body with CRLF line ends, base64 in lines of 76 */
    struct kb_buf t;
    kb_buf_init(&t);
    for (const char *p = body; *p; p++) {
        if (*p == '\n' && (p == body || p[-1] != '\r'))
            kb_buf_addc(&t, '\r');
        kb_buf_addc(&t, *p);
    }
    for (size_t off = 0; off < t.len; off += 57) {
        size_t n = t.len - off < 57 ? t.len - off : 57;
        add_base64(&b, (const unsigned char *)t.data + off, n);
        kb_buf_adds(&b, "\r\n");
    }
    kb_buf_fin(&t);
    if (len)
        *len = b.len;
    return kb_buf_take(&b);
}

struct reader {
    const char *p;
    size_t left;
};

static size_t read_cb(char *dst, size_t size, size_t nitems, void *ud)
{
    struct reader *r = ud;
    size_t n = size * nitems;
    if (n > r->left)
        n = r->left;
    memcpy(dst, r->p, n);
    r->p += n;
    r->left -= n;
    return n;
}

int mail_send(const struct desk_config *cfg, const char *to, const char *msg, size_t len,
              char *err, size_t errlen)
{
    if (!cfg->smtp_url || !cfg->smtp_from) {
        kb_seterr(err, errlen, "no relay configured (smtp_url)");
        return -1;
    }
    CURL *c = curl_easy_init();
    if (!c) {
        kb_seterr(err, errlen, "curl_easy_init failed");
        return -1;
    }
    char cerr[CURL_ERROR_SIZE] = "";
    char from[300];
    snprintf(from, sizeof from, "<%s>", cfg->smtp_from);
    char rcpt_s[300];
    snprintf(rcpt_s, sizeof rcpt_s, "<%s>", to);
    struct curl_slist *rcpt = curl_slist_append(NULL, rcpt_s);
    struct reader rd = {msg, len};
    curl_easy_setopt(c, CURLOPT_URL, cfg->smtp_url);
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(c, CURLOPT_READDATA, &rd);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    if (cfg->smtp_starttls)
        curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
    if (cfg->smtp_user)
        curl_easy_setopt(c, CURLOPT_USERNAME, cfg->smtp_user);
    if (cfg->smtp_password)
        curl_easy_setopt(c, CURLOPT_PASSWORD, cfg->smtp_password);
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK)
        kb_seterr(err, errlen, "%s", cerr[0] ? cerr : curl_easy_strerror(rc));
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(c);
    return rc == CURLE_OK ? 0 : -1;
}
