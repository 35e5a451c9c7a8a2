/* kb_util: small helpers every module uses: error-message buffers, string
 * duplication that cannot return NULL silently, and a growable byte buffer.
 * Nothing here prints or exits, except kb_xmalloc's siblings, which abort on
 * out-of-memory (the programs cannot carry on without memory, and checking
 * every tiny allocation would hide the real error paths). */
#ifndef KB_UTIL_H
#define KB_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>

#define KB_ERR_MAX 512

/* Formats a message into err[errlen] (if err is not NULL). Always
 * NUL-terminates; truncates silently. */
void kb_seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Allocation that aborts with a message on out-of-memory. Caller frees. */
void *kb_xmalloc(size_t n);
void *kb_xcalloc(size_t n, size_t size);
void *kb_xrealloc(void *p, size_t n);
/* Copies s (NULL gives NULL). Caller frees. */
char *kb_xstrdup(const char *s);
/* Copies n bytes of s and a NUL. Caller frees. */
char *kb_xstrndup(const char *s, size_t n);

/* A growable, always NUL-terminated byte buffer. kb_buf_init leaves it empty
 * with data == NULL; kb_buf_fin frees data. kb_buf_take hands data to the
 * caller (who frees it) and leaves the buffer empty. */
struct kb_buf {
    char *data;
    size_t len;
    size_t cap;
};
void kb_buf_init(struct kb_buf *b);
void kb_buf_fin(struct kb_buf *b);
void kb_buf_reset(struct kb_buf *b);
void kb_buf_add(struct kb_buf *b, const char *s, size_t n);
void kb_buf_adds(struct kb_buf *b, const char *s);
void kb_buf_addc(struct kb_buf *b, char c);
void kb_buf_printf(struct kb_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
char *kb_buf_take(struct kb_buf *b);
/* Appends all that is left to read from f to b. Returns 0, or -1 on a read
 * error (what was read before it stays in b). */
int kb_buf_read(struct kb_buf *b, FILE *f);

/* JSON written straight into a buffer, byte for byte as Jansson's compact
 * dump writes it (its JSON_COMPACT output, not ASCII-escaped): s[0, n) as a
 * quoted string (" \ and control characters escaped; s must be valid
 * UTF-8), and v with %.8g (JSON_REAL_PRECISION(8)) as Jansson prints a real
 * (".0" added to an integral value, the exponent without '+' or leading
 * zeros). */
void kb_buf_json_str(struct kb_buf *b, const char *s, size_t n);
void kb_buf_json_real(struct kb_buf *b, double v);
/* v in decimal, as %lld writes it (a JSON integer). */
void kb_buf_json_int(struct kb_buf *b, long long v);
/* An object member's key: a comma first unless *first (then cleared), the
 * quoted key and a colon; the caller writes the value. */
void kb_buf_json_key(struct kb_buf *b, int *first, const char *k);

/* Reads a whole file into a NUL-terminated heap buffer (*out, caller frees)
 * and its length (*len). Returns 0, or -1 with a message in err. */
int kb_read_file(const char *path, char **out, size_t *len, char *err, size_t errlen);

/* 64-bit FNV-1a hash of n bytes, for change detection (not security). */
uint64_t kb_hash64(const void *p, size_t n);

/* Strips ASCII and ideographic (U+3000) whitespace at both ends in place;
 * returns s. */
char *kb_strip(char *s);

#endif
