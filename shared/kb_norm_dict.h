/* kb_norm_dict: lists the dictionary keys an OpenCC configuration can match,
 * so kb_norm can tell, without running OpenCC, that a text holds nothing
 * OpenCC would convert. Implemented in C++ over OpenCC's C++ API (the C API
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
 * cb every key of every dictionary it uses: the segmentation's and each
 * conversion's, groups expanded. Returns 0 when every key was listed, the
 * callback's non-zero value, or -1 with a message in err when the
 * configuration cannot be loaded or uses a segmentation whose dictionary
 * cannot be listed (the caller must then assume any text may change). */
int kb_norm_dict_keys(const char *config, kb_norm_dict_cb cb, void *ud, char *err,
                      size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
