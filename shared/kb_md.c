/* kb_md: header + Markdown body parser for articles and known errors. */
#include "kb_md.h"
#include "kb_utf8.h"
#include "kb_calendar.h"
#include "kb_util.h"

#include <stdlib.h>
#include <string.h>

struct line {
    const char *s;
    size_t n;
};

/* Splits text into lines (without \n and a trailing \r). Caller frees. */
static struct line *split_lines(const char *text, size_t len, size_t *count)
{
    size_t cap = 64, n = 0;
    struct line *v = kb_xmalloc(cap * sizeof *v);
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (n == cap)
            v = kb_xrealloc(v, (cap *= 2) * sizeof *v);
        v[n].s = p;
        v[n].n = (l && p[l - 1] == '\r') ? l - 1 : l;
        n++;
        p += l + 1;
    }
    *count = n;
    return v;
}

static int is_fence(const struct line *l)
{
    size_t n = l->n;
    while (n && (l->s[n - 1] == ' ' || l->s[n - 1] == '\t'))
        n--;
    return n == 3 && memcmp(l->s, "---", 3) == 0;
}

static int one_of(const char *v, const char *const *set)
{
    for (; *set; set++)
        if (strcmp(v, *set) == 0)
            return 1;
    return 0;
}

static const char *const vis_values[] = {"public", "internal", NULL};
static const char *const lang_values[] = {"zh", "en", "mixed", NULL};
static const char *const status_values[] = {"open", "workaround", "resolved", NULL};

static int valid_id(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return 0;
    }
    return 1;
}

/* "zh" when most letters are Han, "en" when few are, else "mixed". */
static const char *guess_lang(const char *s, size_t len)
{
    size_t han = 0, latin = 0;
    for (size_t i = 0; i < len;) {
        int32_t c = kb_utf8_next(s, len, &i);
        if (c >= 0x4E00 && c <= 0x9FFF)
            han++;
        else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
            latin++;
    }
    /* a Han character carries about as much as a short Latin word */
    if (han * 4 >= (han + latin / 4) * 3)
        return "zh";
    if (han * 10 <= (han + latin / 4))
        return "en";
    return "mixed";
}

/* Which known-error section does a "## heading" name? -1: none. */
enum { SEC_SYMPTOM, SEC_CAUSE, SEC_WORKAROUND, SEC_RESOLUTION, SEC_N };
static const char *const sec_names[SEC_N][8] = {
    {"症状", "现象", "故障现象", "symptom", "symptoms", "Symptom", "Symptoms", NULL},
    {"原因", "根本原因", "根因", "cause", "Cause", "Root cause", "Root Cause", NULL},
    {"临时解决方案", "临时措施", "规避措施", "临时解决办法", "workaround", "Workaround", NULL},
    {"解决方案", "永久解决方案", "解决办法", "resolution", "Resolution", "Fix", NULL},
};

static int section_of(const char *h, size_t n)
{
    for (int s = 0; s < SEC_N; s++)
        for (int k = 0; sec_names[s][k]; k++)
            if (strlen(sec_names[s][k]) == n && memcmp(sec_names[s][k], h, n) == 0)
                return s;
    return -1;
}

static char *join_lines(const struct line *v, size_t from, size_t to)
{
    struct kb_buf b;
    kb_buf_init(&b);
    for (size_t i = from; i < to; i++) {
        kb_buf_add(&b, v[i].s, v[i].n);
        kb_buf_addc(&b, '\n');
    }
    char *s = kb_buf_take(&b);
    return kb_strip(s);
}

