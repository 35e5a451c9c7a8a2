/* build: incremental, atomic indexing of a corpus folder, and of another
 * source of documents (the knowledge published in PostgreSQL, see
 * build.h). */
#include "build.h"
#include "kb_analyzer.h"
#include "kb_map.h"
#include "kb_schema.h"
#include "kb_util.h"
#include "kb_vis.h"
#include "kb_xapian.h"
#include "prep.h"
#include "termgen.h"
#include "walk.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Does an owner (a corpus path, or a source's name) name the other source?
 * Its names start with '@'; corpus paths never do (the walk skips dot
 * files, and '@' names no folder or file of the corpus formats). */
static int is_source(const char *owner)
{
    return owner && owner[0] == '@';
}

/* ---- stored source records ------------------------------------------------ */

/* "src:<path>" = "<hash>[ <stamp>]\n<id>\n<id>..." (the stamp: see
 * stamp_of; records written before it have none) */
struct srcrec {
    char *hash;
    char *stamp; /* "" when none */
    struct walk_paths ids;
};

static void srcrec_free(void *p)
{
    struct srcrec *r = p;
    if (!r)
        return;
    free(r->hash);
    free(r->stamp);
    walk_paths_fin(&r->ids);
    free(r);
}

static struct srcrec *srcrec_parse(const char *v, size_t len)
{
    struct srcrec *r = kb_xcalloc(1, sizeof *r);
    const char *p = v, *end = v + len;
    int first = 1;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        char *s = kb_xstrndup(p, n);
        if (first) {
            char *sp = strchr(s, ' ');
            r->stamp = kb_xstrdup(sp ? sp + 1 : "");
            if (sp)
                *sp = '\0';
            r->hash = s;
        } else {
            walk_paths_add(&r->ids, s);
            free(s);
        }
        first = 0;
        p += n + 1;
    }
    if (!r->hash)
        r->hash = kb_xstrdup("");
    if (!r->stamp)
        r->stamp = kb_xstrdup("");
    return r;
}

struct load_ctx {
    kbx_db *db;
    kb_map *src;
};

static int load_key(void *ud, const char *key, size_t len)
{
    struct load_ctx *c = ud;
    char *k = kb_xstrndup(key, len);
    char *v = NULL;
    size_t vlen = 0;
    if (kbx_db_get_metadata(c->db, k, &v, &vlen) == 0 && v)
        kb_map_put(c->src, k + strlen(KB_META_SOURCE), srcrec_parse(v, vlen));
    free(v);
    free(k);
    return 0;
}

/* ---- the build ------------------------------------------------------------ */

struct builder {
    const struct build_opts *o;
    struct build_stats *st;
    kbx_db *db;
    kb_analyzer *an;
    kb_lexicon *lx;
    kb_map *src;     /* path -> struct srcrec (stored state, updated as we go) */
    kb_map *owner;   /* id -> path (borrowed key string from src) */
    kb_map *spell;   /* word -> spelling frequency to add (intptr_t), pending */
    char err[KB_ERR_MAX];
};

static void idterm(struct kb_buf *b, const char *id)
{
    kb_buf_reset(b);
    kb_buf_printf(b, "%s%s", KB_PREFIX_ID, id);
}

/* Spelling words are counted in b->spell and handed to Xapian in one call
 * per distinct word (Xapian's own table of pending spelling changes is a
 * sorted tree, slow to update once per word of every document), before
 * any removal and before the commit, so Xapian sees the same frequencies
 * in the same order of additions and removals as one call per word. */
static void spell_add(struct builder *b, const char *w)
{
    intptr_t n = (intptr_t)kb_map_get(b->spell, w);
    kb_map_put(b->spell, w, (void *)(n + 1));
}

static int spell_flush(struct builder *b)
{
    size_t it = 0;
    const char *w;
    void *n;
    int rc = 0;
    while (kb_map_next(b->spell, &it, &w, &n))
        if (rc == 0 && kbx_db_add_spelling(b->db, w, (uint32_t)(intptr_t)n) < 0) {
            kb_seterr(b->err, sizeof b->err, "spelling: %s", kbx_db_errmsg(b->db));
            rc = -1;
        }
    kb_map_free(b->spell, NULL);
    b->spell = kb_map_new();
    return rc;
}

