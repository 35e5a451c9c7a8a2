/* kb_search: the searcher (a thread's read-only view of the index: open,
 * refresh, the schema check every entry point makes) and the one section
 * that decides what a caller may see.
 *
 * The rest of the search core is split by noun, sharing kb_search_int.h:
 * query building (kb_search_query.c), running and ranking
 * (kb_search_rank.c), snippets (kb_search_snippet.c), documents, clause
 * navigation and standards (kb_search_doc.c) and completions
 * (kb_search_suggest.c).
 *
 * Visibility: what a caller may see is decided in one section below
 * ("visibility"), by the rule of kb_vis.h: documents (search filter, /doc,
 * /nav, /standards, titles, ids linked from a body), index words
 * (completions, known words) and spelling corrections. */
#include "kb_search_int.h"
#include "kb_schema.h"
#include "kb_utf8.h"
#include "kb_vis.h"

#include <stdlib.h>
#include <string.h>


/* Reads the revision's counts and checks its schema: an index of another
 * layout is refused (one built before the H twins and shadowed spelling
 * would leak internal words to public callers), with a message saying
 * what to do. Returns 0 or KB_SEARCH_EINDEX (message in err). */
static int read_stats(kb_searcher *s, char *err, size_t errlen)
{
    kb_doccache_clear(s->dc); /* document ids are one revision's */
    kbx_db_revision(s->db, &s->rev);
    kbx_db_doccount(s->db, &s->doccount);
    if (kbx_db_termfreq(s->db, KB_PREFIX_VIS "public", &s->public_docs) < 0)
        s->public_docs = 0; /* unknown: always filter */
    if (kbx_db_termfreq(s->db, KB_PREFIX_KIND "standard", &s->standard_docs) < 0)
        s->standard_docs = UINT32_MAX; /* unknown: look at every candidate */
    char *v = NULL;
    size_t n = 0;
    const char *want = KB_SCHEMA_VERSION "-";
    int rc = kbx_db_get_metadata(s->db, KB_META_SCHEMA, &v, &n);
    s->schema_ok = rc == 0 && ((n == 0 && s->doccount == 0) ||
                               (n > strlen(want) && strncmp(v, want, strlen(want)) == 0));
    if (rc < 0)
        kb_seterr(s->schema_err, sizeof s->schema_err, "[search] %s", kbx_db_errmsg(s->db));
    else if (!s->schema_ok)
        kb_seterr(s->schema_err, sizeof s->schema_err,
                  "[search] the index has schema %s, this program reads schema %s: rebuild it "
                  "with `indexer build`",
                  n ? v : "(none)", KB_SCHEMA_VERSION);
    free(v);
    if (s->schema_ok)
        return 0;
    kb_seterr(err, errlen, "%s", s->schema_err);
    return KB_SEARCH_EINDEX;
}

/* Every entry point starts here: 0, or KB_SEARCH_EINDEX while the index
 * has a layout this code does not read. */
int kbs_usable(const kb_searcher *s, char *err, size_t errlen)
{
    if (s->schema_ok)
        return 0;
    kb_seterr(err, errlen, "%s", s->schema_err);
    return KB_SEARCH_EINDEX;
}

/* Opens index: one folder, or a comma-separated list of shards (folders
 * and tcp:HOST:PORT), spaces around the commas ignored. */
static int open_index(const char *index, unsigned timeout_ms, kbx_db **db, char *err,
                      size_t errlen)
{
    if (!kb_searcher_is_sharded(index))
        return kbx_db_open(index, KBX_OPEN_READ, db, err, errlen);
    char *copy = kb_xstrdup(index);
    const char *specs[KBX_MAX_SHARDS + 1];
    size_t n = 0;
    int rc = 0;
    for (char *save = NULL, *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ' || *t == '\t')
            t++;
        size_t len = strlen(t);
        while (len && (t[len - 1] == ' ' || t[len - 1] == '\t'))
            t[--len] = '\0';
        if (n == KBX_MAX_SHARDS || !len) {
            kb_seterr(err, errlen, "index: 1 to %d shards, none empty", KBX_MAX_SHARDS);
            rc = KBX_ERR_INVALID;
            break;
        }
        specs[n++] = t;
    }
    if (rc == 0)
        rc = kbx_db_open_shards(specs, n, timeout_ms, db, err, errlen);
    free(copy);
    return rc;
}

int kb_searcher_is_sharded(const char *index)
{
    return strchr(index, ',') != NULL || strncmp(index, "tcp:", 4) == 0;
}