int kb_md_parse(const char *text, size_t len, const char *source, struct kb_doc **out, int *line,
                char *err, size_t errlen)
{
    *out = NULL;
    *line = 0;
    size_t bad;
    if (kb_utf8_check(text, len, 0, &bad) < 0) {
        int l = 1;
        for (size_t i = 0; i < bad; i++)
            l += text[i] == '\n';
        *line = l;
        kb_seterr(err, errlen, "invalid UTF-8 or NUL byte (byte %zu)", bad);
        return -1;
    }
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
        text += 3;
        len -= 3;
    }
    size_t nl;
    struct line *v = split_lines(text, len, &nl);
    struct kb_doc *d = NULL;
    int rc = -1;
    if (nl == 0 || !is_fence(&v[0])) {
        *line = 1;
        kb_seterr(err, errlen, "missing header: the first line must be ---");
        goto out;
    }
    size_t hend = 1;
    while (hend < nl && !is_fence(&v[hend]))
        hend++;
    if (hend == nl) {
        *line = (int)nl;
        kb_seterr(err, errlen, "header not closed: no --- line after the fields");
        goto out;
    }
    /* Fields by name; kind decides which are allowed. */
    static const char *const keys[] = {"id", "kind", "title", "category", "tags", "product",
                                       "lang", "visibility", "updated", "service", "status",
                                       NULL};
    char *val[11] = {0};
    int at[11] = {0};
    for (size_t i = 1; i < hend; i++) {
        const char *s = v[i].s;
        size_t n = v[i].n;
        size_t k = 0;
        while (k < n && s[k] == ' ')
            k++;
        if (k == n || s[k] == '#')
            continue; /* blank or comment */
        const char *colon = memchr(s, ':', n);
        if (!colon) {
            *line = (int)i + 1;
            kb_seterr(err, errlen, "header line is not 'key: value'");
            goto free_vals;
        }
        char *key = kb_strip(kb_xstrndup(s, (size_t)(colon - s)));
        int ki = -1;
        for (int j = 0; keys[j]; j++)
            if (strcmp(keys[j], key) == 0)
                ki = j;
        if (ki < 0) {
            *line = (int)i + 1;
            kb_seterr(err, errlen, "unknown header field '%s'", key);
            free(key);
            goto free_vals;
        }
        free(key);
        if (val[ki]) {
            *line = (int)i + 1;
            kb_seterr(err, errlen, "header field '%s' given twice (first on line %d)", keys[ki],
                      at[ki]);
            goto free_vals;
        }
        val[ki] = kb_strip(kb_xstrndup(colon + 1, (size_t)(s + n - colon - 1)));
        at[ki] = (int)i + 1;
    }
    for (int j = 0; j < 3; j++) {
        if (!val[j] || !*val[j]) {
            *line = at[j] ? at[j] : 1;
            kb_seterr(err, errlen, "header field '%s' is missing or empty", keys[j]);
            goto free_vals;
        }
    }
    int kind = kb_kind_parse(val[1]);
    if (kind != KB_KIND_ARTICLE && kind != KB_KIND_KNOWN_ERROR) {
        *line = at[1];
        kb_seterr(err, errlen, "kind must be article or known_error, not '%s'", val[1]);
        goto free_vals;
    }
    if (!valid_id(val[0])) {
        *line = at[0];
        kb_seterr(err, errlen, "id '%s' must be 1-64 ASCII letters, digits, '-', '_' or '.'",
                  val[0]);
        goto free_vals;
    }
    static const int article_only[] = {3, 4, 5, 6, 8}, ke_only[] = {9, 10};
    for (size_t j = 0; j < 5; j++)
        if (kind != KB_KIND_ARTICLE && val[article_only[j]]) {
            *line = at[article_only[j]];
            kb_seterr(err, errlen, "field '%s' is for articles only", keys[article_only[j]]);
            goto free_vals;
        }
    for (size_t j = 0; j < 2; j++)
        if (kind != KB_KIND_KNOWN_ERROR && val[ke_only[j]]) {
            *line = at[ke_only[j]];
            kb_seterr(err, errlen, "field '%s' is for known errors only", keys[ke_only[j]]);
            goto free_vals;
        }
    if (val[7] && !one_of(val[7], vis_values)) {
        *line = at[7];
        kb_seterr(err, errlen, "visibility must be public or internal, not '%s'", val[7]);
        goto free_vals;
    }
    if (val[6] && !one_of(val[6], lang_values)) {
        *line = at[6];
        kb_seterr(err, errlen, "lang must be zh, en or mixed, not '%s'", val[6]);
        goto free_vals;
    }
    if (val[10] && !one_of(val[10], status_values)) {
        *line = at[10];
        kb_seterr(err, errlen, "status must be open, workaround or resolved, not '%s'", val[10]);
        goto free_vals;
    }
    if (val[8] && kbcal_parse_date(val[8], &(int32_t){0}) != 0) {
        *line = at[8];
        kb_seterr(err, errlen, "updated must be a date YYYY-MM-DD, not '%s'", val[8]);
        goto free_vals;
    }

    d = kb_doc_new((enum kb_kind)kind);
    char **dst[11] = {&d->id, NULL, &d->title, &d->category, &d->tags, &d->product,
                      &d->lang, &d->visibility, &d->updated, &d->service, &d->status};
    for (int j = 0; j < 11; j++)
        if (dst[j] && val[j]) {
            *dst[j] = val[j];
            val[j] = NULL;
        }
    if (!d->visibility)
        d->visibility = kb_xstrdup("public");
    if (kind == KB_KIND_ARTICLE && !d->lang)
        d->lang = kb_xstrdup(guess_lang(text + (v[hend].s - text), len - (size_t)(v[hend].s - text)));
    d->source = kb_xstrdup(source);
    d->source_line = 1;

    if (kind == KB_KIND_ARTICLE) {
        d->body = join_lines(v, hend + 1, nl);
    } else {
        char **secdst[SEC_N] = {&d->symptom, &d->cause, &d->workaround, &d->resolution};
        struct kb_buf other;
        kb_buf_init(&other);
        int cur = -1;
        size_t from = hend + 1;
        for (size_t i = hend + 1; i <= nl; i++) {
            int sec = -2;
            if (i < nl && v[i].n > 3 && memcmp(v[i].s, "## ", 3) == 0) {
                char *h = kb_strip(kb_xstrndup(v[i].s + 3, v[i].n - 3));
                sec = section_of(h, strlen(h));
                free(h);
            }
            if (i < nl && sec == -2)
                continue;
            /* close the running part [from, i) */
            char *part = join_lines(v, from, i);
            if (cur >= 0) {
                if (*secdst[cur]) {
                    *line = (int)from;
                    kb_seterr(err, errlen, "section '%s' given twice", sec_names[cur][0]);
                    free(part);
                    kb_buf_fin(&other);
                    goto free_doc;
                }
                *secdst[cur] = part;
            } else {
                if (*part) {
                    if (other.len)
                        kb_buf_addc(&other, '\n');
                    kb_buf_adds(&other, part);
                }
                free(part);
            }
            if (i < nl && sec == -1) {
                /* an unknown ## heading: its text goes to body */
                cur = -1;
                from = i;
            } else {
                cur = sec;
                from = i + 1;
            }
        }
        d->body = kb_buf_take(&other);
        if (!d->symptom || !*d->symptom) {
            *line = (int)hend + 2;
            kb_seterr(err, errlen, "known error has no symptom section (## 症状 or ## Symptom)");
            goto free_doc;
        }
        if (!d->status)
            d->status = kb_xstrdup(d->resolution && *d->resolution ? "resolved" : "open");
    }
    *out = d;
    d = NULL;
    rc = 0;