/* A stored document's spelling words, and whether it was internal (its
 * words then sit shadowed in the spelling table, see kb_vis.h). */
struct unspell_ctx {
    struct walk_paths words;
    int internal;
};

static int unspell(void *ud, const char *term, size_t len, uint32_t wdf,
                   const uint32_t *positions, size_t npos)
{
    (void)wdf;
    (void)positions;
    (void)npos;
    struct unspell_ctx *c = ud;
    if (len == strlen(KB_PREFIX_VIS "internal") && !memcmp(term, KB_PREFIX_VIS "internal", len))
        c->internal = 1;
    if (termgen_spelling_term(term, len))
        walk_paths_addn(&c->words, term, len);
    return 0;
}

/* Takes the spelling words of the indexed document with id term idt out of
 * the spelling table (shadowed for an internal document, as put_doc added
 * them). Returns kbx_db_doc_terms's code. */
static int unspell_doc(struct builder *b, const char *idt)
{
    struct unspell_ctx c = {{0}, 0};
    int rc = kbx_db_doc_terms(b->db, idt, unspell, &c);
    if (c.words.n) {
        if (spell_flush(b) < 0)
            rc = KBX_ERR_XAPIAN;
        for (size_t i = 0; rc == 0 && i < c.words.n; i++) {
            char *w = c.internal ? kb_vis_shadow(c.words.v[i], strlen(c.words.v[i])) : NULL;
            if (!c.internal || w)
                kbx_db_remove_spelling(b->db, w ? w : c.words.v[i], 1);
            free(w);
        }
    }
    walk_paths_fin(&c.words);
    return rc;
}

/* Deletes the document with id (and its spelling words). */
static int delete_doc(struct builder *b, const char *id)
{
    struct kb_buf t;
    kb_buf_init(&t);
    idterm(&t, id);
    int rc = unspell_doc(b, t.data);
    if (rc == 0)
        rc = kbx_db_delete(b->db, t.data);
    if (rc == KBX_ERR_NOTFOUND)
        rc = 0;
    if (rc == 0)
        b->st->docs_deleted++;
    else
        kb_seterr(b->err, sizeof b->err, "delete %s: %s", id, kbx_db_errmsg(b->db));
    kb_buf_fin(&t);
    return rc;
}

unsigned build_shard_of(const char *id, unsigned n)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        h = (h ^ *p) * 16777619u;
    return n ? h % n : 0;
}

/* A document of another shard: removed if present (the split changed),
 * else nothing to do. */
static int put_elsewhere(struct builder *b, const char *idt, const char *id)
{
    int rc = unspell_doc(b, idt);
    if (rc == 0)
        rc = kbx_db_delete(b->db, idt);
    if (rc == KBX_ERR_NOTFOUND)
        return 0;
    if (rc < 0)
        kb_seterr(b->err, sizeof b->err, "remove %s of another shard: %s", id,
                  kbx_db_errmsg(b->db));
    return rc;
}

/* Indexes document d over the one with its id: analysed already (pd, from
 * the reading stage) or here (pd NULL: the other source's documents).
 * Returns 0, 1 for a document problem (message in b->err; the index keeps
 * what it had, spelling words included), or -1 for an index error. */
static int put_doc(struct builder *b, const struct kb_doc *d, struct prep_doc *pd)
{
    struct kb_buf t;
    kb_buf_init(&t);
    idterm(&t, d->id);
    if (b->o->nshards > 1 && build_shard_of(d->id, b->o->nshards) != b->o->shard) {
        int rc = put_elsewhere(b, t.data, d->id);
        kb_buf_fin(&t);
        return rc;
    }
    kbx_doc *xd = pd ? pd->xd : NULL;
    struct termgen_words own = {0}, *words = pd ? &pd->words : &own;
    int rc = 0;
    if (pd && !xd) {
        kb_seterr(b->err, sizeof b->err, "%s", pd->err ? pd->err : "not analysed");
        rc = 1;
    } else if (!pd && termgen_doc(b->an, d, &xd, &own, b->err, sizeof b->err) < 0) {
        rc = 1;
    }
    if (rc == 0 && (rc = unspell_doc(b, t.data)) == KBX_ERR_NOTFOUND)
        rc = 0;
    if (rc == 0 && (rc = kbx_db_replace(b->db, t.data, xd)) == 0) {
        /* an internal document's words go in shadowed: never within reach
           of a public spelling lookup (kb_vis.h) */
        int internal = !kb_vis_may_see(d->visibility, 0);
        for (size_t i = 0; i < words->n; i++) {
            char *w = internal ? kb_vis_shadow(words->v[i], strlen(words->v[i])) : NULL;
            if (!internal || w)
                spell_add(b, w ? w : words->v[i]);
            free(w);
        }
        b->st->docs_indexed[d->kind]++;
    } else if (rc < 0) {
        kb_seterr(b->err, sizeof b->err, "index %s: %s", d->id, kbx_db_errmsg(b->db));
    }
    termgen_words_fin(&own);
    if (!pd)
        kbx_doc_free(xd);
    kb_buf_fin(&t);
    return rc;
}

