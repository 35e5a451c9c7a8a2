/* kb_pinyin: toneless Mandarin readings of the 6,763 GB 2312 characters
 * (from Unicode's Unihan database, see scripts/gen_pinyin.py) and the
 * characters that sound the same or nearly so, for correcting Chinese
 * typos by sound (知识哭 → 知识库, 配制管理 → 配置管理). The tables are
 * built once per process on first use (thread-safe) and read-only after;
 * nothing here allocates for the caller. */
#ifndef KB_PINYIN_H
#define KB_PINYIN_H

#include <stddef.h>
#include <stdint.h>

/* How alike two readings must be. */
enum kb_pinyin_match {
    KB_PINYIN_SAME = 0, /* the same syllable, tones aside (哭 kū, 库 kù) */
    KB_PINYIN_NEAR = 1  /* also zh/z, ch/c, sh/s, n/l, -ng/-n alike (制 zhì, 字 zì) */
};

/* The characters other than cp that share a reading with cp at the given
 * match, at most max of them into out, in code point order, each once.
 * Returns how many were written (0 for a character without a reading). */
size_t kb_pinyin_alike(uint32_t cp, enum kb_pinyin_match match, uint32_t *out, size_t max);

/* The toneless readings of cp ("ku"), at most 2, into out (pointers to
 * static strings). Returns how many. */
size_t kb_pinyin_readings(uint32_t cp, const char *out[2]);

/* The keys of cp's readings at the given match (SAME: the toneless
 * syllables; NEAR: their folded forms), at most 2, into out (static
 * strings). Two characters with a key in common sound alike at that match.
 * Returns how many (0 for a character without a reading). */
size_t kb_pinyin_keys(uint32_t cp, enum kb_pinyin_match match, const char *out[2]);

#endif
