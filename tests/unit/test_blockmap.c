/* Unit tests for kb_blockmap: every pread of a mapped ".glass" file returns
 * what the kernel's pread returns (random offsets and lengths, across the
 * end of the file, after the file grows or is rewritten in place, after it
 * is truncated under the mapping, after its descriptor number is reused),
 * from several threads at once; files opened while the map is off are left
 * alone. The reference is the pread system call itself (syscall(2), which
 * the interposer cannot see). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kb_blockmap.h"

static char dir[64];

static ssize_t kernel_pread(int fd, void *buf, size_t n, off_t off)
{
    return syscall(SYS_pread64, fd, buf, n, off);
}

static void path_of(char *out, size_t len, const char *name)
{
    snprintf(out, len, "%s/%s", dir, name);
}

/* writes n pseudo-random bytes (seeded) at the end of the file at path */
static void append_random(const char *path, size_t n, unsigned seed)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    assert_true(fd >= 0);
    char *b = malloc(n);
    assert_non_null(b);
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        b[i] = (char)(seed >> 16);
    }
    assert_int_equal(write(fd, b, n), (ssize_t)n);
    free(b);
    assert_int_equal(close(fd), 0);
}

/* count random preads through the interposer equal the kernel's */
static void same_as_kernel(int fd, size_t size, int count, unsigned seed)
{
    static char a[70000], b[70000];
    for (int i = 0; i < count; i++) {
        seed = seed * 1103515245u + 12345u;
        size_t off = (seed >> 8) % (size + 9000);
        seed = seed * 1103515245u + 12345u;
        size_t n = 1 + (seed >> 8) % (i % 4 == 0 ? sizeof a - 1 : 8192);
        memset(a, 0x55, sizeof a);
        memset(b, 0x55, sizeof b);
        ssize_t ra = pread(fd, a, n, (off_t)off);
        ssize_t rb = kernel_pread(fd, b, n, (off_t)off);
        assert_int_equal(ra, rb);
        assert_memory_equal(a, b, n);
    }
}

static unsigned long long hits(void)
{
    struct kb_blockmap_stats st;
    kb_blockmap_stats(&st);
    return st.hits;
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/test_blockmap.XXXXXX");
    assert_non_null(mkdtemp(dir));
    kb_blockmap_set(1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd);
}

static void reads_equal_kernel(void **state)
{
    (void)state;
    char p[128];
    path_of(p, sizeof p, "reads.glass");
    append_random(p, 300000 + 123, 1);
    int fd = open(p, O_RDONLY);
    assert_true(fd >= 0);
    size_t len = 0;
    assert_true(kb_blockmap_mapped(fd, &len));
    assert_int_equal(len, 300123);
    unsigned long long h = hits();
    same_as_kernel(fd, 300123, 2000, 7);
    assert_true(hits() > h + 1000); /* served from the mapping */
    /* exactly at and past the end: 0, as the kernel says */
    char c;
    assert_int_equal(pread(fd, &c, 1, 300123), 0);
    assert_int_equal(pread(fd, &c, 1, 400000), 0);
    /* the readahead advice is taken and dropped */
    assert_int_equal(posix_fadvise(fd, 0, 8192, POSIX_FADV_WILLNEED), 0);
    assert_int_equal(close(fd), 0);
    assert_false(kb_blockmap_mapped(fd, NULL));
}

static void file_grows_and_changes(void **state)
{
    (void)state;
    char p[128];
    path_of(p, sizeof p, "grow.glass");
    append_random(p, 65536, 2);
    int fd = open(p, O_RDONLY);
    assert_true(fd >= 0);
    same_as_kernel(fd, 65536, 200, 3);
    /* the indexer appends a revision: the reader sees the new blocks */
    append_random(p, 100000, 4);
    same_as_kernel(fd, 165536, 500, 5);
    size_t len = 0;
    assert_true(kb_blockmap_mapped(fd, &len));
    assert_int_equal(len, 165536);
    /* a block rewritten in place is seen at once (MAP_SHARED) */
    int w = open(p, O_WRONLY);
    assert_true(w >= 0);
    char blk[8192];
    memset(blk, 'x', sizeof blk);
    assert_int_equal(pwrite(w, blk, sizeof blk, 16384), (ssize_t)sizeof blk);
    assert_int_equal(close(w), 0);
    char got[8192];
    assert_int_equal(pread(fd, got, sizeof got, 16384), (ssize_t)sizeof got);
    assert_memory_equal(got, blk, sizeof blk);
    assert_int_equal(close(fd), 0);
}