static void report(struct builder *b, const char *path, int line, const char *msg)
{
    if (line > 0)
        fprintf(b->o->log, "%s/%s:%d: %s\n", b->o->corpus, path, line, msg);
    else
        fprintf(b->o->log, "%s/%s: %s\n", b->o->corpus, path, msg);
}

/* Handles one changed file as the reading stage left it (PREP_BAD_FILE or
 * PREP_CHANGED). Returns 0, 1 for a file error (reported, skipped), or -1
 * for an index error (in b->err). */
static int index_file(struct builder *b, const char *path, struct prep_file *f)
{
    if (f->state == PREP_BAD_FILE) {
        report(b, path, f->line, f->msg);
        return 1;
    }
    int rc = 0;
    /* every id must be new or already this file's */
    kb_map *mine = kb_map_new();
    for (size_t i = 0; i < f->ndocs; i++) {
        const char *id = f->docs[i].doc->id;
        const char *own = kb_map_get(b->owner, id);
        /* an id from the other source is the file's now (the file wins) */
        if (kb_map_get(mine, id) || (own && strcmp(own, path) != 0 && !is_source(own))) {
            char msg[KB_ERR_MAX];
            snprintf(msg, sizeof msg, "duplicate id %s (also in %s)", id,
                     own && strcmp(own, path) != 0 ? own : path);
            report(b, path, f->docs[i].doc->source_line, msg);
            rc = 1;
            break;
        }
        kb_map_put(mine, id, (void *)1);
    }
    if (rc == 0) {
        for (size_t i = 0; i < f->ndocs && rc == 0; i++) {
            rc = put_doc(b, f->docs[i].doc, &f->docs[i]);
            if (rc > 0) {
                report(b, path, f->docs[i].doc->source_line, b->err);
                rc = 1;
            }
        }
    }
    if (rc == 0) {
        struct srcrec *old = kb_map_get(b->src, path);
        for (size_t i = 0; old && i < old->ids.n && rc == 0; i++)
            if (!kb_map_get(mine, old->ids.v[i])) {
                rc = delete_doc(b, old->ids.v[i]);
                kb_map_del(b->owner, old->ids.v[i]);
            }
        struct kb_buf meta, key;
        kb_buf_init(&meta);
        kb_buf_init(&key);
        kb_buf_adds(&meta, f->head);
        for (size_t i = 0; i < f->ndocs; i++)
            kb_buf_printf(&meta, "\n%s", f->docs[i].doc->id);
        kb_buf_printf(&key, "%s%s", KB_META_SOURCE, path);
        if (rc == 0 && kbx_db_set_metadata(b->db, key.data, meta.data, meta.len) < 0) {
            kb_seterr(b->err, sizeof b->err, "metadata: %s", kbx_db_errmsg(b->db));
            rc = -1;
        }
        struct srcrec *nr = srcrec_parse(meta.data, meta.len);
        srcrec_free(kb_map_put(b->src, path, nr));
        /* the owner map's values borrow path, a string of the build's file
           list, which outlives the map */
        for (size_t i = 0; i < f->ndocs; i++)
            kb_map_put(b->owner, f->docs[i].doc->id, (void *)path);
        kb_buf_fin(&meta);
        kb_buf_fin(&key);
    }
    kb_map_free(mine, NULL);
    return rc;
}