int kb_searcher_new(const char *index, const kb_lexicon *lx, kb_searcher **out, char *err,
                    size_t errlen)
{
    return kb_searcher_new_shards(index, 0, lx, out, err, errlen);
}

int kb_searcher_new_shards(const char *index, unsigned shard_timeout_ms, const kb_lexicon *lx,
                           kb_searcher **out, char *err, size_t errlen)
{
    *out = NULL;
    kb_searcher *s = kb_xcalloc(1, sizeof *s);
    s->lx = lx;
    s->common_share = KB_SEARCH_COMMON_SHARE;
    s->common_min = KB_SEARCH_COMMON_MIN;
    kbs_typo_init();
    if (kb_analyzer_new(lx, &s->an, err, errlen) < 0) {
        kb_searcher_free(s);
        return KB_SEARCH_EINTERNAL;
    }
    if (open_index(index, shard_timeout_ms, &s->db, err, errlen) < 0) {
        kb_searcher_free(s);
        return KB_SEARCH_EINDEX;
    }
    if (read_stats(s, err, errlen) < 0) {
        kb_searcher_free(s);
        return KB_SEARCH_EINDEX;
    }
    *out = s;
    return 0;
}

void kb_searcher_set_common(kb_searcher *s, double share, uint32_t least)
{
    s->common_share = share > 0 ? share : 0;
    s->common_min = least;
}

void kb_searcher_set_doc_cache(kb_searcher *s, size_t bytes)
{
    kb_doccache_free(s->dc);
    s->dc = kbx_db_shard_count(s->db) <= 1 && !kbx_db_has_remote(s->db) ? kb_doccache_new(bytes)
                                                                        : NULL;
}

size_t kb_searcher_doc_cache_bytes(const kb_searcher *s, size_t *entries)
{
    if (entries)
        *entries = kb_doccache_count(s->dc);
    return kb_doccache_bytes(s->dc);
}

void kb_searcher_free(kb_searcher *s)
{
    if (!s)
        return;
    kb_doccache_free(s->dc);
    kbs_titles_free(s);
    kbs_sound_map_free(s);
    kbx_db_free(s->db);
    kb_analyzer_free(s->an);
    free(s);
}

int kb_searcher_refresh(kb_searcher *s, int *changed, char *err, size_t errlen)
{
    int ch = 0;
    if (changed)
        *changed = 0;
    if (kbx_db_reopen(s->db, &ch) < 0) {
        kb_seterr(err, errlen, "[search] reopen: %s", kbx_db_errmsg(s->db));
        return KB_SEARCH_EINDEX;
    }
    if (ch) {
        if (changed)
            *changed = 1;
        if (read_stats(s, err, errlen) < 0)
            return KB_SEARCH_EINDEX;
    }
    return 0;
}

uint64_t kb_searcher_revision(const kb_searcher *s)
{
    return s->rev;
}

uint32_t kb_searcher_doccount(const kb_searcher *s)
{
    return s->doccount;
}

size_t kb_searcher_shard_count(const kb_searcher *s)
{
    return kbx_db_shard_count(s->db);
}

const char *kb_searcher_shard(const kb_searcher *s, size_t i, const char **why)
{
    return kbx_db_shard(s->db, i, why);
}

/* ---- visibility ------------------------------------------------------------------ */

/* The one place that decides what a caller sees (the rule is kb_vis.h's;
 * internal is non-zero for an agent). Documents: vis_filter in every
 * search, kb_vis_may_see on every stored document handed out (load_doc,
 * titles) and kb_search_may_see for an id. Index words: visible_tf.
 * Spelling: visible_spelling. */

/* Does the index hold internal documents at this revision? */
int kbs_has_internal(const kb_searcher *s)
{
    return s->public_docs < s->doccount;
}

/* The filter a search of this caller needs, or NULL for none: every
 * document has one visibility, so when all are public the filter is a
 * no-op and is left out, sparing the matcher a posting list as long as
 * the index. */
kbx_query *kbs_vis_filter(const kb_searcher *s, int internal)
{
    if (internal || !kbs_has_internal(s))
        return NULL;
    return kbx_query_term(KB_PREFIX_VIS "public", strlen(KB_PREFIX_VIS "public"), 1, 0);
}

/* The public documents among the tf holding a term of len bytes whose H
 * twin is in twf documents. A term too long to have a twin counts as
 * internal. */
uint32_t kbs_public_tf(uint32_t tf, uint32_t twf, size_t len)
{
    if (len + strlen(KB_PREFIX_INTERNAL) > KBX_MAX_TERM_LEN)
        return 0;
    return tf > twf ? tf - twf : 0;
}

