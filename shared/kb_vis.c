/* kb_vis: the visibility rule for one document and the shadow alphabet of
 * internal spelling words (see kb_vis.h). */
#include "kb_vis.h"
#include "kb_utf8.h"
#include "kb_util.h"

#include <string.h>

int kb_vis_may_see(const char *visibility, int internal)
{
    return internal || !visibility || strcmp(visibility, "public") == 0;
}

/* Maps every code point of s through f; NULL if f refuses one or s is not
 * valid UTF-8. */
static char *map_cps(const char *s, size_t len, int32_t (*f)(int32_t))
{
    if (!s || !len)
        return NULL;
    struct kb_buf b;
    kb_buf_init(&b);
    for (size_t i = 0; i < len;) {
        int32_t cp = kb_utf8_next(s, len, &i);
        int32_t m = cp < 0 ? -1 : f(cp);
        char enc[4];
        size_t n = m < 0 ? 0 : kb_utf8_encode(m, enc);
        if (!n) {
            kb_buf_fin(&b);
            return NULL;
        }
        kb_buf_add(&b, enc, n);
    }
    return kb_buf_take(&b);
}

static int32_t to_shadow(int32_t cp)
{
    return cp > 0 && cp < 0xFFFE ? KB_VIS_SHADOW_BASE + cp : -1;
}

static int32_t from_shadow(int32_t cp)
{
    return cp > KB_VIS_SHADOW_BASE && cp < KB_VIS_SHADOW_BASE + 0xFFFE ? cp - KB_VIS_SHADOW_BASE
                                                                       : -1;
}

char *kb_vis_shadow(const char *word, size_t len)
{
    return map_cps(word, len, to_shadow);
}

char *kb_vis_unshadow(const char *s, size_t len)
{
    return map_cps(s, len, from_shadow);
}

int kb_vis_has_shadow(const char *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        int32_t cp = kb_utf8_next(s, len, &i);
        if (cp < 0 || cp >= KB_VIS_SHADOW_BASE)
            return 1;
    }
    return 0;
}