/* An unchanged file (same hash) with another stamp: its record gets the
 * new one, so the next build need not read it. Returns 0 or -1 (message in
 * b->err). */
static int restamp(struct builder *b, const char *path, struct srcrec *r, const char *head)
{
    struct kb_buf meta, key;
    kb_buf_init(&meta);
    kb_buf_init(&key);
    kb_buf_adds(&meta, head);
    for (size_t i = 0; i < r->ids.n; i++)
        kb_buf_printf(&meta, "\n%s", r->ids.v[i]);
    kb_buf_printf(&key, "%s%s", KB_META_SOURCE, path);
    int rc = kbx_db_set_metadata(b->db, key.data, meta.data, meta.len);
    if (rc < 0)
        kb_seterr(b->err, sizeof b->err, "metadata: %s", kbx_db_errmsg(b->db));
    const char *sp = strchr(head, ' ');
    free(r->stamp);
    r->stamp = kb_xstrdup(sp ? sp + 1 : "");
    kb_buf_fin(&meta);
    kb_buf_fin(&key);
    return rc < 0 ? -1 : 0;
}

static int remove_source(struct builder *b, const char *path, struct srcrec *r)
{
    for (size_t i = 0; i < r->ids.n; i++) {
        if (delete_doc(b, r->ids.v[i]) < 0)
            return -1;
        kb_map_del(b->owner, r->ids.v[i]);
    }
    struct kb_buf key;
    kb_buf_init(&key);
    kb_buf_printf(&key, "%s%s", KB_META_SOURCE, path);
    int rc = kbx_db_set_metadata(b->db, key.data, "", 0);
    if (rc < 0)
        kb_seterr(b->err, sizeof b->err, "metadata: %s", kbx_db_errmsg(b->db));
    kb_buf_fin(&key);
    b->st->files_removed++;
    return rc;
}

/* ---- another source ------------------------------------------------------------ */

struct srcctx {
    struct builder *b;
    kb_map *ids; /* the ids the source has in the index */
    int failed;  /* an index error, in b->err */
};

static int source_change(void *arg, const char *id, const struct kb_doc *doc)
{
    struct srcctx *c = arg;
    struct builder *b = c->b;
    const struct build_source *src = b->o->source;
    const char *own = kb_map_get(b->owner, id);
    if (own && strcmp(own, src->name) != 0) {
        if (doc) {
            fprintf(b->o->log, "%s %s: the id is also in %s/%s: the file wins\n", src->label,
                    id, b->o->corpus, own);
            b->st->src_skipped++;
        }
        return 0;
    }
    if (doc) {
        if (!doc->id || strcmp(doc->id, id) != 0) {
            fprintf(b->o->log, "%s %s: its document has another id\n", src->label, id);
            b->st->src_skipped++;
            return 0;
        }
        int rc = put_doc(b, doc, NULL);
        if (rc < 0) {
            c->failed = 1;
            return 1;
        }
        if (rc > 0) { /* a document problem: reported, skipped */
            fprintf(b->o->log, "%s %s: %s\n", src->label, id, b->err);
            b->st->src_skipped++;
            return 0;
        }
        kb_map_put(c->ids, id, (void *)1);
        kb_map_put(b->owner, id, (void *)src->name);
        b->st->src_indexed++;
    } else if (own) {
        if (delete_doc(b, id) < 0) {
            c->failed = 1;
            return 1;
        }
        kb_map_del(c->ids, id);
        kb_map_del(b->owner, id);
        b->st->src_removed++;
    }
    return 0;
}

/* Applies the other source's changes since its record's mark and writes
 * the record. Returns 0 or -1 (message in b->err). */
