/* Unit tests for kb_net: the address predicate behind metrics_access =
 * loopback, the /metrics rule, the settings, connection admission, and
 * kb_net_accept when the process is really out of descriptors (a lowered
 * RLIMIT_NOFILE filled with /dev/null descriptors, real loopback sockets). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kb_net.h"
#include "kb_util.h"

static struct kb_addr addr(const char *text)
{
    struct kb_addr a;
    assert_int_equal(kb_addr_parse(text, &a), 0);
    return a;
}

static void test_loopback_predicate(void **state)
{
    (void)state;
    const char *yes[] = {"127.0.0.1", "127.0.0.2", "127.255.255.254", "::1", "::ffff:127.0.0.1"};
    const char *no[] = {"10.0.0.1", "128.0.0.1", "126.255.255.255", "0.0.0.0", "::", "::2",
                        "fe80::1", "::ffff:10.0.0.1", "192.168.1.1", "2001:db8::1"};
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
        struct kb_addr a = addr(yes[i]);
        assert_true(kb_addr_is_loopback(&a));
    }
    for (size_t i = 0; i < sizeof no / sizeof *no; i++) {
        struct kb_addr a = addr(no[i]);
        assert_false(kb_addr_is_loopback(&a));
    }
    struct kb_addr unknown;
    memset(&unknown, 0, sizeof unknown); /* e.g. a Unix socket peer */
    assert_false(kb_addr_is_loopback(&unknown));
    struct kb_addr bad;
    assert_int_equal(kb_addr_parse("127.0.0.300", &bad), -1);
    assert_int_equal(kb_addr_parse("localhost", &bad), -1);
}

static void test_addr_mapped_and_format(void **state)
{
    (void)state;
    /* an IPv4-mapped IPv6 peer counts as the IPv4 address it carries */
    struct kb_addr m = addr("::ffff:10.1.2.3"), v4 = addr("10.1.2.3");
    assert_int_equal(m.family, AF_INET);
    assert_memory_equal(m.a, v4.a, 4);
    char buf[KB_ADDR_STRLEN];
    kb_addr_format(&m, buf, sizeof buf);
    assert_string_equal(buf, "10.1.2.3");
    struct kb_addr six = addr("2001:db8::5");
    kb_addr_format(&six, buf, sizeof buf);
    assert_string_equal(buf, "2001:db8::5");
    struct kb_addr none;
    memset(&none, 0, sizeof none);
    kb_addr_format(&none, buf, sizeof buf);
    assert_string_equal(buf, "?");
    /* from a sockaddr, as accept() gives it */
    struct sockaddr_in6 s6;
    memset(&s6, 0, sizeof s6);
    s6.sin6_family = AF_INET6;
    assert_int_equal(inet_pton(AF_INET6, "::1", &s6.sin6_addr), 1);
    struct kb_addr a;
    kb_addr_from_sockaddr(&a, (struct sockaddr *)&s6, sizeof s6);
    assert_int_equal(a.family, AF_INET6);
    assert_true(kb_addr_is_loopback(&a));
    kb_addr_from_sockaddr(&a, (struct sockaddr *)&s6, 4); /* truncated: unknown */
    assert_int_equal(a.family, 0);
}

