/* Unit tests for chatdesk's attachment content checks and file store
 * (attach.h): each accepted type recognised by its bytes whatever the name;
 * executables and unknown content refused with a reason that names them;
 * OOXML told apart from other ZIPs by its central directory; text and CSV;
 * the content-addressed store writes once, reads back the same bytes and
 * refuses a short file; header-safe names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../chatdesk/attach.h"

static const char *kind_of(const void *d, size_t n, const char *name, char *why, size_t whylen)
{
    struct attach_kind k;
    int rc = attach_detect(d, n, name, &k);
    if (why)
        snprintf(why, whylen, "%s", k.why);
    assert_true(rc == 0 ? k.type != NULL : k.type == NULL);
    return k.type;
}

static void images_and_pdf_by_their_bytes(void **state)
{
    (void)state;
    unsigned char png[32] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'};
    assert_string_equal(kind_of(png, sizeof png, "x.txt", NULL, 0), "image/png");
    unsigned char jpg[8] = {0xff, 0xd8, 0xff, 0xe0};
    assert_string_equal(kind_of(jpg, sizeof jpg, "x.png", NULL, 0), "image/jpeg");
    assert_string_equal(kind_of("GIF89a\1\0\1\0", 10, NULL, NULL, 0), "image/gif");
    assert_string_equal(kind_of("RIFF\0\0\0\0WEBPVP8 \0\0", 16, NULL, NULL, 0), "image/webp");
    assert_string_equal(kind_of("%PDF-1.7\n", 9, "a.exe", NULL, 0), "application/pdf");
    /* a PNG signature without its IHDR is not a PNG (and not text) */
    unsigned char fake[16] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    assert_null(kind_of(fake, sizeof fake, "a.png", NULL, 0));
}

static void executables_refused_with_their_name(void **state)
{
    (void)state;
    char why[160];
    unsigned char elf[64] = {0x7f, 'E', 'L', 'F', 2, 1, 1};
    assert_null(kind_of(elf, sizeof elf, "cat.png", why, sizeof why));
    assert_non_null(strstr(why, "ELF"));
    assert_null(kind_of("MZ\x90\0\3\0", 6, "photo.jpg", why, sizeof why));
    assert_non_null(strstr(why, "MZ"));
    assert_null(kind_of("#!/bin/sh\necho hi\n", 18, "notes.txt", why, sizeof why));
    assert_non_null(strstr(why, "#!"));
    unsigned char bin[4] = {0, 1, 2, 3};
    assert_null(kind_of(bin, sizeof bin, "a.csv", why, sizeof why));
    assert_non_null(strstr(why, "not one of the accepted types"));
    assert_null(kind_of("", 0, "a.txt", why, sizeof why));
}

/* A ZIP with the given names in its central directory (no data). */
static size_t make_zip(unsigned char *out, const char *const *names, int n)
{
    size_t p = 0;
    memcpy(out, "PK\3\4", 4); /* a local header's signature, for the magic check */
    p = 30;
    size_t cd = p;
    for (int i = 0; i < n; i++) {
        size_t len = strlen(names[i]);
        memset(out + p, 0, 46);
        memcpy(out + p, "PK\1\2", 4);
        out[p + 28] = (unsigned char)len;
        memcpy(out + p + 46, names[i], len);
        p += 46 + len;
    }
    size_t cdlen = p - cd;
    memset(out + p, 0, 22);
    memcpy(out + p, "PK\5\6", 4);
    out[p + 10] = (unsigned char)n;
    out[p + 12] = (unsigned char)cdlen;
    out[p + 16] = (unsigned char)cd;
    return p + 22;
}

