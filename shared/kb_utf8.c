/* kb_utf8: strict UTF-8 validation, decoding and encoding (RFC 3629). */
#include "kb_utf8.h"

#include <string.h>

int32_t kb_utf8_next_slow(const char *str, size_t len, size_t *i)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t p = *i;
    unsigned c = s[p];
    int32_t cp;
    size_t n;
    if (c < 0x80) {
        *i = p + 1;
        return (int32_t)c;
    } else if (c >= 0xC2 && c <= 0xDF) {
        n = 1; cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 2; cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 3; cp = c & 0x07;
    } else {
        *i = p + 1;
        return -1;
    }
    if (len - p - 1 < n) {
        *i = p + 1;
        return -1;
    }
    for (size_t k = 1; k <= n; k++) {
        unsigned cc = s[p + k];
        if ((cc & 0xC0) != 0x80) {
            *i = p + 1;
            return -1;
        }
        cp = (cp << 6) | (int32_t)(cc & 0x3F);
    }
    /* overlong, surrogate, out of range */
    if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
        *i = p + 1;
        return -1;
    }
    *i = p + 1 + n;
    return cp;
}

int kb_utf8_check(const char *s, size_t len, int allow_nul, size_t *bad)
{
    size_t i = 0;
    while (i < len) {
        size_t at = i;
        /* fast paths for ASCII: eight bytes at a time while none has its
           high bit set or is NUL, then one at a time */
        if (len - i >= 8) {
            uint64_t v;
            memcpy(&v, s + i, 8);
            const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
            if (!(v & highs) && !((v - ones) & ~v & highs)) {
                i += 8;
                continue;
            }
        }
        if ((unsigned char)s[i] < 0x80 && s[i] != 0) {
            i++;
            continue;
        }
        int32_t cp = kb_utf8_next(s, len, &i);
        if (cp < 0 || (cp == 0 && !allow_nul)) {
            if (bad)
                *bad = at;
            return cp < 0 ? KB_UTF8_EINVAL : KB_UTF8_ENUL;
        }
    }
    return 0;
}

size_t kb_utf8_encode(int32_t cp, char *out)
{
    unsigned char *o = (unsigned char *)out;
    if (cp < 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | (cp >> 6));
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | (cp >> 18));
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

const char *kb_utf8_strerror(int rc)
{
    switch (rc) {
    case 0: return "ok";
    case KB_UTF8_EINVAL: return "invalid UTF-8";
    case KB_UTF8_ENUL: return "NUL byte in text";
    default: return "unknown UTF-8 error";
    }
}

size_t kb_utf8_count(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}