static void file_truncated(void **state)
{
    (void)state;
    char p[128];
    path_of(p, sizeof p, "trunc.glass");
    append_random(p, 1 << 20, 6);
    int fd = open(p, O_RDONLY);
    assert_true(fd >= 0);
    same_as_kernel(fd, 1 << 20, 100, 8);
    struct kb_blockmap_stats before, after;
    kb_blockmap_stats(&before);
    kb_blockmap_catch_sigbus(); /* cmocka installs its own per test */
    /* cut to a whole number of pages: the mapped pages past it fault */
    assert_int_equal(truncate(p, 65536), 0);
    char a[8192], b[8192];
    assert_int_equal(pread(fd, a, sizeof a, 500000), 0);
    kb_blockmap_stats(&after);
    assert_int_equal(after.sigbus, before.sigbus + 1);
    /* and the rest still reads what the kernel reads */
    assert_int_equal(pread(fd, a, sizeof a, 8192), (ssize_t)sizeof a);
    assert_int_equal(kernel_pread(fd, b, sizeof b, 8192), (ssize_t)sizeof b);
    assert_memory_equal(a, b, sizeof a);
    same_as_kernel(fd, 65536, 300, 9);
    /* and it grows again */
    append_random(p, 50000, 10);
    same_as_kernel(fd, 115536, 300, 11);
    assert_int_equal(close(fd), 0);
}

static void descriptor_reused(void **state)
{
    (void)state;
    char p1[128], p2[128], p3[128];
    path_of(p1, sizeof p1, "one.glass");
    path_of(p2, sizeof p2, "two.glass");
    path_of(p3, sizeof p3, "three.data");
    append_random(p1, 40000, 12);
    append_random(p2, 30000, 13);
    append_random(p3, 20000, 14);
    int fd = open(p1, O_RDONLY);
    assert_true(fd >= 0);
    same_as_kernel(fd, 40000, 100, 15);
    assert_int_equal(close(fd), 0);
    int fd2 = open(p2, O_RDONLY);
    assert_int_equal(fd2, fd); /* the lowest free number again */
    size_t len = 0;
    assert_true(kb_blockmap_mapped(fd2, &len));
    assert_int_equal(len, 30000);
    same_as_kernel(fd2, 30000, 200, 16);
    assert_int_equal(close(fd2), 0);
    /* a file that is not a glass table, or not read-only, is not mapped */
    int fd3 = open(p3, O_RDONLY);
    assert_int_equal(fd3, fd);
    assert_false(kb_blockmap_mapped(fd3, NULL));
    same_as_kernel(fd3, 20000, 100, 17);
    assert_int_equal(close(fd3), 0);
    int fd4 = open(p2, O_RDWR);
    assert_true(fd4 >= 0);
    assert_false(kb_blockmap_mapped(fd4, NULL));
    assert_int_equal(close(fd4), 0);
    /* an empty table is mapped once it has something in it */
    char p4[128];
    path_of(p4, sizeof p4, "empty.glass");
    int w = open(p4, O_WRONLY | O_CREAT, 0644);
    assert_true(w >= 0);
    assert_int_equal(close(w), 0);
    int fd5 = open(p4, O_RDONLY);
    assert_true(fd5 >= 0);
    char c;
    assert_int_equal(pread(fd5, &c, 1, 0), 0);
    append_random(p4, 10000, 18);
    same_as_kernel(fd5, 10000, 100, 19);
    assert_true(kb_blockmap_mapped(fd5, NULL));
    assert_int_equal(close(fd5), 0);
}

struct reader {
    int fd;
    unsigned seed;
};

static void *read_many(void *arg)
{
    struct reader *r = arg;
    static _Thread_local char a[8192], b[8192];
    for (int i = 0; i < 5000; i++) {
        r->seed = r->seed * 1103515245u + 12345u;
        off_t off = (off_t)((r->seed >> 8) % 250000);
        if (pread(r->fd, a, sizeof a, off) != kernel_pread(r->fd, b, sizeof b, off) ||
            memcmp(a, b, sizeof a))
            return (void *)1;
    }
    return NULL;
}

static void threads_share_a_file(void **state)
{
    (void)state;
    char p[128];
    path_of(p, sizeof p, "threads.glass");
    append_random(p, 250000, 20);
    int fd = open(p, O_RDONLY);
    assert_true(fd >= 0);
    pthread_t t[4];
    struct reader r[4];
    for (int i = 0; i < 4; i++) {
        r[i].fd = fd;
        r[i].seed = 100u + (unsigned)i;
        assert_int_equal(pthread_create(&t[i], NULL, read_many, &r[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        void *rc;
        assert_int_equal(pthread_join(t[i], &rc), 0);
        assert_null(rc);
    }
    assert_int_equal(close(fd), 0);
}

static void switched_off(void **state)
{
    (void)state;
    char p[128];
    path_of(p, sizeof p, "off.glass");
    append_random(p, 50000, 21);
    kb_blockmap_set(0);
    assert_false(kb_blockmap_enabled());
    int fd = open(p, O_RDONLY);
    assert_true(fd >= 0);
    assert_false(kb_blockmap_mapped(fd, NULL));
    unsigned long long h = hits();
    same_as_kernel(fd, 50000, 200, 22);
    assert_int_equal(hits(), h);
    assert_int_equal(close(fd), 0);
    kb_blockmap_set(1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_equal_kernel),   cmocka_unit_test(file_grows_and_changes),
        cmocka_unit_test(file_truncated),       cmocka_unit_test(descriptor_reused),
        cmocka_unit_test(threads_share_a_file), cmocka_unit_test(switched_off),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