static void office_documents_by_their_parts(void **state)
{
    (void)state;
    unsigned char z[1024];
    const char *docx[] = {"[Content_Types].xml", "_rels/.rels", "word/document.xml"};
    size_t n = make_zip(z, docx, 3);
    assert_string_equal(kind_of(z, n, "a.zip", NULL, 0),
                        "application/vnd.openxmlformats-officedocument.wordprocessingml.document");
    const char *xlsx[] = {"xl/workbook.xml", "[Content_Types].xml"};
    n = make_zip(z, xlsx, 2);
    assert_string_equal(kind_of(z, n, NULL, NULL, 0),
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    const char *pptx[] = {"[Content_Types].xml", "ppt/presentation.xml"};
    n = make_zip(z, pptx, 2);
    assert_non_null(strstr(kind_of(z, n, NULL, NULL, 0), "presentationml"));
    /* a ZIP without the Office parts, or with a part but no content types */
    char why[160];
    const char *other[] = {"payload.exe"};
    n = make_zip(z, other, 1);
    assert_null(kind_of(z, n, "report.docx", why, sizeof why));
    assert_non_null(strstr(why, "ZIP"));
    const char *half[] = {"word/document.xml"};
    n = make_zip(z, half, 1);
    assert_null(kind_of(z, n, "report.docx", NULL, 0));
    /* a truncated directory does not read past the end */
    n = make_zip(z, docx, 3);
    z[n - 22 + 10] = 200; /* claims 200 entries */
    assert_null(kind_of(z, n, NULL, NULL, 0));
}

static void text_and_csv(void **state)
{
    (void)state;
    const char *t = "日志 line\r\n\tok\n";
    assert_string_equal(kind_of(t, strlen(t), "error.log", NULL, 0), "text/plain");
    assert_string_equal(kind_of("a,b\n1,2\n", 8, "DATA.CSV", NULL, 0), "text/csv");
    assert_null(kind_of("\xff\xfe" "a", 3, "a.txt", NULL, 0));     /* not UTF-8 */
    assert_null(kind_of("a\x1b[31m", 7, "a.txt", NULL, 0));        /* an escape */
    assert_null(kind_of("\xed\xa0\x80", 3, "a.txt", NULL, 0));     /* a surrogate */
    assert_null(kind_of("\xc0\xaf", 2, "a.txt", NULL, 0));         /* overlong */
}

static void the_store_writes_once_and_reads_back(void **state)
{
    (void)state;
    char dir[] = "/tmp/kbattach-unit-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char store[128];
    snprintf(store, sizeof store, "%s/files", dir);
    const char data[] = "the same bytes";
    char hex[65], err[256];
    attach_sha256(data, sizeof data, hex);
    assert_int_equal(strlen(hex), 64);
    int existed = -1;
    assert_int_equal(attach_write(store, hex, data, sizeof data, &existed, err, sizeof err), 0);
    assert_int_equal(existed, 0);
    assert_int_equal(attach_write(store, hex, data, sizeof data, &existed, err, sizeof err), 0);
    assert_int_equal(existed, 1);
    char path[256];
    snprintf(path, sizeof path, "%s/%.2s/%s", store, hex, hex + 2);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal((size_t)st.st_size, sizeof data);
    char *back = NULL;
    assert_int_equal(attach_read(store, hex, (int64_t)sizeof data, &back, err, sizeof err), 0);
    assert_memory_equal(back, data, sizeof data);
    free(back);
    /* a size that does not match, a bad hash, a missing file: errors */
    assert_int_equal(attach_read(store, hex, (int64_t)sizeof data + 5, &back, err, sizeof err), -1);
    assert_null(back);
    assert_int_equal(attach_read(store, "../etc/passwd", 10, &back, err, sizeof err), -1);
    char other[65];
    attach_sha256("x", 1, other);
    assert_int_equal(attach_read(store, other, 1, &back, err, sizeof err), -1);
    unlink(path);
    snprintf(path, sizeof path, "%s/%.2s", store, hex);
    rmdir(path);
    rmdir(store);
    rmdir(dir);
}

static void header_safe_names(void **state)
{
    (void)state;
    char out[60];
    attach_safe_name("报错 截图.png", out, sizeof out);
    assert_string_equal(out, "_____.png");
    attach_safe_name("a\"b;c\r\n.txt", out, sizeof out);
    assert_string_equal(out, "a_b_c__.txt");
    attach_safe_name("", out, sizeof out);
    assert_string_equal(out, "file");
    attach_safe_name("..", out, sizeof out);
    assert_string_equal(out, "file");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(images_and_pdf_by_their_bytes),
        cmocka_unit_test(executables_refused_with_their_name),
        cmocka_unit_test(office_documents_by_their_parts),
        cmocka_unit_test(text_and_csv),
        cmocka_unit_test(the_store_writes_once_and_reads_back),
        cmocka_unit_test(header_safe_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
