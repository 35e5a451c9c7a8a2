/* cache: the LRU result cache of searchd (see cache.h). A chained hash
 * table (power-of-two buckets, doubled when it holds more entries than
 * buckets) over entries that also sit on one doubly linked list, most
 * recently used first. The key is a byte string packing the request's
 * fields with their lengths, so no two requests share a key. */
#include "cache.h"
#include "metrics.h"
#include "kb_util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_MIN_BUCKETS 256
#define CACHED_MEMBER "\"cached\":true,"

struct entry {
    struct entry *hnext;         /* hash chain */
    struct entry *prev, *next;   /* LRU list, most recent first */
    uint64_t hash;
    enum sd_endpoint ep;
    int status;
    const char *content_type;    /* static string */
    const char *cache_control;   /* static string or NULL */
    size_t klen, blen;
    char *key;                   /* owned */
    char *body;                  /* owned */
};

struct sd_cache {
    pthread_mutex_t mu;
    size_t max_bytes, bytes, count;
    struct entry **buckets;      /* owned array of nbuckets chains */
    size_t nbuckets;
    struct entry *head, *tail;   /* LRU list */
    uint64_t rev;
    int have_rev;
};

/* ---- keys ------------------------------------------------------------------ */

static void key_u32(struct kb_buf *b, uint32_t v)
{
    unsigned char x[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    kb_buf_add(b, (const char *)x, 4);
}

/* a string field: its length (0xffffffff for absent) and its bytes */
static void key_str(struct kb_buf *b, const char *s, size_t n)
{
    if (!s) {
        key_u32(b, 0xffffffffu);
        return;
    }
    key_u32(b, (uint32_t)n);
    kb_buf_add(b, s, n);
}

static void make_key(const struct sd_request *r, struct kb_buf *b)
{
    key_u32(b, (uint32_t)r->ep);
    key_u32(b, r->internal ? 1 : 0);
    key_u32(b, r->limit);
    key_u32(b, r->offset);
    key_u32(b, r->min_conf);
    key_u32(b, r->facets ? 1 : 0);
    key_str(b, r->q, r->qlen);
    key_str(b, r->kind, r->kind ? strlen(r->kind) : 0);
    key_str(b, r->category, r->category ? strlen(r->category) : 0);
    key_str(b, r->lang, r->lang ? strlen(r->lang) : 0);
    key_str(b, r->standard, r->standard ? strlen(r->standard) : 0);
}

static uint64_t hash_bytes(const char *p, size_t n)
{
    uint64_t h = kb_hash64(p, n); /* FNV-1a, its high bits folded into the low */
    return h ^ (h >> 29);
}

static size_t entry_cost(size_t klen, size_t blen)
{
    return sizeof(struct entry) + klen + blen;
}

/* ---- the table and the list (called with mu held) --------------------------- */

static void lru_unlink(sd_cache *c, struct entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        c->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->tail = e->prev;
    e->prev = e->next = NULL;
}

static void lru_push_front(sd_cache *c, struct entry *e)
{
    e->prev = NULL;
    e->next = c->head;
    if (c->head)
        c->head->prev = e;
    else
        c->tail = e;
    c->head = e;
}

static struct entry **find_slot(sd_cache *c, uint64_t h, const char *key, size_t klen)
{
    struct entry **pp = &c->buckets[h & (c->nbuckets - 1)];
    while (*pp) {
        struct entry *e = *pp;
        if (e->hash == h && e->klen == klen && memcmp(e->key, key, klen) == 0)
            break;
        pp = &e->hnext;
    }
    return pp;
}

static void entry_free(struct entry *e)
{
    free(e->key);
    free(e->body);
    free(e);
}

/* Takes e out of the table and the list and frees it. */
static void remove_entry(sd_cache *c, struct entry *e)
{
    struct entry **pp = &c->buckets[e->hash & (c->nbuckets - 1)];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    lru_unlink(c, e);
    c->bytes -= entry_cost(e->klen, e->blen);
    c->count--;
    entry_free(e);
}

static void grow(sd_cache *c)
{
    size_t n = c->nbuckets * 2;
    struct entry **b = kb_xcalloc(n, sizeof *b);
    for (size_t i = 0; i < c->nbuckets; i++) {
        struct entry *e = c->buckets[i];
        while (e) {
            struct entry *next = e->hnext;
            size_t j = e->hash & (n - 1);
            e->hnext = b[j];
            b[j] = e;
            e = next;
        }
    }
    free(c->buckets);
    c->buckets = b;
    c->nbuckets = n;
}

static void clear_all(sd_cache *c)
{
    while (c->head)
        remove_entry(c, c->head);
}

static void report_size(const sd_cache *c)
{
    metrics_cache_size(c->count, c->bytes);
}

/* ---- the API ---------------------------------------------------------------- */

sd_cache *cache_new(size_t max_bytes)
{
    if (max_bytes == 0) {
        metrics_cache_config(0);
        return NULL;
    }
    sd_cache *c = kb_xcalloc(1, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    c->max_bytes = max_bytes;
    c->nbuckets = CACHE_MIN_BUCKETS;
    c->buckets = kb_xcalloc(c->nbuckets, sizeof *c->buckets);
    metrics_cache_config(max_bytes);
    report_size(c);
    return c;
}

void cache_free(sd_cache *c)
{
    if (!c)
        return;
    clear_all(c);
    free(c->buckets);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

int cache_wanted(const struct sd_request *req)
{
    return req->ep == SD_EP_SEARCH || req->ep == SD_EP_SUGGEST;
}

int cache_get(sd_cache *c, const struct sd_request *req, struct sd_response *resp)
{
    if (!c || !cache_wanted(req))
        return 0;
    struct kb_buf k;
    kb_buf_init(&k);
    make_key(req, &k);
    uint64_t h = hash_bytes(k.data, k.len);
    int hit = 0;
    pthread_mutex_lock(&c->mu);
    struct entry *e = *find_slot(c, h, k.data, k.len);
    if (e) {
        lru_unlink(c, e);
        lru_push_front(c, e);
        resp->status = e->status;
        resp->content_type = e->content_type;
        resp->cache_control = e->cache_control;
        resp->body = kb_xmalloc(e->blen + 1);
        memcpy(resp->body, e->body, e->blen + 1);
        resp->len = e->blen;
        hit = 1;
    }
    pthread_mutex_unlock(&c->mu);
    kb_buf_fin(&k);
    metrics_cache_lookup(req->ep, hit);
    return hit;
}

void cache_put(sd_cache *c, const struct sd_request *req, uint64_t rev,
               const struct sd_response *resp)
{
    if (!c || !cache_wanted(req) || resp->status != 200 || resp->len < 2 || !resp->body ||
        resp->body[0] != '{')
        return;
    /* the stored body: {"cached":true, + the rest of the object */
    size_t extra = sizeof CACHED_MEMBER - 1;
    int empty = resp->body[1] == '}'; /* {} gets no comma */
    size_t blen = resp->len + extra - (empty ? 1 : 0);
    struct kb_buf k;
    kb_buf_init(&k);
    make_key(req, &k);
    size_t cost = entry_cost(k.len, blen);
    if (cost > c->max_bytes / 8) {
        kb_buf_fin(&k);
        return;
    }
    /* build the entry outside the lock */
    struct entry *e = kb_xcalloc(1, sizeof *e);
    e->hash = hash_bytes(k.data, k.len);
    e->ep = req->ep;
    e->status = resp->status;
    e->content_type = resp->content_type;
    e->cache_control = resp->cache_control;
    e->klen = k.len;
    e->key = kb_buf_take(&k);
    e->blen = blen;
    e->body = kb_xmalloc(blen + 1);
    e->body[0] = '{';
    memcpy(e->body + 1, CACHED_MEMBER, extra - (empty ? 1 : 0));
    memcpy(e->body + extra + (empty ? 0 : 1), resp->body + 1, resp->len - 1);
    e->body[blen] = '\0';

    size_t evicted = 0;
    pthread_mutex_lock(&c->mu);
    if (!c->have_rev || rev != c->rev) {
        pthread_mutex_unlock(&c->mu);
        entry_free(e); /* computed on another revision than the one served */
        return;
    }
    struct entry **slot = find_slot(c, e->hash, e->key, e->klen);
    if (*slot) {
        /* another worker stored the same answer meanwhile: keep that one */
        pthread_mutex_unlock(&c->mu);
        entry_free(e);
        return;
    }
    while (c->bytes + cost > c->max_bytes && c->tail) {
        remove_entry(c, c->tail);
        evicted++;
    }
    slot = find_slot(c, e->hash, e->key, e->klen); /* evictions may have moved it */
    e->hnext = NULL;
    *slot = e;
    lru_push_front(c, e);
    c->bytes += cost;
    c->count++;
    if (c->count > c->nbuckets)
        grow(c);
    report_size(c);
    pthread_mutex_unlock(&c->mu);
    if (evicted)
        metrics_cache_evicted(evicted);
}

void cache_revision(sd_cache *c, uint64_t rev)
{
    if (!c)
        return;
    int dropped = 0;
    pthread_mutex_lock(&c->mu);
    if (!c->have_rev) {
        c->have_rev = 1;
        c->rev = rev;
    } else if (rev != c->rev) {
        c->rev = rev;
        clear_all(c);
        report_size(c);
        dropped = 1;
    }
    pthread_mutex_unlock(&c->mu);
    if (dropped)
        metrics_cache_invalidated();
}