static int source_apply(struct builder *b)
{
    const struct build_source *src = b->o->source;
    struct srcrec *rec = kb_map_get(b->src, src->name);
    long long after = rec ? strtoll(rec->hash, NULL, 10) : 0, last = after;
    struct srcctx c = {.b = b, .ids = kb_map_new()};
    /* ids a file took over this run are the file's now */
    for (size_t i = 0; rec && i < rec->ids.n; i++) {
        const char *own = kb_map_get(b->owner, rec->ids.v[i]);
        if (own && strcmp(own, src->name) == 0)
            kb_map_put(c.ids, rec->ids.v[i], (void *)1);
    }
    char msg[KB_ERR_MAX] = "";
    int rc = src->changes(src->arg, after, source_change, &c, &last, msg, sizeof msg);
    if (rc && !c.failed)
        kb_seterr(b->err, sizeof b->err, "%s: %s", src->name, msg);
    if (rc == 0) {
        struct kb_buf meta, key;
        kb_buf_init(&meta);
        kb_buf_init(&key);
        kb_buf_printf(&meta, "%lld", last);
        size_t it = 0;
        const char *k;
        void *v;
        while (kb_map_next(c.ids, &it, &k, &v))
            kb_buf_printf(&meta, "\n%s", k);
        kb_buf_printf(&key, "%s%s", KB_META_SOURCE, src->name);
        if (kbx_db_set_metadata(b->db, key.data, meta.data, meta.len) < 0) {
            kb_seterr(b->err, sizeof b->err, "metadata: %s", kbx_db_errmsg(b->db));
            rc = -1;
        } else {
            /* owner entries of the source point at src->name or at the
               record's key in b->src, which a replaced value keeps */
            srcrec_free(kb_map_put(b->src, src->name, srcrec_parse(meta.data, meta.len)));
            b->st->src_mark = last;
        }
        kb_buf_fin(&meta);
        kb_buf_fin(&key);
    }
    kb_map_free(c.ids, NULL);
    return rc ? -1 : 0;
}

/* ---- glossary --------------------------------------------------------------- */

struct keys {
    struct walk_paths v;
};

static int collect_key(void *ud, const char *key, size_t len)
{
    walk_paths_addn(ud, key, len);
    return 0;
}

/* Normalises a glossary term: kb_norm, then single spaces. Caller frees;
 * NULL if the term is not valid text or is empty. */
static char *gloss_norm(struct builder *b, const char *s, size_t n)
{
    char *norm = NULL;
    size_t nl = 0;
    if (kb_analyzer_normalize(b->an, s, n, &norm, &nl, NULL, 0) < 0)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < nl; i++) {
        char c = norm[i];
        if (c == '\t' || c == '\n' || c == '\r')
            c = ' ';
        if (c == ' ' && (o == 0 || norm[o - 1] == ' '))
            continue;
        norm[o++] = c;
    }
    while (o && norm[o - 1] == ' ')
        o--;
    norm[o] = '\0';
    if (!o) {
        free(norm);
        return NULL;
    }
    return norm;
}

struct stem_ctx {
    struct kb_buf key;
    int latin_only;
};

static int stem_tok(void *ud, const struct kb_token *t)
{
    struct stem_ctx *c = ud;
    if (t->flags & KB_TOKF_CJK)
        c->latin_only = 0;
    int digit = 0;
    for (size_t i = 0; i < t->len; i++)
        digit |= t->term[i] >= '0' && t->term[i] <= '9';
    /* words with a digit and codes (pre-shared) have no stem: as they are */
    int word = !(t->flags & KB_TOKF_CJK) &&
               (((t->flags & KB_TOKF_WORD) && digit) || (t->flags & KB_TOKF_CODE));
    if (t->flags & KB_TOKF_STEM) {
        kb_buf_adds(&c->key, c->key.len > 1 ? " " : "");
        kb_buf_add(&c->key, t->term + 1, t->len - 1);
    } else if (word) { /* numbers and codes have no stem */
        kb_buf_adds(&c->key, c->key.len > 1 ? " " : "");
        kb_buf_add(&c->key, t->term, t->len);
    }
    return 0;
}

/* The stem key of an all-Latin glossary term: KB_SYNONYM_STEM + its words'
 * stems joined by spaces ("~key perform indic"); NULL for other terms.
 * Caller frees. */
static char *stem_key(struct builder *b, const char *term)
{
    struct stem_ctx c = {{0}, 1};
    kb_buf_adds(&c.key, KB_SYNONYM_STEM);
    kb_analyzer_tokenize(b->an, KB_TOK_DOCUMENT, term, strlen(term), stem_tok, &c, NULL, NULL, 0);
    if (!c.latin_only || c.key.len <= strlen(KB_SYNONYM_STEM)) {
        kb_buf_fin(&c.key);
        return NULL;
    }
    return kb_buf_take(&c.key);
}

