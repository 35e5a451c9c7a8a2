/* attach: content detection and the content-addressed file store of
 * attachments (see attach.h). */
#include "attach.h"
#include "store_attach.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static unsigned rd16(const unsigned char *p)
{
    return (unsigned)p[0] | (unsigned)p[1] << 8;
}

static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int starts(const unsigned char *d, size_t len, const char *magic, size_t n)
{
    return len >= n && memcmp(d, magic, n) == 0;
}

/* Which Office document the ZIP's central directory names: "docx", "xlsx",
 * "pptx", or NULL (not a ZIP we can read, or another ZIP). */
static const char *ooxml_kind(const unsigned char *d, size_t len)
{
    if (len < 22)
        return NULL;
    /* the end of central directory record: in the last 22 + 65535 bytes */
    size_t lo = len > 22 + 65535 ? len - 22 - 65535 : 0;
    size_t eocd = (size_t)-1;
    for (size_t i = len - 22 + 1; i-- > lo;)
        if (d[i] == 'P' && d[i + 1] == 'K' && d[i + 2] == 5 && d[i + 3] == 6) {
            eocd = i;
            break;
        }
    if (eocd == (size_t)-1)
        return NULL;
    unsigned count = rd16(d + eocd + 10);
    uint32_t cd = rd32(d + eocd + 16);
    int types = 0;
    const char *kind = NULL;
    size_t p = cd;
    for (unsigned i = 0; i < count; i++) {
        if (p > len || len - p < 46 || rd32(d + p) != 0x02014b50)
            return NULL;
        size_t nlen = rd16(d + p + 28), xlen = rd16(d + p + 30), clen = rd16(d + p + 32);
        if (len - p - 46 < nlen)
            return NULL;
        const char *name = (const char *)d + p + 46;
#define IS(s) (nlen == sizeof(s) - 1 && memcmp(name, s, nlen) == 0)
        if (IS("[Content_Types].xml"))
            types = 1;
        else if (IS("word/document.xml"))
            kind = "docx";
        else if (IS("xl/workbook.xml"))
            kind = "xlsx";
        else if (IS("ppt/presentation.xml"))
            kind = "pptx";
#undef IS
        p += 46 + nlen + xlen + clen;
    }
    return types ? kind : NULL;
}