static void test_metrics_rule(void **state)
{
    (void)state;
    struct kb_net_config c;
    kb_net_config_init(&c, 256);
    struct kb_addr lo = addr("127.0.0.1"), lo6 = addr("::1"), far = addr("203.0.113.9");
    /* default: loopback only, a token does not help a remote peer */
    assert_int_equal(c.metrics_access, KB_METRICS_LOOPBACK);
    assert_true(kb_net_metrics_allowed(&c, &lo, NULL, 0));
    assert_true(kb_net_metrics_allowed(&c, &lo6, NULL, 0));
    assert_false(kb_net_metrics_allowed(&c, &far, NULL, 0));
    assert_false(kb_net_metrics_allowed(&c, &far, "x", 1));
    char err[KB_ERR_MAX];
    /* token: the right token from anywhere, nothing else, loopback included */
    assert_int_equal(kb_net_config_set(&c, "metrics_access", "token", err, sizeof err), 0);
    assert_int_equal(kb_net_config_check(&c, err, sizeof err), -1);
    assert_non_null(strstr(err, "metrics_token"));
    assert_int_equal(kb_net_config_set(&c, "metrics_token", "s3cret-token", err, sizeof err), 0);
    assert_int_equal(kb_net_config_check(&c, err, sizeof err), 0);
    assert_true(kb_net_metrics_allowed(&c, &far, "s3cret-token", 12));
    assert_false(kb_net_metrics_allowed(&c, &far, "s3cret-tokeN", 12));
    assert_false(kb_net_metrics_allowed(&c, &far, "s3cret", 6));
    assert_false(kb_net_metrics_allowed(&c, &far, "s3cret-token-and-more", 21));
    assert_false(kb_net_metrics_allowed(&c, &lo, NULL, 0));
    assert_false(kb_net_metrics_allowed(&c, &lo, "", 0));
    /* public: anybody */
    assert_int_equal(kb_net_config_set(&c, "metrics_access", "public", err, sizeof err), 0);
    assert_true(kb_net_metrics_allowed(&c, &far, NULL, 0));
    kb_net_config_fin(&c);
}

