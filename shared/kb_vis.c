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

/* Latin letters go to the BMP's Private Use Area, one per 64 code points
 * (U+E040 for a ... U+E680 for z), so the second byte of their UTF-8 form
 * tells them apart: Xapian builds spelling candidates from byte fragments,
 * and with every letter sharing its first bytes (as in plane 15) each
 * lookup would weigh every internal word. Anything else moves to plane 15
 * (U+F0000 + c). */
#define LATIN_BASE 0xE000
#define LATIN_STEP 64

static int32_t to_shadow(int32_t cp)
{
    if (cp >= 'a' && cp <= 'z')
        return LATIN_BASE + (cp - 0x60) * LATIN_STEP;
    return cp > 0 && cp < 0xFFFE ? KB_VIS_SHADOW_BASE + cp : -1;
}

static int32_t from_shadow(int32_t cp)
{
    if (cp >= LATIN_BASE + LATIN_STEP && cp <= LATIN_BASE + 26 * LATIN_STEP)
        return (cp - LATIN_BASE) % LATIN_STEP ? -1 : 0x60 + (cp - LATIN_BASE) / LATIN_STEP;
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
        if (cp < 0 || cp >= KB_VIS_SHADOW_BASE || (cp >= 0xE000 && cp <= 0xF8FF))
            return 1;
    }
    return 0;
}
