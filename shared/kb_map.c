/* kb_map: string-keyed hash map with tombstone-free deletion (backward
 * shift), so lookups never slow down after many deletes. */
#include "kb_map.h"
#include "kb_util.h"

#include <stdlib.h>
#include <string.h>

struct ent {
    char *key;
    void *value;
};

struct kb_map {
    struct ent *e;
    size_t cap, n;
};

kb_map *kb_map_new(void)
{
    kb_map *m = kb_xcalloc(1, sizeof *m);
    m->cap = 16;
    m->e = kb_xcalloc(m->cap, sizeof *m->e);
    return m;
}

void kb_map_free(kb_map *m, void (*free_value)(void *))
{
    if (!m)
        return;
    for (size_t i = 0; i < m->cap; i++)
        if (m->e[i].key) {
            free(m->e[i].key);
            if (free_value)
                free_value(m->e[i].value);
        }
    free(m->e);
    free(m);
}

static size_t slot_of(const kb_map *m, const char *key)
{
    size_t mask = m->cap - 1, i = (size_t)kb_hash64(key, strlen(key)) & mask;
    while (m->e[i].key && strcmp(m->e[i].key, key) != 0)
        i = (i + 1) & mask;
    return i;
}

static void grow(kb_map *m)
{
    struct ent *old = m->e;
    size_t oldcap = m->cap;
    m->cap *= 2;
    m->e = kb_xcalloc(m->cap, sizeof *m->e);
    for (size_t i = 0; i < oldcap; i++)
        if (old[i].key)
            m->e[slot_of(m, old[i].key)] = old[i];
    free(old);
}

void *kb_map_put(kb_map *m, const char *key, void *value)
{
    size_t i = slot_of(m, key);
    if (m->e[i].key) {
        void *prev = m->e[i].value;
        m->e[i].value = value;
        return prev;
    }
    m->e[i].key = kb_xstrdup(key);
    m->e[i].value = value;
    if (++m->n * 2 > m->cap)
        grow(m);
    return NULL;
}

void *kb_map_get(const kb_map *m, const char *key)
{
    size_t i = slot_of(m, key);
    return m->e[i].key ? m->e[i].value : NULL;
}

void *kb_map_getn(const kb_map *m, const char *key, size_t len)
{
    size_t mask = m->cap - 1, i = (size_t)kb_hash64(key, len) & mask;
    while (m->e[i].key && (strncmp(m->e[i].key, key, len) != 0 || m->e[i].key[len] != '\0'))
        i = (i + 1) & mask;
    return m->e[i].key ? m->e[i].value : NULL;
}

void *kb_map_del(kb_map *m, const char *key)
{
    size_t mask = m->cap - 1, i = slot_of(m, key);
    if (!m->e[i].key)
        return NULL;
    void *v = m->e[i].value;
    free(m->e[i].key);
    m->e[i].key = NULL;
    m->n--;
    /* shift back the entries of the cluster that follows */
    for (size_t j = (i + 1) & mask; m->e[j].key; j = (j + 1) & mask) {
        size_t home = (size_t)kb_hash64(m->e[j].key, strlen(m->e[j].key)) & mask;
        /* can entry j move to the hole at i? (home not cyclically in (i, j]) */
        int move = (i <= j) ? (home <= i || home > j) : (home <= i && home > j);
        if (move) {
            m->e[i] = m->e[j];
            m->e[j].key = NULL;
            i = j;
        }
    }
    return v;
}

size_t kb_map_count(const kb_map *m)
{
    return m->n;
}

int kb_map_next(const kb_map *m, size_t *it, const char **key, void **value)
{
    while (*it < m->cap) {
        size_t i = (*it)++;
        if (m->e[i].key) {
            *key = m->e[i].key;
            if (value)
                *value = m->e[i].value;
            return 1;
        }
    }
    return 0;
}