static void test_config_keys(void **state)
{
    (void)state;
    struct kb_net_config c;
    kb_net_config_init(&c, 7);
    assert_int_equal(c.max_connections, KB_NET_DEFAULT_MAX_CONNECTIONS);
    assert_int_equal(c.max_per_address, 7);
    assert_int_equal(c.max_open_files, 0);
    char err[KB_ERR_MAX];
    assert_int_equal(kb_net_config_set(&c, "max_connections", "12", err, sizeof err), 0);
    assert_int_equal(c.max_connections, 12);
    assert_int_equal(kb_net_config_set(&c, "max_connections_per_address", "0", err, sizeof err),
                     0);
    assert_int_equal(c.max_per_address, 0);
    assert_int_equal(kb_net_config_set(&c, "max_open_files", "4096", err, sizeof err), 0);
    assert_int_equal(c.max_open_files, 4096);
    /* bad values name the key and change nothing */
    const char *bad[][2] = {{"max_connections", "0"},       {"max_connections", "-3"},
                            {"max_connections", "1e4"},     {"max_connections_per_address", "x"},
                            {"max_open_files", "31"},       {"metrics_access", "everyone"},
                            {"metrics_token", "has space"}, {"metrics_token", "中文"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = '\0';
        assert_int_equal(kb_net_config_set(&c, bad[i][0], bad[i][1], err, sizeof err), -1);
        assert_non_null(strstr(err, bad[i][0]));
    }
    assert_int_equal(c.max_connections, 12);
    assert_int_equal(c.max_open_files, 4096);
    assert_int_equal(c.metrics_access, KB_METRICS_LOOPBACK);
    assert_null(c.metrics_token);
    assert_int_equal(kb_net_config_set(&c, "threads", "4", err, sizeof err), 1); /* not ours */
    kb_net_config_fin(&c);
}

static void test_admit_caps(void **state)
{
    (void)state;
    kb_admit *a = kb_admit_new(5, 2, 0);
    struct kb_addr x = addr("127.0.0.1"), y = addr("127.0.0.2"), z = addr("::1"),
                   w = addr("10.0.0.1");
    assert_int_equal(kb_admit_take(a, &x), KB_REFUSE_NONE);
    assert_int_equal(kb_admit_take(a, &x), KB_REFUSE_NONE);
    assert_int_equal(kb_admit_take(a, &x), KB_REFUSE_PER_ADDRESS); /* third from x */
    assert_int_equal(kb_admit_open_from(a, &x), 2);
    assert_int_equal(kb_admit_take(a, &y), KB_REFUSE_NONE); /* another address is served */
    assert_int_equal(kb_admit_take(a, &z), KB_REFUSE_NONE);
    assert_int_equal(kb_admit_take(a, &z), KB_REFUSE_NONE);
    assert_int_equal(kb_admit_open(a), 5);
    assert_int_equal(kb_admit_addresses(a), 3);
    assert_int_equal(kb_admit_take(a, &w), KB_REFUSE_TOTAL); /* 5 in all */
    kb_admit_release(a, &x);
    assert_int_equal(kb_admit_open(a), 4);
    assert_int_equal(kb_admit_take(a, &x), KB_REFUSE_NONE); /* its place came back */
    /* releasing an address with nothing admitted changes nothing */
    kb_admit_release(a, &w);
    assert_int_equal(kb_admit_open(a), 5);
    kb_admit_release(a, &y);
    assert_int_equal(kb_admit_addresses(a), 2);
    assert_int_equal(kb_admit_open_from(a, &y), 0);
    kb_admit_free(a);

    /* the descriptors allow fewer than max_total: no_fd; per address 0: no cap */
    a = kb_admit_new(100, 0, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(kb_admit_take(a, &x), KB_REFUSE_NONE);
    assert_int_equal(kb_admit_take(a, &y), KB_REFUSE_NO_FD);
    kb_admit_free(a);
    /* ... and when max_total is the lower limit, it is named */
    a = kb_admit_new(2, 0, 50);
    assert_int_equal(kb_admit_take(a, &x), KB_REFUSE_NONE);
    assert_int_equal(kb_admit_take(a, &x), KB_REFUSE_NONE);
    assert_int_equal(kb_admit_take(a, &x), KB_REFUSE_TOTAL);
    kb_admit_free(a);
    assert_string_equal(kb_refusal_name(KB_REFUSE_TOTAL), "total");
    assert_string_equal(kb_refusal_name(KB_REFUSE_PER_ADDRESS), "per_address");
    assert_string_equal(kb_refusal_name(KB_REFUSE_NO_FD), "no_fd");
    kb_admit_free(NULL);
}

static void test_listen_errors(void **state)
{
    (void)state;
    int fd, port;
    char err[KB_ERR_MAX];
    assert_int_equal(kb_net_listen("not-an-address", 0, &fd, &port, err, sizeof err), -1);
    assert_int_equal(fd, -1);
    assert_non_null(strstr(err, "not-an-address"));
    assert_int_equal(kb_net_listen("127.0.0.1", 0, &fd, &port, err, sizeof err), 0);
    assert_true(port > 0);
    int fd2, port2;
    /* the same port again: in use */
    assert_int_equal(kb_net_listen("127.0.0.1", port, &fd2, &port2, err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot listen"));
    close(fd);
}

/* A client socket connected to port (made before the descriptors run out). */
static int client(int port)
{
    int c = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(c >= 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(c, (struct sockaddr *)&sa, sizeof sa), 0);
    return c;
}

/* Waits (bounded) until fd is readable. */
static void wait_readable(int fd)
{
    struct pollfd p = {fd, POLLIN, 0};
    assert_int_equal(poll(&p, 1, 5000), 1);
}

static void test_accept_out_of_descriptors(void **state)
{
    (void)state;
    int lfd, port;
    char err[KB_ERR_MAX];
    assert_int_equal(kb_net_listen("127.0.0.1", 0, &lfd, &port, err, sizeof err), 0);
    int spare = kb_net_spare_open();
    assert_true(spare >= 0);
    /* one connection accepted normally, peer filled in */
    int c0 = client(port);
    wait_readable(lfd);
    int fd;
    struct kb_addr peer;
    assert_int_equal(kb_net_accept(lfd, &spare, "no", 2, &fd, &peer), KB_ACCEPT_OK);
    assert_true(kb_addr_is_loopback(&peer));
    close(fd);
    assert_int_equal(kb_net_accept(lfd, &spare, "no", 2, &fd, &peer), KB_ACCEPT_AGAIN);
    assert_int_equal(fd, -1);

    /* the clients exist before the descriptors run out */
    int c1 = client(port), c2 = client(port);
    struct rlimit old;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    long got, hard;
    int in_use = kb_net_count_open_fds();
    assert_true(in_use > 0);
    assert_int_equal(kb_net_set_nofile(in_use + 40, 1, &got, &hard), 0);
    assert_int_equal(got, in_use + 40);
    int fill[64], nfill = 0;
    while (nfill < 64) {
        int d = open("/dev/null", O_RDONLY);
        if (d < 0) {
            assert_int_equal(errno, EMFILE);
            break;
        }
        fill[nfill++] = d;
    }
    assert_true(nfill < 64); /* really out of descriptors now */

    /* with the spare: the waiting connection is taken, refused and closed */
    static const char refusal[] = KB_NET_REFUSAL;
    enum kb_accept_result r = kb_net_accept(lfd, &spare, refusal, sizeof refusal - 1, &fd, &peer);
    assert_int_equal(r, KB_ACCEPT_SHED);
    assert_true(spare >= 0); /* reopened */
    char buf[512];
    wait_readable(c1);
    ssize_t n = recv(c1, buf, sizeof buf - 1, 0);
    assert_int_equal(n, (ssize_t)sizeof refusal - 1);
    buf[n] = '\0';
    assert_string_equal(buf, refusal);

    /* without a spare: nothing accepted, the caller is told to back off */
    close(spare);
    spare = -1;
    int d = open("/dev/null", O_RDONLY); /* takes the spare's slot */
    assert_true(d >= 0);
    fill[nfill++] = d;
    r = kb_net_accept(lfd, &spare, refusal, sizeof refusal - 1, &fd, &peer);
    assert_int_equal(r, KB_ACCEPT_NOFD);
    assert_int_equal(spare, -1);

    /* descriptors back: c2 is accepted */
    for (int i = 0; i < nfill; i++)
        close(fill[i]);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    spare = kb_net_spare_open();
    assert_int_equal(kb_net_accept(lfd, &spare, refusal, sizeof refusal - 1, &fd, &peer),
                     KB_ACCEPT_OK);
    close(fd);
    close(c0);
    close(c1);
    close(c2);
    close(spare);
    close(lfd);
}

/* The refusal written without lws is a well-formed answer: its
 * Content-Length is its body's length, the body the error shape. */
static void test_refusal_answer(void **state)
{
    (void)state;
    const char *r = KB_NET_REFUSAL;
    assert_true(strncmp(r, "HTTP/1.1 503 ", 13) == 0);
    const char *end = strstr(r, "\r\n\r\n");
    assert_non_null(end);
    const char *cl = strstr(r, "Content-Length: ");
    assert_non_null(cl);
    assert_true(cl < end);
    assert_int_equal(strtol(cl + 16, NULL, 10), (long)strlen(end + 4));
    assert_string_equal(end + 4, KB_NET_REFUSAL_BODY);
    assert_non_null(strstr(end + 4, "\"code\":\"too_many_connections\""));
    assert_non_null(strstr(r, "\r\nRetry-After: 5\r\n"));
}

static void test_set_nofile(void **state)
{
    (void)state;
    struct rlimit old;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    long got, hard;
    /* not exact: never lowered */
    assert_int_equal(kb_net_set_nofile(64, 0, &got, &hard), 0);
    assert_int_equal(got, (long)old.rlim_cur);
    /* exact: lowered, and raised again */
    assert_int_equal(kb_net_set_nofile(200, 1, &got, &hard), 0);
    assert_int_equal(got, 200);
    assert_int_equal(kb_net_set_nofile((long)old.rlim_cur, 1, &got, &hard), 0);
    assert_int_equal(got, (long)old.rlim_cur);
    /* above the hard limit: the hard limit is what one gets */
    if (old.rlim_max != RLIM_INFINITY && old.rlim_max < 16 * 1024 * 1024) {
        assert_int_equal(kb_net_set_nofile((long)old.rlim_max + 10, 0, &got, &hard), 0);
        assert_int_equal(got, (long)old.rlim_max);
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loopback_predicate),
        cmocka_unit_test(test_addr_mapped_and_format),
        cmocka_unit_test(test_metrics_rule),
        cmocka_unit_test(test_config_keys),
        cmocka_unit_test(test_admit_caps),
        cmocka_unit_test(test_listen_errors),
        cmocka_unit_test(test_accept_out_of_descriptors),
        cmocka_unit_test(test_refusal_answer),
        cmocka_unit_test(test_set_nofile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
