/* kb_map: a hash map from strings to pointers (open addressing, linear
 * probing). Keys are copied and owned by the map; values are borrowed unless
 * the caller frees them (kb_map_free takes an optional value destructor). */
#ifndef KB_MAP_H
#define KB_MAP_H

#include <stddef.h>

typedef struct kb_map kb_map;

/* Never NULL; caller frees with kb_map_free. */
kb_map *kb_map_new(void);
/* Frees keys, and each value with free_value if it is not NULL.
 * kb_map_free(NULL, ...) is a no-op. */
void kb_map_free(kb_map *m, void (*free_value)(void *));

/* Sets key to value; returns the previous value (NULL if none), which the
 * caller then owns. */
void *kb_map_put(kb_map *m, const char *key, void *value);
/* The value for key, or NULL. */
void *kb_map_get(const kb_map *m, const char *key);
/* The value for key[0, len) (need not be NUL-terminated), or NULL. */
void *kb_map_getn(const kb_map *m, const char *key, size_t len);
/* Removes key; returns its value (caller owns it) or NULL. */
void *kb_map_del(kb_map *m, const char *key);
size_t kb_map_count(const kb_map *m);

/* Iteration: start with *it = 0; returns 1 with *key / *value set, or 0 at
 * the end. Do not modify the map while iterating. */
int kb_map_next(const kb_map *m, size_t *it, const char **key, void **value);

#endif