/* Is d text: valid UTF-8 with no control characters but tab, CR, LF, FF? */
static int is_text(const unsigned char *d, size_t len)
{
    size_t i = 0;
    if (len >= 3 && d[0] == 0xEF && d[1] == 0xBB && d[2] == 0xBF)
        i = 3; /* a byte-order mark */
    while (i < len) {
        unsigned char c = d[i];
        if (c < 0x80) {
            if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f') || c == 0x7F)
                return 0;
            i++;
            continue;
        }
        size_t n;
        uint32_t cp;
        if ((c & 0xE0) == 0xC0)
            n = 2, cp = c & 0x1F;
        else if ((c & 0xF0) == 0xE0)
            n = 3, cp = c & 0x0F;
        else if ((c & 0xF8) == 0xF0)
            n = 4, cp = c & 0x07;
        else
            return 0;
        if (len - i < n)
            return 0;
        for (size_t k = 1; k < n; k++) {
            if ((d[i + k] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (d[i + k] & 0x3F);
        }
        if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += n;
    }
    return 1;
}

static int ends_with_ci(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

static int refuse(struct attach_kind *out, const char *why)
{
    out->type = NULL;
    snprintf(out->why, sizeof out->why, "%s", why);
    return -1;
}

static int found(struct attach_kind *out, const char *type, const char *ext, int image)
{
    out->type = type;
    out->ext = ext;
    out->image = image;
    return 0;
}

int attach_detect(const unsigned char *d, size_t len, const char *name, struct attach_kind *out)
{
    memset(out, 0, sizeof *out);
    if (len == 0)
        return refuse(out, "the file is empty");
    if (starts(d, len, "\x7f" "ELF", 4))
        return refuse(out, "the content is an executable program (ELF), whatever its name: "
                           "not accepted");
    if (starts(d, len, "MZ", 2))
        return refuse(out, "the content is a Windows executable (MZ/PE), whatever its name: "
                           "not accepted");
    if (starts(d, len, "#!", 2))
        return refuse(out, "the content is a script (#!), whatever its name: not accepted");
    if (starts(d, len, "\x89PNG\r\n\x1a\n", 8) && len >= 24 && memcmp(d + 12, "IHDR", 4) == 0)
        return found(out, "image/png", "png", 1);
    if (starts(d, len, "\xff\xd8\xff", 3))
        return found(out, "image/jpeg", "jpg", 1);
    if (starts(d, len, "GIF87a", 6) || starts(d, len, "GIF89a", 6))
        return found(out, "image/gif", "gif", 1);
    if (len >= 16 && memcmp(d, "RIFF", 4) == 0 && memcmp(d + 8, "WEBPVP8", 7) == 0)
        return found(out, "image/webp", "webp", 1);
    if (starts(d, len, "%PDF-", 5))
        return found(out, "application/pdf", "pdf", 0);
    if (starts(d, len, "PK\x03\x04", 4)) {
        const char *k = ooxml_kind(d, len);
        if (!k)
            return refuse(out, "the content is a ZIP archive that is not a Word, Excel or "
                               "PowerPoint document: not accepted");
        if (strcmp(k, "docx") == 0)
            return found(out,
                         "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                         "docx", 0);
        if (strcmp(k, "xlsx") == 0)
            return found(out, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                         "xlsx", 0);
        return found(out,
                     "application/vnd.openxmlformats-officedocument.presentationml.presentation",
                     "pptx", 0);
    }
    if (is_text(d, len)) {
        if (name && ends_with_ci(name, ".csv"))
            return found(out, "text/csv", "csv", 0);
        return found(out, "text/plain", "txt", 0);
    }
    return refuse(out, "the content is not one of the accepted types (PNG, JPEG, GIF, WebP "
                       "images, PDF, Word/Excel/PowerPoint documents, plain text, CSV)");
}

void attach_sha256(const void *data, size_t len, char hex[65])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, data, len);
    sodium_bin2hex(hex, 65, h, sizeof h);
}

static int path_of(const char *dir, const char *hex, char *sub, size_t sublen, char *path,
                   size_t pathlen)
{
    if (strlen(hex) != 64 || strspn(hex, "0123456789abcdef") != 64)
        return -1;
    int a = snprintf(sub, sublen, "%s/%.2s", dir, hex);
    int b = snprintf(path, pathlen, "%s/%.2s/%s", dir, hex, hex + 2);
    return a < 0 || (size_t)a >= sublen || b < 0 || (size_t)b >= pathlen ? -1 : 0;
}

int attach_write(const char *dir, const char *hex, const void *data, size_t len, int *existed,
                 char *err, size_t errlen)
{
    char sub[4096], path[4096], tmp[4200];
    *existed = 0;
    if (path_of(dir, hex, sub, sizeof sub, path, sizeof path)) {
        snprintf(err, errlen, "bad attachment path");
        return -1;
    }
    struct stat st;
    if (stat(path, &st) == 0 && (size_t)st.st_size == len) {
        *existed = 1;
        return 0;
    }
    if (mkdir(dir, 0750) && errno != EEXIST) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return -1;
    }
    if (mkdir(sub, 0750) && errno != EEXIST) {
        snprintf(err, errlen, "%s: %s", sub, strerror(errno));
        return -1;
    }
    snprintf(tmp, sizeof tmp, "%s/.tmp-XXXXXX", sub);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        return -1;
    }
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(err, errlen, "%s: %s", tmp, n < 0 ? strerror(errno) : "short write");
            close(fd);
            unlink(tmp);
            return -1;
        }
        p += n;
        left -= (size_t)n;
    }
    if (fsync(fd) || close(fd)) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        unlink(tmp);
        return -1;
    }
    if (rename(tmp, path)) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    int dfd = open(sub, O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) { /* the rename itself durable */
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

int attach_read(const char *dir, const char *hex, int64_t size, char **out, char *err,
                size_t errlen)
{
    char sub[4096], path[4096];
    *out = NULL;
    if (path_of(dir, hex, sub, sizeof sub, path, sizeof path) || size <= 0) {
        snprintf(err, errlen, "bad attachment path");
        return -1;
    }
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char *buf = malloc((size_t)size);
    if (!buf) {
        close(fd);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    size_t got = 0;
    while (got < (size_t)size) {
        ssize_t n = read(fd, buf + got, (size_t)size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    if (got != (size_t)size) {
        free(buf);
        snprintf(err, errlen, "%s: shorter than its %lld bytes", path, (long long)size);
        return -1;
    }
    *out = buf;
    return 0;
}

void attach_safe_name(const char *name, char *out, size_t outlen)
{
    size_t n = 0;
    for (const char *p = name ? name : ""; *p && n + 1 < outlen; p++) {
        unsigned char c = (unsigned char)*p;
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '-' || c == '_';
        if (c >= 0x80 && (c & 0xC0) == 0x80)
            continue; /* one '_' per non-ASCII character */
        out[n++] = ok ? (char)c : '_';
    }
    out[n] = '\0';
    if (n == 0 || strspn(out, "._") == n)
        snprintf(out, outlen, "file");
}

json_t *attach_json(const struct store_attachment *a)
{
    char url[64];
    snprintf(url, sizeof url, "/api/v1/attachments/%lld", (long long)a->id);
    json_t *o = json_pack("{s:I, s:s, s:s, s:I, s:s, s:b, s:s, s:I}", "id", (json_int_t)a->id,
                          "name", a->name, "type", a->type, "size", (json_int_t)a->size,
                          "sha256", a->sha256, "image", strncmp(a->type, "image/", 6) == 0,
                          "url", url, "at", (json_int_t)a->created_at);
    if (!o) /* a name that is not UTF-8 cannot be stored: should not happen */
        o = json_pack("{s:I, s:s}", "id", (json_int_t)a->id, "url", url);
    if (a->message_seq)
        json_object_set_new(o, "seq", json_integer(a->message_seq));
    if (a->ticket[0])
        json_object_set_new(o, "ticket", json_string(a->ticket));
    return o;
}
