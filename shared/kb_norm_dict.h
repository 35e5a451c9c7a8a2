/* kb_norm_dict: lists the dictionary keys with which an OpenCC configuration
 * can change text, so kb_norm can tell, without running OpenCC, that a text
 * holds nothing OpenCC would convert. Implemented in C++ over OpenCC's C++ API (the C API
 * has no way to see the dictionaries); no exception leaves it. */
#ifndef KB_NORM_DICT_H
#define KB_NORM_DICT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Called once per key (UTF-8, not NUL-terminated, borrowed for the call).
 * Returns 0 to go on, non-zero to stop. */
typedef int (*kb_norm_dict_cb)(void *ud, const char *key, size_t len);

/* Loads the OpenCC configuration config (as opencc_open finds it) and hands
 * cb every key of each conversion's dictionary (groups expanded) whose
 * conversion is not the key itself.
 *
 * Why that suffices: a conversion replaces, within each segment, the
 * longest key matching at each position by that key's default value, and
 * copies unmatched characters. So a conversion changes text only where one
 * of these keys occurs in its input; if none occurs in the text, the first
 * conversion returns it unchanged, and so on down the chain. The
 * segmentation only limits where keys may match; its dictionary does not
 * matter.
 *
 * Returns 0 when every key was listed, the callback's non-zero value, or -1
 * with a message in err when the configuration cannot be loaded (the
 * caller must then assume any text may change). */
int kb_norm_dict_keys(const char *config, kb_norm_dict_cb cb, void *ud, char *err,
                      size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
