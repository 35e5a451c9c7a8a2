/* kio: importing a corpus's articles and known errors into PostgreSQL and
 * exporting the published ones back to Markdown (see kio.h). */
#include "kio.h"
#include "kb_md.h"
#include "kb_util.h"
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct walk {
    struct store *st;
    const char *root;
    long long owner;
    FILE *log;
    struct kio_stats *stats;
    char *err;
    size_t errlen;
};

static int import_file(struct walk *w, const char *rel)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", w->root, rel) >= (int)sizeof path) {
        kb_seterr(w->err, w->errlen, "%s/%s: path too long", w->root, rel);
        return -1;
    }
    char *text = NULL, msg[KB_ERR_MAX];
    size_t len = 0;
    w->stats->files++;
    if (kb_read_file(path, &text, &len, msg, sizeof msg) < 0) {
        fprintf(w->log, "%s\n", msg);
        w->stats->failed++;
        return 0;
    }
    struct kb_doc *d = NULL;
    int line = 0;
    if (kb_md_parse(text, len, rel, &d, &line, msg, sizeof msg) < 0) {
        fprintf(w->log, "%s:%d: %s\n", path, line, msg);
        w->stats->failed++;
        free(text);
        return 0;
    }
    free(text);
    int rc = store_knowledge_import(w->st, w->owner, d);
    if (rc == 0) {
        w->stats->imported++;
    } else if (rc == STORE_ECONFLICT) {
        w->stats->existing++;
    } else if (rc == STORE_EINVALID) {
        fprintf(w->log, "%s: %s\n", path, store_errmsg(w->st));
        w->stats->failed++;
    } else {
        kb_seterr(w->err, w->errlen, "%s: %s", path, store_errmsg(w->st));
        kb_doc_free(d);
        return -1;
    }
    kb_doc_free(d);
    return 0;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Walks dir (relative to the root; "" for it) in name order. */
static int walk_dir(struct walk *w, const char *rel)
{
    char path[4096];
    snprintf(path, sizeof path, "%s%s%s", w->root, *rel ? "/" : "", rel);
    DIR *d = opendir(path);
    if (!d) {
        kb_seterr(w->err, w->errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 32;
            names = kb_xrealloc(names, cap * sizeof *names);
        }
        names[n++] = kb_xstrdup(e->d_name);
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, cmp_name);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char sub[4096], full[4096];
        struct stat sb;
        if (snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", names[i]) >=
                (int)sizeof sub ||
            snprintf(full, sizeof full, "%s/%s", w->root, sub) >= (int)sizeof full) {
            kb_seterr(w->err, w->errlen, "%s/%s: path too long", path, names[i]);
            rc = -1;
            break;
        }
        if (stat(full, &sb) != 0)
            continue;
        size_t len = strlen(names[i]);
        if (S_ISDIR(sb.st_mode)) {
            if (strcmp(names[i], "standards") != 0) /* clauses: not desk knowledge */
                rc = walk_dir(w, sub);
        } else if (len > 3 && strcmp(names[i] + len - 3, ".md") == 0 &&
                   strcmp(names[i], "README.md") != 0) {
            rc = import_file(w, sub);
        }
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

int kio_import(struct store *st, const char *dir, long long owner_id, FILE *log,
               struct kio_stats *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    struct walk w = {st, dir, owner_id, log, out, err, errlen};
    return walk_dir(&w, "");
}

struct export_ctx {
    const char *dir;
    struct kio_stats *stats;
    char *err;
    size_t errlen;
};

static int export_one(void *arg, const char *doc_id, int64_t seq, const struct kb_doc *doc)
{
    (void)seq;
    struct export_ctx *c = arg;
    if (!doc)
        return 0;
    char *text = kb_md_print(doc);
    if (!text)
        return 0;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s/%s.md", c->dir,
             doc->kind == KB_KIND_ARTICLE ? "articles" : "known_errors", doc_id);
    FILE *f = fopen(path, "w");
    int rc = 0;
    if (!f || fputs(text, f) < 0) {
        kb_seterr(c->err, c->errlen, "%s: %s", path, strerror(errno));
        rc = 1;
    }
    if (f && fclose(f) != 0 && rc == 0) {
        kb_seterr(c->err, c->errlen, "%s: %s", path, strerror(errno));
        rc = 1;
    }
    free(text);
    if (rc == 0)
        c->stats->exported++;
    return rc;
}

int kio_export(struct store *st, const char *dir, struct kio_stats *out, char *err,
               size_t errlen)
{
    memset(out, 0, sizeof *out);
    static const char *const sub[] = {"", "/articles", "/known_errors"};
    for (int i = 0; i < 3; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s%s", dir, sub[i]);
        if (mkdir(path, 0777) != 0 && errno != EEXIST) {
            kb_seterr(err, errlen, "%s: %s", path, strerror(errno));
            return -1;
        }
    }
    struct export_ctx c = {dir, out, err, errlen};
    int rc = store_knowledge_changes(st, 0, export_one, &c, NULL);
    if (rc < 0) {
        kb_seterr(err, errlen, "%s", store_errmsg(st));
        return -1;
    }
    return rc ? -1 : 0;
}
