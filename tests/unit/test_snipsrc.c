/* Unit tests for kb_snipsrc (the stored snippet source) and the split form
 * of kb_doc_pack that carries it: the stored index answers every look-up
 * of a term or a CJK string as the analyzer's tokens of the first chunk
 * do, and damaged data is an error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kb_analyzer.h"
#include "kb_doc.h"
#include "kb_lexicon.h"
#include "kb_snipsrc.h"
#include "kb_utf8.h"
#include "kb_util.h"

static kb_lexicon *g_lx;
static kb_analyzer *g_an;

static int setup(void **state)
{
    (void)state;
    char err[KB_ERR_MAX];
    g_lx = kb_lexicon_new_builtin();
    return kb_analyzer_new(g_lx, &g_an, err, sizeof err);
}

static int teardown(void **state)
{
    (void)state;
    kb_analyzer_free(g_an);
    kb_lexicon_free(g_lx);
    return 0;
}

/* The tokens the analyzer makes of the first chunk, offsets mapped back to
 * the text (every stem asked for): the oracle the stored index must answer
 * as. */
struct tok {
    char *term;
    size_t len, start, end;
    unsigned flags;
};

struct toks {
    struct tok *v;
    size_t n;
    const size_t *map;
};

static int keep_tok(void *ud, const struct kb_token *t)
{
    struct toks *k = ud;
    k->v = kb_xrealloc(k->v, (k->n + 1) * sizeof *k->v);
    struct tok *o = &k->v[k->n++];
    o->term = kb_xstrndup(t->term, t->len);
    o->len = t->len;
    o->start = k->map[t->start];
    o->end = k->map[t->end];
    o->flags = t->flags;
    return 0;
}

static void emit_place(void *ud, size_t start, size_t end)
{
    kb_buf_printf(ud, "%zu-%zu ", start, end);
}

/* Where the tokens that are not runs have term s[0, n), in their order. */
static void want_term(const struct toks *k, const char *s, size_t n, struct kb_buf *b)
{
    for (size_t i = 0; i < k->n; i++)
        if (!(k->v[i].flags & KB_TOKF_RUN) && k->v[i].len == n && !memcmp(k->v[i].term, s, n))
            emit_place(b, k->v[i].start, k->v[i].end);
}

/* Where s[0, n) stands in a run at a character start, ascending. */
static void want_cjk(const struct toks *k, const char *s, size_t n, struct kb_buf *b)
{
    size_t *at = NULL, m = 0;
    for (size_t i = 0; i < k->n; i++) {
        const struct tok *t = &k->v[i];
        if (!(t->flags & KB_TOKF_RUN))
            continue;
        for (size_t j = 0; j + n <= t->len; j++)
            if (((unsigned char)t->term[j] & 0xC0) != 0x80 && !memcmp(t->term + j, s, n)) {
                at = kb_xrealloc(at, (m + 1) * sizeof *at);
                at[m++] = t->start + j;
            }
    }
    for (size_t i = 1; i < m; i++) /* the runs come in the tokens' order */
        for (size_t j = i; j > 0 && at[j - 1] > at[j]; j--) {
            size_t x = at[j];
            at[j] = at[j - 1];
            at[j - 1] = x;
        }
    for (size_t i = 0; i < m; i++)
        emit_place(b, at[i], at[i] + n);
    free(at);
}

/* The stored answer for s[0, n) against the oracle's, as a term and, for a
 * CJK string, in the runs. Returns whether it was found at all. */
static int check_lookup(const struct kb_snipsrc_field *f, const struct toks *k, const char *s,
                        size_t n, int cjk)
{
    struct kb_buf want, got;
    kb_buf_init(&want);
    kb_buf_init(&got);
    kb_buf_adds(&want, "");
    kb_buf_adds(&got, "");
    want_term(k, s, n, &want);
    struct kb_snipsrc_index x;
    assert_int_equal(kb_snipsrc_index(f, &x), 0);
    assert_int_equal(kb_snipsrc_term(&x, s, n, kb_hash64(s, n), emit_place, &got), 0);
    if (cjk) {
        kb_buf_adds(&want, "| ");
        kb_buf_adds(&got, "| ");
        want_cjk(k, s, n, &want);
        assert_int_equal(kb_snipsrc_cjk(&x, s, n, emit_place, &got), 0);
    }
    assert_string_equal(got.data, want.data);
    int found = strchr(want.data, '-') != NULL;
    kb_buf_fin(&want);
    kb_buf_fin(&got);
    return found;
}

