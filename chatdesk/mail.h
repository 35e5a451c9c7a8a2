/* mail: outgoing mail for the desk's notifications. mail_compose builds
 * one RFC 5322 message (pure: UTF-8 text, MIME 1.0, the subject as RFC 2047
 * encoded words, the body base64 in text/plain; charset=UTF-8, CRLF line
 * ends); mail_send hands a message to the configured relay with libcurl's
 * SMTP (smtp:// or smtps://, optional login and required STARTTLS), with
 * bounded timeouts. The outbox and its retries are the store's
 * (store_mail.h); the sender job is desk_do_mail (desk_portal.c). */
#ifndef CD_MAIL_H
#define CD_MAIL_H

#include <stddef.h>
#include <time.h>

#include "desk.h"

/* Initialises libcurl once per process, before any thread starts. Returns
 * 0 or -1. */
int mail_init(void);

/* The message from `from` to `to` with subject and body (UTF-8; the body's
 * line ends become CRLF), dated now. Returns a heap string (caller frees)
 * and its length in *len (may be NULL). Never NULL. */
char *mail_compose(const char *from, const char *to, const char *subject, const char *body,
                   time_t now, size_t *len);

/* "=?UTF-8?B?...?=" encoded words for a header value of UTF-8 text s
 * (words split at character boundaries, each at most 75 characters, joined
 * by CRLF and a space); plain ASCII without specials stays as it is.
 * Caller frees. Never NULL. */
char *mail_header_encode(const char *s);

/* Sends msg (len bytes, from mail_compose) to `to` through cfg's relay.
 * Returns 0, or -1 with libcurl's message in err (no relay configured,
 * connection refused, the relay's refusal, a timeout: 10 s to connect, 30
 * s in all). Blocks: call it on a worker thread. */
int mail_send(const struct desk_config *cfg, const char *to, const char *msg, size_t len,
              char *err, size_t errlen);

#endif
