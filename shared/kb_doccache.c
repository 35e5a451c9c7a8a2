/* kb_doccache: byte strings by document id, direct-mapped, within a byte
 * budget (see kb_doccache.h). */
#include "kb_doccache.h"
#include "kb_util.h"

#include <stdlib.h>

/* One slot per this many bytes of budget: heads average about 3 KB, so
 * about a third of the slots fill before the budget does. */
#define BYTES_PER_SLOT 1024
#define MIN_SLOTS 64
#define MAX_SLOTS (1u << 20)

struct slot {
    char *bytes; /* owned; NULL: empty */
    size_t len;
    uint32_t docid;
};

struct kb_doccache {
    struct slot *slots;
    size_t mask; /* slots - 1 (a power of two) */
    size_t budget, used, count;
};

kb_doccache *kb_doccache_new(size_t budget)
{
    if (budget == 0)
        return NULL;
    size_t want = budget / BYTES_PER_SLOT, n = MIN_SLOTS;
    while (n < want && n < MAX_SLOTS)
        n <<= 1;
    kb_doccache *c = kb_xcalloc(1, sizeof *c);
    c->slots = kb_xcalloc(n, sizeof *c->slots);
    c->mask = n - 1;
    c->budget = budget;
    return c;
}

static struct slot *slot_of(kb_doccache *c, uint32_t docid)
{
    /* Fibonacci hashing: neighbouring ids land far apart */
    return &c->slots[(size_t)((docid * 2654435769u) >> 8) & c->mask];
}

static void drop(kb_doccache *c, struct slot *s)
{
    if (!s->bytes)
        return;
    free(s->bytes);
    c->used -= s->len;
    c->count--;
    s->bytes = NULL;
    s->len = 0;
}

void kb_doccache_clear(kb_doccache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i <= c->mask; i++)
        drop(c, &c->slots[i]);
}

void kb_doccache_free(kb_doccache *c)
{
    if (!c)
        return;
    kb_doccache_clear(c);
    free(c->slots);
    free(c);
}

const char *kb_doccache_get(kb_doccache *c, uint32_t docid, size_t *len)
{
    if (!c)
        return NULL;
    struct slot *s = slot_of(c, docid);
    if (!s->bytes || s->docid != docid)
        return NULL;
    *len = s->len;
    return s->bytes;
}

void kb_doccache_put(kb_doccache *c, uint32_t docid, char *bytes, size_t len)
{
    if (!c) {
        free(bytes);
        return;
    }
    struct slot *s = slot_of(c, docid);
    drop(c, s);
    if (len > c->budget - c->used) {
        free(bytes);
        return;
    }
    s->bytes = bytes;
    s->len = len;
    s->docid = docid;
    c->used += len;
    c->count++;
}

size_t kb_doccache_bytes(const kb_doccache *c)
{
    return c ? c->used : 0;
}

size_t kb_doccache_count(const kb_doccache *c)
{
    return c ? c->count : 0;
}