/* Checks field k's record for text against the analyzer run on the first
 * chunk: every term of its tokens, strings of one to four characters from
 * its CJK runs, and terms it does not hold. */
static void check_field(const char *text)
{
    size_t len = strlen(text);
    struct kb_buf src;
    kb_buf_init(&src);
    kb_buf_adds(&src, ""); /* data never NULL */
    int whole = kb_snipsrc_add(g_an, KB_SNIPSRC_CAUSE, text, len, &src);
    size_t chunk = kb_snipsrc_chunk_end(text, len, 0);
    struct kb_snipsrc_field f;
    assert_int_equal(kb_snipsrc_find(src.data, src.len, KB_SNIPSRC_BODY, &f), 0);
    assert_int_equal(kb_snipsrc_find(src.data, src.len, KB_SNIPSRC_CAUSE, &f), 1);
    assert_int_equal(f.analysed, 1);
    assert_int_equal(f.flen, len);
    assert_int_equal(f.chunk, chunk);
    assert_int_equal(whole, f.rawlen == len);
    assert_true(f.rawlen >= chunk);
    assert_true(f.rawlen >= len || f.rawlen >= chunk + KB_SNIPSRC_TAIL - 3);
    assert_memory_equal(f.raw, text, f.rawlen);
    char *norm = NULL;
    size_t nlen = 0, *map = NULL;
    assert_int_equal(kb_analyzer_normalize_map(g_an, text, chunk, &norm, &nlen, &map, NULL, 0),
                     0);
    struct toks k = {.map = map};
    kb_analyzer_tokenize(g_an, KB_TOK_RUNS, norm, nlen, keep_tok, &k, NULL, NULL, 0);
    assert_true(k.n > 0);
    size_t found = 0, runs = 0, across = 0;
    for (size_t i = 0; i < k.n; i++) {
        const struct tok *t = &k.v[i];
        if (!(t->flags & KB_TOKF_RUN)) {
            found += check_lookup(&f, &k, t->term, t->len, 0);
            continue;
        }
        runs++;
        /* the run's last character, what follows it and the first
           character of the next run: in the text, but in no one run */
        for (size_t m = i + 1; m < k.n; m++) {
            const struct tok *u = &k.v[m];
            if (!(u->flags & KB_TOKF_RUN) || u->start < t->end)
                continue;
            if (u->start - t->end <= 8) {
                size_t j = t->len - 1;
                while (j > 0 && ((unsigned char)t->term[j] & 0xC0) == 0x80)
                    j--;
                size_t from = t->start + j, to = u->start + kb_utf8_seqlen((unsigned char)u->term[0]);
                assert_int_equal(check_lookup(&f, &k, text + from, to - from, 1), 0);
                across++;
            }
            break;
        }
        if (t->end == chunk && f.rawlen >= chunk + 3) {
            /* the run's last character and the text after the chunk: a
               string the run does not hold, though the kept text does */
            size_t j = t->len - 1;
            while (j > 0 && ((unsigned char)t->term[j] & 0xC0) == 0x80)
                j--;
            check_lookup(&f, &k, text + t->start + j, chunk + 3 - (t->start + j), 1);
        }
        /* strings of 1 to 4 characters at a few places of the run */
        for (size_t j = 0, c = 0; j < t->len && c < 24; c++) {
            size_t e = j;
            for (int m = 0; m < 4 && e < t->len; m++) {
                e++;
                while (e < t->len && ((unsigned char)t->term[e] & 0xC0) == 0x80)
                    e++;
                found += check_lookup(&f, &k, t->term + j, e - j, 1);
            }
            j++;
            while (j < t->len && ((unsigned char)t->term[j] & 0xC0) == 0x80)
                j++;
        }
    }
    assert_true(found > 0);
    if (runs > 1)
        assert_true(across > 0); /* the texts here have runs close together */
    /* a string of the same 16-bit hash as a term is not that term (a term
       that is the text's bytes, and one that is not) */
    for (size_t i = 0, done = 0; i < k.n && done < 3; i++) {
        const struct tok *t = &k.v[i];
        int same = t->end - t->start == t->len && !memcmp(text + t->start, t->term, t->len);
        if ((t->flags & KB_TOKF_RUN) || (done & (same ? 1 : 2)))
            continue;
        done |= same ? 1 : 2;
        uint64_t h = kb_hash64(t->term, t->len) & 0xFFFF;
        char probe[32];
        for (unsigned i = 0;; i++) {
            int n = snprintf(probe, sizeof probe, "q%u", i);
            if ((kb_hash64(probe, (size_t)n) & 0xFFFF) == h) {
                assert_int_equal(check_lookup(&f, &k, probe, (size_t)n, 0), 0);
                break;
            }
        }
    }
    /* held nowhere: a Latin term, a stem, CJK strings (the last two
       across the end of the chunk or not in the text) */
    assert_int_equal(check_lookup(&f, &k, "zzqx", 4, 0), 0);
    assert_int_equal(check_lookup(&f, &k, "Zzzqx", 5, 0), 0);
    assert_int_equal(check_lookup(&f, &k, "鑫鑫鑫", strlen("鑫鑫鑫"), 1), 0);
    for (size_t i = 0; i < k.n; i++)
        free(k.v[i].term);
    free(k.v);
    free(norm);
    free(map);
    kb_buf_fin(&src);
}

