/* kb_doccache: entries by document id, replacement in a slot, the byte
 * budget, clearing, and a NULL cache (budget 0). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "kb_doccache.h"
#include "kb_util.h"

static char *bytes_of(const char *s)
{
    return kb_xstrdup(s);
}

static void get_and_put(void **state)
{
    (void)state;
    kb_doccache *c = kb_doccache_new(64 * 1024);
    assert_non_null(c);
    size_t len = 0;
    assert_null(kb_doccache_get(c, 7, &len));
    kb_doccache_put(c, 7, bytes_of("seven"), 5);
    kb_doccache_put(c, 8, bytes_of("eight!"), 6);
    const char *b = kb_doccache_get(c, 7, &len);
    assert_non_null(b);
    assert_int_equal(len, 5);
    assert_memory_equal(b, "seven", 5);
    b = kb_doccache_get(c, 8, &len);
    assert_int_equal(len, 6);
    assert_memory_equal(b, "eight!", 6);
    assert_null(kb_doccache_get(c, 9, &len));
    assert_int_equal(kb_doccache_count(c), 2);
    assert_int_equal(kb_doccache_bytes(c), 11);
    /* the same id again: replaced, counted once */
    kb_doccache_put(c, 7, bytes_of("SEVEN!!"), 7);
    b = kb_doccache_get(c, 7, &len);
    assert_int_equal(len, 7);
    assert_memory_equal(b, "SEVEN!!", 7);
    assert_int_equal(kb_doccache_count(c), 2);
    assert_int_equal(kb_doccache_bytes(c), 13);
    kb_doccache_clear(c);
    assert_int_equal(kb_doccache_count(c), 0);
    assert_int_equal(kb_doccache_bytes(c), 0);
    assert_null(kb_doccache_get(c, 7, &len));
    assert_null(kb_doccache_get(c, 8, &len));
    kb_doccache_free(c);
}

/* Many ids through a small cache: every id found returns its own bytes,
 * and the bytes held never exceed the budget. */
static void budget_and_collisions(void **state)
{
    (void)state;
    const size_t budget = 8 * 1024;
    kb_doccache *c = kb_doccache_new(budget);
    char buf[64];
    for (uint32_t id = 1; id <= 5000; id++) {
        size_t n = (size_t)snprintf(buf, sizeof buf, "doc %u %*s", id, (int)(id % 40), "");
        kb_doccache_put(c, id, bytes_of(buf), n);
        assert_true(kb_doccache_bytes(c) <= budget);
    }
    size_t found = 0, len = 0;
    for (uint32_t id = 1; id <= 5000; id++) {
        const char *b = kb_doccache_get(c, id, &len);
        if (!b)
            continue;
        found++;
        size_t n = (size_t)snprintf(buf, sizeof buf, "doc %u %*s", id, (int)(id % 40), "");
        assert_int_equal(len, n);
        assert_memory_equal(b, buf, n);
    }
    assert_int_equal(found, kb_doccache_count(c));
    assert_true(found > 0);
    /* an entry larger than the budget is not kept (and is freed: ASan) */
    char *big = kb_xmalloc(budget + 1);
    memset(big, 'x', budget + 1);
    kb_doccache_put(c, 99999, big, budget + 1);
    assert_null(kb_doccache_get(c, 99999, &len));
    assert_true(kb_doccache_bytes(c) <= budget);
    kb_doccache_free(c);
}

static void no_cache(void **state)
{
    (void)state;
    kb_doccache *c = kb_doccache_new(0);
    assert_null(c);
    size_t len = 0;
    kb_doccache_put(c, 1, bytes_of("freed, not kept"), 15);
    assert_null(kb_doccache_get(c, 1, &len));
    assert_int_equal(kb_doccache_bytes(c), 0);
    assert_int_equal(kb_doccache_count(c), 0);
    kb_doccache_clear(c);
    kb_doccache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(get_and_put),
        cmocka_unit_test(budget_and_collisions),
        cmocka_unit_test(no_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