/* How many documents the caller may see hold term t. */
uint32_t kbs_visible_tf(kb_searcher *s, const char *t, int internal)
{
    uint32_t tf = 0, twf = 0;
    kbx_db_termfreq(s->db, t, &tf);
    if (internal || !kbs_has_internal(s) || tf == 0)
        return tf;
    struct kb_buf b;
    kb_buf_init(&b);
    kb_buf_printf(&b, "%s%s", KB_PREFIX_INTERNAL, t);
    kbx_db_termfreq(s->db, b.data, &twf);
    kb_buf_fin(&b);
    return kbs_public_tf(tf, twf, strlen(t));
}

/* Edit distance (insertions, deletions, substitutions and transpositions
 * of neighbours) between two words, counted in code points, as Xapian
 * counts it for spelling; words over 64 code points are "far". */
static unsigned edit_distance(const char *a, const char *b)
{
    int32_t x[65], y[65];
    size_t n = 0, m = 0, la = strlen(a), lb = strlen(b);
    for (size_t i = 0; i < la && n < 65;)
        x[n++] = kb_utf8_next(a, la, &i);
    for (size_t i = 0; i < lb && m < 65;)
        y[m++] = kb_utf8_next(b, lb, &i);
    if (n > 64 || m > 64)
        return 1000;
    unsigned d[65][65];
    for (size_t i = 0; i <= n; i++)
        d[i][0] = (unsigned)i;
    for (size_t j = 0; j <= m; j++)
        d[0][j] = (unsigned)j;
    for (size_t i = 1; i <= n; i++)
        for (size_t j = 1; j <= m; j++) {
            unsigned c = d[i - 1][j - 1] + (x[i - 1] != y[j - 1]);
            if (d[i - 1][j] + 1 < c)
                c = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < c)
                c = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && x[i - 1] == y[j - 2] && x[i - 2] == y[j - 1] &&
                d[i - 2][j - 2] + 1 < c)
                c = d[i - 2][j - 2] + 1;
            d[i][j] = c;
        }
    return d[n][m];
}

/* The spelling correction of word (within dist edits) the caller may see,
 * or NULL (caller frees). Public documents' words are in the spelling
 * table as they are, internal ones' shadowed (kb_vis.h): a public caller
 * gets the plain table's answer only, an agent the better of the plain
 * and the shadow answers (fewer edits, then more documents). A word or an
 * answer holding a shadow character never goes out to anyone. */
char *kbs_visible_spelling(kb_searcher *s, const char *word, unsigned dist, int internal)
{
    size_t wl = strlen(word);
    if (!wl || kb_vis_has_shadow(word, wl))
        return NULL;
    char *pub = NULL;
    if (kbx_db_spelling_suggestion(s->db, word, dist, &pub) < 0 ||
        (pub && kb_vis_has_shadow(pub, strlen(pub)))) {
        free(pub);
        pub = NULL;
    }
    if (!internal || !kbs_has_internal(s))
        return pub;
    char *sw = kb_vis_shadow(word, wl), *sfix = NULL, *priv = NULL;
    if (sw && kbx_db_spelling_suggestion(s->db, sw, dist, &sfix) == 0 && sfix)
        priv = kb_vis_unshadow(sfix, strlen(sfix));
    free(sw);
    free(sfix);
    if (!priv || !pub)
        return priv ? priv : pub;
    unsigned dp = edit_distance(word, pub), di = edit_distance(word, priv);
    uint32_t fp = 0, fi = 0;
    if (di == dp) {
        kbx_db_termfreq(s->db, pub, &fp);
        kbx_db_termfreq(s->db, priv, &fi);
    }
    if (di < dp || (di == dp && fi > fp)) {
        free(pub);
        return priv;
    }
    free(priv);
    return pub;
}

int kb_search_may_see(kb_searcher *s, const char *id, int internal)
{
    if (kbs_usable(s, NULL, 0) < 0)
        return KB_SEARCH_EINDEX;
    if (!id || !*id || strlen(id) > 200)
        return 0;
    struct kb_buf t;
    kb_buf_init(&t);
    kb_buf_printf(&t, "%s%s", KB_PREFIX_ID, id);
    char *v = NULL;
    size_t len = 0;
    int rc = kbx_db_get_value(s->db, t.data, KB_SLOT_VISIBILITY, &v, &len);
    kb_buf_fin(&t);
    int ok = rc == 0 ? kb_vis_may_see(len ? v : NULL, internal)
                     : rc == KBX_ERR_NOTFOUND ? 0 : KB_SEARCH_EINDEX;
    free(v);
    return ok;
}