static void test_round_trip_short(void **state)
{
    (void)state;
    check_field("VPN error 809: the L2TP connections are failing; check NAT-T.");
    check_field("ＩＴ服务台：知识库 Apple电脑 win10 升级失败 0x80070005，ora-12154 到 8.3.4.1。");
    check_field("中文");
}

/* A run whose normalised bytes are not the text's: marked not analysed,
 * so the search reads the field itself. */
static void test_not_analysed(void **state)
{
    (void)state;
    const char *text = "電腦 ＡＢＣ 服務台 \xef\xa9\xb1 ok"; /* traditional, full width, U+FA71 */
    char *norm = NULL;
    size_t nlen = 0, *map = NULL;
    assert_int_equal(
        kb_analyzer_normalize_map(g_an, text, strlen(text), &norm, &nlen, &map, NULL, 0), 0);
    struct kb_buf src;
    kb_buf_init(&src);
    kb_snipsrc_add(g_an, KB_SNIPSRC_BODY, text, strlen(text), &src);
    struct kb_snipsrc_field f;
    assert_int_equal(kb_snipsrc_find(src.data, src.len, KB_SNIPSRC_BODY, &f), 1);
    /* the normaliser changes the CJK runs here, whatever else it does */
    assert_true(strstr(norm, "電腦") == NULL || strstr(norm, "\xef\xa9\xb1") == NULL);
    assert_int_equal(f.analysed, 0);
    assert_int_equal(f.idxlen, 0);
    assert_int_equal(f.rawlen, strlen(text));
    assert_memory_equal(f.raw, text, f.rawlen);
    kb_buf_fin(&src);
    free(norm);
    free(map);
}

static void test_round_trip_long(void **state)
{
    (void)state;
    struct kb_buf b;
    kb_buf_init(&b);
    for (int i = 0; i < 300; i++) /* lines: the chunk ends at a line end */
        kb_buf_printf(&b, "第 %d 段：Printers are spooling jobs，打印机队列 ＡＢＣ%d\n", i, i);
    check_field(b.data);
    kb_buf_reset(&b);
    for (int i = 0; i < 3000; i++) /* no line end: at a character start */
        kb_buf_adds(&b, i % 7 ? "服务" : "x");
    check_field(b.data);
    kb_buf_reset(&b);
    for (int i = 0; i < 2000; i++) /* one run, cut by the chunk's end */
        kb_buf_adds(&b, "服");
    check_field(b.data);
    kb_buf_reset(&b);
    for (int i = 0; i < 4096 + KB_SNIPSRC_TAIL - 3; i++) /* just within the tail */
        kb_buf_addc(&b, i % 9 ? 'a' : ' ');
    check_field(b.data);
    kb_buf_fin(&b);
}

/* Looks up a few terms in f's index, if it opens (the answers are not
 * checked: a damaged record may give any places, never a read out of
 * bounds). */
static void look_up_all(const struct kb_snipsrc_field *f, struct kb_buf *r)
{
    struct kb_snipsrc_index ix;
    if (!f->analysed || kb_snipsrc_index(f, &ix) < 0)
        return;
    const char *terms[] = {"outlook", "Zprofil", "profiles", "then", "无法",
                           "连接",    "重新创建", "配置文件", "置"};
    for (size_t i = 0; i < sizeof terms / sizeof terms[0]; i++) {
        size_t n = strlen(terms[i]);
        kb_snipsrc_term(&ix, terms[i], n, kb_hash64(terms[i], n), emit_place, r);
        kb_snipsrc_cjk(&ix, terms[i], n, emit_place, r);
    }
}

