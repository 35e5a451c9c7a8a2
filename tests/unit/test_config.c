/* Unit tests for kb_config: key = value files, command lines, integers,
 * listen addresses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kb_config.h"
#include "kb_util.h"

static const char *const keys[] = {"index", "threads", "listen"};

struct seen {
    char index[64];
    long threads;
};

static int set(void *ud, const char *key, const char *value, char *err, size_t errlen)
{
    struct seen *s = ud;
    if (!strcmp(key, "index"))
        snprintf(s->index, sizeof s->index, "%s", value);
    else if (!strcmp(key, "threads") && kb_config_int(value, 1, 64, &s->threads)) {
        kb_seterr(err, errlen, "threads: expected 1..64, got \"%s\"", value);
        return -1;
    }
    return 0;
}

/* Writes text to a temporary file; returns its path (caller frees). */
static char *tmpfile_with(const char *text, size_t len)
{
    char *path = kb_xstrdup("/tmp/kbconfXXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
    return path;
}

static void expect_error(const char *text, size_t len, const char *want)
{
    char *path = tmpfile_with(text, len);
    struct seen s = {{0}, 0};
    char err[KB_ERR_MAX] = "";
    assert_int_equal(kb_config_read(path, keys, 3, set, &s, err, sizeof err), -1);
    if (!strstr(err, want))
        fail_msg("got '%s', want '%s'", err, want);
    unlink(path);
    free(path);
}

static void read_good_file(void **state)
{
    (void)state;
    const char *text = "# comment\n\n  index = var/index  \nthreads=4\n";
    char *path = tmpfile_with(text, strlen(text));
    struct seen s = {{0}, 0};
    char err[KB_ERR_MAX];
    assert_int_equal(kb_config_read(path, keys, 3, set, &s, err, sizeof err), 0);
    assert_string_equal(s.index, "var/index");
    assert_int_equal(s.threads, 4);
    unlink(path);
    free(path);
}

static void read_bad_files(void **state)
{
    (void)state;
    expect_error("index = a\nbogus\n", 16, ":2: expected `key = value`");
    expect_error("colour = red\n", 13, ":1: unknown key \"colour\"");
    expect_error("index = a\nindex = b\n", 20, ":2: repeated key \"index\"");
    expect_error("\nthreads = 0\n", 13, ":2: threads: expected 1..64");
    expect_error("index = a\n\0\n", 12, ":2: NUL byte");
    char err[KB_ERR_MAX] = "";
    struct seen s;
    assert_int_equal(kb_config_read("/nonexistent/kb.conf", keys, 3, set, &s, err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "/nonexistent/kb.conf"));
}

static void integers(void **state)
{
    (void)state;
    long v = 0;
    assert_int_equal(kb_config_int("42", 0, 100, &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(kb_config_int("", 0, 100, &v), -1);
    assert_int_equal(kb_config_int("-1", -5, 100, &v), -1); /* digits only */
    assert_int_equal(kb_config_int("101", 0, 100, &v), -1);
    assert_int_equal(kb_config_int("1e3", 0, 10000, &v), -1);
    assert_int_equal(kb_config_int("99999999999999999999", 0, 100, &v), -1);
}

static void listen_addresses(void **state)
{
    (void)state;
    static const struct { const char *in, *host; int port; } ok[] = {
        {"127.0.0.1:8080", "127.0.0.1", 8080}, {"localhost:0", "127.0.0.1", 0},
        {"*:80", "0.0.0.0", 80}, {"[::1]:9000", "::1", 9000},
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        char *host = NULL;
        int port = -1;
        char err[KB_ERR_MAX];
        assert_int_equal(kb_config_listen(ok[i].in, &host, &port, err, sizeof err), 0);
        assert_string_equal(host, ok[i].host);
        assert_int_equal(port, ok[i].port);
        free(host);
    }
    static const char *const bad[] = {"8080", ":80", "127.0.0.1:", "127.0.0.1:65536",
                                      "example.com:80", "[::1:80", "[zz]:80", "1.2.3:4"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *host = NULL;
        int port = -1;
        char err[KB_ERR_MAX] = "";
        assert_int_equal(kb_config_listen(bad[i], &host, &port, err, sizeof err), -1);
        assert_null(host);
        assert_true(strncmp(err, "listen:", 7) == 0);
    }
}

/* The command line: the first nflags keys are flags (--threads, not
 * --listen here); --config is read first, so a flag wins over the file
 * whatever the order; errors name the flag; --help stops. */
static int args(struct seen *s, char *err, size_t errlen, int argc, ...)
{
    char *argv[16];
    va_list ap;
    va_start(ap, argc);
    for (int i = 0; i < argc; i++)
        argv[i] = va_arg(ap, char *);
    va_end(ap);
    argv[argc] = NULL;
    return kb_config_args(argc, argv, keys, 3, 2, set, s, err, errlen);
}

static void command_lines(void **state)
{
    (void)state;
    const char *text = "index = from-file\nthreads = 2\n";
    char *path = tmpfile_with(text, strlen(text));
    struct seen s = {{0}, 0};
    char err[KB_ERR_MAX] = "";
    assert_int_equal(args(&s, err, sizeof err, 5, "d", "--threads", "8", "--config", path), 0);
    assert_string_equal(s.index, "from-file");
    assert_int_equal(s.threads, 8);
    memset(&s, 0, sizeof s);
    assert_int_equal(args(&s, err, sizeof err, 3, "d", "--threads", "0"), -1);
    assert_string_equal(err, "--threads: expected 1..64, got \"0\"");
    assert_int_equal(args(&s, err, sizeof err, 3, "d", "--listen", "1.2.3.4:5"), -1);
    assert_string_equal(err, "unknown option --listen (see --help)"); /* not a flag */
    assert_int_equal(args(&s, err, sizeof err, 2, "d", "--index"), -1);
    assert_string_equal(err, "--index needs a value (see --help)");
    assert_int_equal(args(&s, err, sizeof err, 2, "d", "stray"), -1);
    assert_string_equal(err, "unexpected argument \"stray\" (see --help)");
    assert_int_equal(args(&s, err, sizeof err, 3, "d", "--config", "/nonexistent/kb.conf"), -1);
    assert_non_null(strstr(err, "/nonexistent/kb.conf"));
    memset(&s, 0, sizeof s);
    assert_int_equal(args(&s, err, sizeof err, 4, "d", "--help", "--index", "x"), 1);
    assert_string_equal(s.index, ""); /* nothing set */
    unlink(path);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(read_good_file),
        cmocka_unit_test(read_bad_files),
        cmocka_unit_test(integers),
        cmocka_unit_test(listen_addresses),
        cmocka_unit_test(command_lines),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