free_doc:
    kb_doc_free(d);
free_vals:
    for (int j = 0; j < 11; j++)
        free(val[j]);
out:
    free(v);
    return rc;
}

/* ---- writing ----------------------------------------------------------------- */

char *kb_md_print(const struct kb_doc *d)
{
    if (d->kind != KB_KIND_ARTICLE && d->kind != KB_KIND_KNOWN_ERROR)
        return NULL;
    struct kb_buf b;
    kb_buf_init(&b);
    const struct {
        const char *key, *value;
    } article[] = {{"category", d->category}, {"tags", d->tags},     {"product", d->product},
                   {"lang", d->lang},         {"visibility", d->visibility},
                   {"updated", d->updated}},
      known[] = {{"service", d->service}, {"status", d->status}, {"visibility", d->visibility}};
    kb_buf_printf(&b, "---\nid: %s\nkind: %s\ntitle: %s\n", d->id ? d->id : "",
                  kb_kind_name(d->kind), d->title ? d->title : "");
    int ke = d->kind == KB_KIND_KNOWN_ERROR;
    size_t n = ke ? sizeof known / sizeof known[0] : sizeof article / sizeof article[0];
    for (size_t i = 0; i < n; i++) {
        const char *key = ke ? known[i].key : article[i].key;
        const char *v = ke ? known[i].value : article[i].value;
        if (v)
            kb_buf_printf(&b, "%s: %s\n", key, v);
    }
    kb_buf_adds(&b, "---\n");
    if (d->body && *d->body)
        kb_buf_printf(&b, "%s\n", d->body);
    if (ke) {
        const char *sec[SEC_N] = {d->symptom, d->cause, d->workaround, d->resolution};
        for (int s = 0; s < SEC_N; s++) {
            if (!sec[s])
                continue;
            /* a blank line between parts */
            if (!(b.len >= 4 && memcmp(b.data + b.len - 4, "---\n", 4) == 0))
                kb_buf_addc(&b, '\n');
            kb_buf_printf(&b, "## %s\n", sec_names[s][0]);
            if (*sec[s])
                kb_buf_printf(&b, "%s\n", sec[s]);
        }
    }
    return kb_buf_take(&b);
}