/* Every cut and many changed bytes of a source: an error or a record,
 * never a read out of bounds (run under ASan). */
static void test_damaged(void **state)
{
    (void)state;
    const char *text = "Outlook 无法连接 Exchange：重新创建配置文件 profiles，then restart.";
    struct kb_buf src;
    kb_buf_init(&src);
    kb_snipsrc_add(g_an, KB_SNIPSRC_BODY, text, strlen(text), &src);
    kb_snipsrc_add(g_an, KB_SNIPSRC_WORKAROUND, text, strlen(text), &src);
    struct kb_snipsrc_field f;
    int errors = 0;
    for (size_t cut = 0; cut < src.len; cut++) {
        char *p = kb_xmalloc(cut + 1);
        memcpy(p, src.data, cut);
        int rc = kb_snipsrc_find(p, cut, KB_SNIPSRC_WORKAROUND, &f);
        errors += rc < 0;
        assert_true(rc != 1); /* the second record is never whole */
        free(p);
    }
    assert_true(errors > 0);
    struct kb_buf r;
    kb_buf_init(&r);
    for (size_t at = 0; at < src.len; at++) {
        for (int x = 1; x < 256; x += 85) {
            char *p = kb_xmalloc(src.len);
            memcpy(p, src.data, src.len);
            p[at] = (char)(p[at] ^ x);
            if (kb_snipsrc_find(p, src.len, KB_SNIPSRC_BODY, &f) == 1) {
                assert_true(f.chunk <= f.rawlen && f.rawlen <= f.flen);
                kb_buf_reset(&r);
                look_up_all(&f, &r);
            }
            free(p);
        }
    }
    kb_buf_fin(&r);
    assert_int_equal(kb_snipsrc_find("\x09", 1, 0, &f), KB_SNIPSRC_EDAMAGED);
    kb_buf_fin(&src);
}

static void assert_same_str(const char *a, const char *b)
{
    if (!a || !b)
        assert_ptr_equal(a, b);
    else
        assert_string_equal(a, b);
}

/* kb_doc_pack with an analyzer: kb_doc_unpack gives back every field,
 * kb_doc_unpack_head the head alone with the source. */