/* Loads <corpus>/glossary.txt as synonyms when it changed (or the index was
 * rebuilt): every old synonym is cleared, then each pair of terms of a
 * group is added both ways. Bad lines are reported and skipped. Returns 0,
 * or -1 (an index error in b->err). */
static int load_glossary(struct builder *b)
{
    struct kb_buf path;
    kb_buf_init(&path);
    kb_buf_printf(&path, "%s/%s", b->o->corpus, KB_GLOSSARY_FILE);
    char *text = NULL;
    size_t len = 0;
    char msg[KB_ERR_MAX];
    int have = kb_read_file(path.data, &text, &len, msg, sizeof msg) == 0;
    kb_buf_fin(&path);
    char hash[32] = "";
    if (have)
        snprintf(hash, sizeof hash, "%016" PRIx64, kb_hash64(text, len));
    char *old = NULL;
    size_t oldlen = 0;
    kbx_db_get_metadata(b->db, KB_META_GLOSSARY, &old, &oldlen);
    int same = old && strcmp(old, hash) == 0;
    free(old);
    if (same || (!have && oldlen == 0)) {
        free(text);
        return 0;
    }
    /* clear what an earlier glossary left */
    struct walk_paths keys = {0};
    int rc = kbx_db_synonym_keys(b->db, "", collect_key, &keys);
    for (size_t i = 0; rc == 0 && i < keys.n; i++)
        rc = kbx_db_clear_synonyms(b->db, keys.v[i]);
    walk_paths_fin(&keys);
    int lineno = 0;
    for (const char *p = text; rc == 0 && have && p < text + len;) {
        const char *nl = memchr(p, '\n', (size_t)(text + len - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(text + len - p);
        lineno++;
        struct walk_paths terms = {0};
        const char *q = p, *end = p + n;
        int bad = 0;
        while (q < end && (*q == ' ' || *q == '\t'))
            q++;
        if (q < end && *q != '#') {
            while (q <= end) {
                const char *bar = q;
                while (bar < end && *bar != '|')
                    bar++;
                char *t = gloss_norm(b, q, (size_t)(bar - q));
                if (t) {
                    walk_paths_add(&terms, t);
                    free(t);
                } else {
                    bad = 1;
                }
                q = bar + 1;
            }
            if (bad || terms.n < 2) {
                fprintf(b->o->log, "%s/%s:%d: %s\n", b->o->corpus, KB_GLOSSARY_FILE, lineno,
                        bad ? "an empty or invalid term" : "a group needs two terms or more");
                b->st->glossary_errors++;
            } else {
                for (size_t i = 0; rc == 0 && i < terms.n; i++) {
                    /* English terms are also keyed by their stems, so
                       "key indicators" finds "key performance indicator"'s
                       sibling "indicators" -> "indic" keys alike */
                    char *sk = stem_key(b, terms.v[i]);
                    for (size_t j = 0; rc == 0 && j < terms.n; j++) {
                        if (i == j || strcmp(terms.v[i], terms.v[j]) == 0)
                            continue;
                        rc = kbx_db_add_synonym(b->db, terms.v[i], terms.v[j]);
                        if (rc == 0 && sk)
                            rc = kbx_db_add_synonym(b->db, sk, terms.v[j]);
                    }
                    free(sk);
                }
                b->st->glossary_groups++;
            }
        }
        walk_paths_fin(&terms);
        p += n + 1;
    }
    free(text);
    if (rc == 0)
        rc = kbx_db_set_metadata(b->db, KB_META_GLOSSARY, hash, strlen(hash));
    if (rc < 0)
        kb_seterr(b->err, sizeof b->err, "glossary: %s", kbx_db_errmsg(b->db));
    return rc < 0 ? -1 : 0;
}

static void progress(struct builder *b, size_t i, size_t n, const char *path)
{
    if (!b->o->progress)
        return;
    fprintf(stderr, "\r\033[K[%zu/%zu] %s", i, n, path);
    if (i == n)
        fputs("\r\033[K", stderr);
    fflush(stderr);
}

/* KB_SCHEMA_VERSION plus the lexicon's hash: either changing means the
 * stored terms no longer match what the tokenizer makes. */
static void schema_id(char *out, size_t cap)
{
    snprintf(out, cap, "%s-%016" PRIx64, KB_SCHEMA_VERSION, kb_lexicon_builtin_hash());
}

/* How many documents Xapian buffers before it writes their postings out
 * (inside the build's one transaction, so readers still see all or
 * nothing). Xapian 1.4 reads it only from the environment, when a writable
 * database is opened; its default is 10,000. Buffering fewer keeps the
 * buffered postings in tens of MB instead of hundreds, and the build spends
 * less CPU time on them (cache misses, not instructions: a fifth less on
 * the real corpus), with the same terms, positions and data; flushing
 * much more often (250) costs more writes once the index is large
 * (tests/bench/RESULTS.md). A value set in the environment wins. */
#define BUILD_FLUSH_THRESHOLD "1000"

static int open_index(struct builder *b, char *err, size_t errlen)
{
    char want[64];
    schema_id(want, sizeof want);
    setenv("XAPIAN_FLUSH_THRESHOLD", BUILD_FLUSH_THRESHOLD, 0);
    int mode = b->o->full ? KBX_OPEN_OVERWRITE : KBX_OPEN_WRITE;
    if (kbx_db_open(b->o->index, mode, &b->db, err, errlen) < 0)
        return -1;
    char *schema = NULL;
    size_t n = 0;
    uint32_t count = 0;
    kbx_db_get_metadata(b->db, KB_META_SCHEMA, &schema, &n);
    kbx_db_doccount(b->db, &count);
    int stale = (count > 0 || n > 0) && (!schema || strcmp(schema, want) != 0);
    free(schema);
    if (stale) { /* another layout: start again */
        kbx_db_free(b->db);
        b->db = NULL;
        if (kbx_db_open(b->o->index, KBX_OPEN_OVERWRITE, &b->db, err, errlen) < 0)
            return -1;
    }
    return 0;
}

int build_run(const struct build_opts *o, struct build_stats *st, char *err, size_t errlen)
{
    memset(st, 0, sizeof *st);
    struct builder b = {.o = o, .st = st};
    struct walk_paths files = {0};
    prep *pp = NULL;
    int rc = -1, in_tx = 0;
    if (walk_corpus(o->corpus, "", time(NULL), &files, err, errlen) < 0)
        goto out;
    if (files.n)
        qsort(files.v, files.n, sizeof *files.v, walk_cmp_path);
    b.lx = kb_lexicon_new_builtin();
    if (kb_analyzer_new(b.lx, &b.an, err, errlen) < 0)
        goto out;
    if (open_index(&b, err, errlen) < 0)
        goto out;
    b.src = kb_map_new();
    b.spell = kb_map_new();
    b.owner = kb_map_new();
    struct load_ctx lc = {b.db, b.src};
    if (kbx_db_metadata_keys(b.db, KB_META_SOURCE, load_key, &lc) < 0) {
        kb_seterr(err, errlen, "%s: %s", o->index, kbx_db_errmsg(b.db));
        goto out;
    }
    size_t it = 0;
    const char *k;
    void *v;
    while (kb_map_next(b.src, &it, &k, &v)) {
        struct srcrec *r = v;
        for (size_t i = 0; i < r->ids.n; i++)
            kb_map_put(b.owner, r->ids.v[i], (void *)k);
    }
    if (kbx_db_begin(b.db) < 0) {
        kb_seterr(err, errlen, "%s: %s", o->index, kbx_db_errmsg(b.db));
        goto out;
    }
    in_tx = 1;
    /* files that are gone, removed first: the ids of a renamed file (or of
       a document moved to another file) are free again for their new file */
    struct walk_paths gone = {0};
    it = 0;
    while (kb_map_next(b.src, &it, &k, &v))
        if (!is_source(k) && !bsearch(&k, files.v, files.n, sizeof *files.v, walk_cmp_path))
            walk_paths_add(&gone, k);
    for (size_t i = 0; i < gone.n; i++) {
        struct srcrec *r = kb_map_get(b.src, gone.v[i]);
        if (remove_source(&b, gone.v[i], r) < 0) {
            kb_seterr(err, errlen, "%s", b.err);
            walk_paths_fin(&gone);
            goto out;
        }
    }
    walk_paths_fin(&gone);
    /* the reading stage reads, parses and analyses the files on its own
       thread (prep.h); this one writes them into the index in list order */
    struct prep_known *known = kb_xcalloc(files.n ? files.n : 1, sizeof *known);
    for (size_t i = 0; i < files.n; i++) {
        struct srcrec *r = kb_map_get(b.src, files.v[i]);
        if (r)
            known[i] = (struct prep_known){r->hash, r->stamp};
    }
    struct prep_opts po = {.corpus = o->corpus, .files = &files, .known = known,
                           .full = o->full, .shard = o->shard, .nshards = o->nshards,
                           .an = b.an};
    int prc = prep_start(&po, &pp, err, errlen);
    free(known);
    if (prc < 0)
        goto out;
    for (size_t i = 0; i < files.n; i++) {
        const char *path = files.v[i];
        struct prep_file *f = prep_next(pp);
        if (!f || f->index != i) {
            kb_seterr(err, errlen, "%s: the reading stage stopped at %s", o->index, path);
            goto out;
        }
        progress(&b, i + 1, files.n, path);
        st->files++;
        if (f->state == PREP_SAME_STAMP) {
            st->files_unchanged++; /* same stamp: not read again */
        } else if (f->state == PREP_UNREADABLE) {
            fprintf(o->log, "%s\n", f->msg);
            st->files_failed++; /* unreadable now: what we had stays */
        } else if (f->state == PREP_SAME_HASH) {
            st->files_read++;
            st->files_unchanged++;
            struct srcrec *r = kb_map_get(b.src, path);
            const char *stamp = walk_stamp(path);
            if (strcmp(r->stamp, stamp) != 0 && restamp(&b, path, r, f->head) < 0) {
                kb_seterr(err, errlen, "%s", b.err);
                goto out;
            }
        } else {
            st->files_read++;
            /* owner entries point at the path string in files.v, which
               lives until the end of the build */
            int frc = index_file(&b, path, f);
            if (frc < 0) {
                kb_seterr(err, errlen, "%s", b.err);
                goto out;
            }
            if (frc > 0)
                st->files_failed++;
            else
                st->files_changed++;
        }
        prep_release(pp, f);
    }
    prep_free(pp); /* the analyser is this thread's again */
    pp = NULL;
    progress(&b, files.n, files.n, "");
    if (o->source && source_apply(&b) < 0) {
        kb_seterr(err, errlen, "%s", b.err);
        goto out;
    }
    char now[32];
    time_t t = time(NULL);
    strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
    char sid[64];
    schema_id(sid, sizeof sid);
    if (load_glossary(&b) < 0) {
        kb_seterr(err, errlen, "%s", b.err);
        goto out;
    }
    if (spell_flush(&b) < 0) {
        kb_seterr(err, errlen, "%s", b.err);
        goto out;
    }
    if (kbx_db_set_metadata(b.db, KB_META_SCHEMA, sid, strlen(sid)) < 0 ||
        kbx_db_set_metadata(b.db, KB_META_BUILT, now, strlen(now)) < 0 ||
        kbx_db_commit_tx(b.db) < 0) {
        kb_seterr(err, errlen, "%s: commit: %s", o->index, kbx_db_errmsg(b.db));
        goto out;
    }
    in_tx = 0;
    for (int kd = 0; kd < KB_KIND_COUNT; kd++) {
        char term[64];
        uint32_t n = 0;
        snprintf(term, sizeof term, "%s%s", KB_PREFIX_KIND, kb_kind_name((enum kb_kind)kd));
        kbx_db_termfreq(b.db, term, &n);
        st->total[kd] = n;
    }
    uint32_t total = 0;
    kbx_db_doccount(b.db, &total);
    st->total_docs = total;
    rc = 0;
out:
    prep_free(pp);
    if (in_tx)
        kbx_db_cancel_tx(b.db);
    kbx_db_free(b.db);
    kb_map_free(b.src, srcrec_free);
    kb_map_free(b.spell, NULL);
    kb_map_free(b.owner, NULL);
    kb_analyzer_free(b.an);
    kb_lexicon_free(b.lx);
    walk_paths_fin(&files);
    return rc;
}
