/* Unit tests for kb_pinyin: readings and sound-alike characters from the
 * embedded Unihan table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "kb_pinyin.h"

static int has(const uint32_t *v, size_t n, uint32_t c)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == c)
            return 1;
    return 0;
}

static void readings(void **state)
{
    (void)state;
    const char *r[2];
    assert_int_equal(kb_pinyin_readings(0x54ED /* 哭 */, r), 1);
    assert_string_equal(r[0], "ku");
    assert_int_equal(kb_pinyin_readings(0x7F6E /* 置 */, r), 1);
    assert_string_equal(r[0], "zhi");
    size_t n = kb_pinyin_readings(0x6C88 /* 沈: chen, shen */, r);
    assert_int_equal(n, 2);
    assert_true((!strcmp(r[0], "chen") && !strcmp(r[1], "shen")) ||
                (!strcmp(r[0], "shen") && !strcmp(r[1], "chen")));
    assert_int_equal(kb_pinyin_readings('A', r), 0);
    assert_int_equal(kb_pinyin_readings(0x5E33 /* 帳: not in GB 2312 */, r), 0);
}

static void alike(void **state)
{
    (void)state;
    uint32_t v[512];
    size_t n = kb_pinyin_alike(0x54ED /* 哭 */, KB_PINYIN_SAME, v, 512);
    assert_true(n > 5);
    assert_true(has(v, n, 0x5E93)); /* 库 */
    assert_false(has(v, n, 0x54ED)); /* not itself */
    for (size_t i = 1; i < n; i++)
        assert_true(v[i - 1] < v[i]); /* sorted, each once */
    n = kb_pinyin_alike(0x5236 /* 制 zhi */, KB_PINYIN_SAME, v, 512);
    assert_true(has(v, n, 0x7F6E));  /* 置 */
    assert_false(has(v, n, 0x5B57)); /* 字 zi: only near */
    n = kb_pinyin_alike(0x5236, KB_PINYIN_NEAR, v, 512);
    assert_true(has(v, n, 0x7F6E) && has(v, n, 0x5B57));
    n = kb_pinyin_alike(0x91CC /* 里 li */, KB_PINYIN_NEAR, v, 512);
    assert_true(has(v, n, 0x7406) && has(v, n, 0x4F60)); /* 理 li, 你 ni (n/l) */
    assert_int_equal(kb_pinyin_alike(0x54ED, KB_PINYIN_SAME, v, 3), 3); /* bounded */
    assert_int_equal(kb_pinyin_alike('x', KB_PINYIN_NEAR, v, 512), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(readings),
        cmocka_unit_test(alike),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