static void pack_round_trip(struct kb_doc *d)
{
    size_t len = 0;
    char *packed = kb_doc_pack(d, g_an, &len);
    assert_int_equal(packed[0], KB_DOC_PACK_SPLIT);
    char err[KB_ERR_MAX];
    struct kb_doc *e = kb_doc_unpack(packed, len, err, sizeof err);
    assert_non_null(e);
    char *a = kb_doc_to_json(d), *b = kb_doc_to_json(e);
    assert_string_equal(a, b);
    free(a);
    free(b);
    char *src = NULL;
    size_t srclen = 0;
    struct kb_doc *h = kb_doc_unpack_head(packed, len, &src, &srclen, err, sizeof err);
    assert_non_null(h);
    assert_same_str(h->id, d->id);
    assert_same_str(h->title, d->title);
    assert_same_str(h->workaround, d->workaround);
    assert_same_str(h->status, d->status);
    assert_null(h->body);
    assert_null(h->symptom);
    assert_int_equal(h->kind, d->kind);
    struct kb_snipsrc_field f;
    int want = d->body && *d->body;
    assert_int_equal(kb_snipsrc_find(src, srclen, KB_SNIPSRC_BODY, &f), want);
    if (want) {
        assert_int_equal(f.flen, strlen(d->body));
        assert_memory_equal(f.raw, d->body, f.rawlen);
    }
    /* the two steps a cache of decoded heads takes give the same */
    size_t an = 0, srclen2 = 0;
    char *abytes = kb_doc_head_bytes(packed, len, &an, err, sizeof err), *src2 = NULL;
    assert_non_null(abytes);
    struct kb_doc *h2 = kb_doc_head_from_bytes(abytes, an, &src2, &srclen2, err, sizeof err);
    assert_non_null(h2);
    a = kb_doc_to_json(h);
    b = kb_doc_to_json(h2);
    assert_string_equal(a, b);
    free(a);
    free(b);
    assert_int_equal(srclen2, srclen);
    assert_memory_equal(src2, src, srclen);
    kb_doc_free(h2);
    free(src2);
    /* the bytes stay the caller's and can be read again */
    h2 = kb_doc_head_from_bytes(abytes, an, &src2, &srclen2, err, sizeof err);
    assert_non_null(h2);
    assert_same_str(h2->title, d->title);
    kb_doc_free(h2);
    free(src2);
    /* cut short within the head (4 bytes of length, then its JSON): an
       error, never a crash */
    const unsigned char *u = (const unsigned char *)abytes;
    size_t hl = (size_t)u[0] | (size_t)u[1] << 8 | (size_t)u[2] << 16 | (size_t)u[3] << 24;
    assert_true(4 + hl <= an);
    for (size_t cut = 0; cut < 4 + hl; cut += cut < 80 ? 1 : 61) {
        err[0] = '\0';
        assert_null(kb_doc_head_from_bytes(abytes, cut, &src2, &srclen2, err, sizeof err));
        assert_null(src2);
        assert_true(err[0] != '\0');
    }
    free(abytes);
    /* not the split form: NULL and no message */
    assert_null(kb_doc_head_bytes("{\"id\":\"x\"}", 10, &an, err, sizeof err));
    assert_string_equal(err, "");
    free(src);
    kb_doc_free(h);
    /* cut short anywhere: an error */
    for (size_t cut = 0; cut < len; cut += cut < 80 ? 1 : 61) {
        err[0] = '\0';
        assert_null(kb_doc_unpack(packed, cut, err, sizeof err));
        assert_true(err[0] != '\0');
    }
    /* a changed byte: an error or some document, never a crash */
    for (size_t at = 0; at < len; at += len < 200 ? 1 : 7) {
        char *bad = kb_xmalloc(len);
        memcpy(bad, packed, len);
        bad[at] ^= 0x41;
        kb_doc_free(kb_doc_unpack(bad, len, NULL, 0));
        h = kb_doc_unpack_head(bad, len, &src, &srclen, NULL, 0);
        kb_doc_free(h);
        free(src);
        abytes = kb_doc_head_bytes(bad, len, &an, NULL, 0);
        if (abytes) {
            kb_doc_free(kb_doc_head_from_bytes(abytes, an, &src, &srclen, NULL, 0));
            free(src);
            free(abytes);
        }
        free(bad);
    }
    kb_doc_free(e);
    free(packed);
}

static void test_doc_pack(void **state)
{
    (void)state;
    struct kb_doc *d = kb_doc_new(KB_KIND_KNOWN_ERROR);
    kb_doc_set(&d->id, "KE-0001");
    kb_doc_set(&d->title, "VPN 错误 809");
    kb_doc_set(&d->symptom, "连接 VPN 时报错 809。");
    kb_doc_set(&d->workaround, "改用 SSTP。");
    kb_doc_set(&d->cause, ""); /* empty: kept as it is */
    kb_doc_set(&d->status, "open");
    kb_doc_set(&d->tags, "vpn,l2tp");
    d->source_line = 12;
    pack_round_trip(d); /* no body */
    struct kb_buf b;
    kb_buf_init(&b);
    for (int i = 0; i < 400; i++)
        kb_buf_printf(&b, "第 %d 段：L2TP 连接失败，检查 NAT-T 设置 \"quoted\"\n", i);
    kb_doc_set(&d->body, b.data); /* longer than the kept text */
    kb_doc_set(&d->resolution, b.data);
    pack_round_trip(d);
    kb_doc_free(d);
    d = kb_doc_new(KB_KIND_STANDARD);
    kb_doc_set(&d->id, "std-x:8.3");
    kb_doc_set(&d->body, "短的正文 with English words");
    kb_doc_set(&d->clause, "8.3");
    d->body_composed = 1;
    pack_round_trip(d);
    kb_doc_free(d);
    d = kb_doc_new(KB_KIND_ARTICLE);
    kb_doc_set(&d->id, "a");
    pack_round_trip(d); /* nothing but an id */
    kb_doc_free(d);
    kb_buf_fin(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_short),
        cmocka_unit_test(test_round_trip_long),
        cmocka_unit_test(test_not_analysed),
        cmocka_unit_test(test_damaged),
        cmocka_unit_test(test_doc_pack),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
