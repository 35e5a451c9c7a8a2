/* prep: the build's reading and analysing stage, on its own thread (see
 * prep.h). Items travel through a kb_workq of two queues: PREP_AHEAD
 * empty items wait in FREE; the stage takes one, fills it with the next
 * file and puts it in READY; the build takes it from READY and gives it
 * back to FREE. So the stage is never more than PREP_AHEAD files ahead,
 * and the files arrive in list order (one producer, FIFO queues). A
 * process allowed on one CPU only (taskset) gains nothing from the thread
 * and would pay a switch per file: there prep_next prepares the file
 * itself, with the same code. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "prep.h"
#include "build.h"
#include "kb_md.h"
#include "kb_stdparse.h"
#include "kb_workq.h"

#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { Q_FREE, Q_READY };

struct prep {
    struct prep_opts o;
    char **hash, **stamp;    /* owned copies of o.known (NULL entries: unknown) */
    kb_workq *q;             /* NULL: no thread, prep_next prepares */
    struct prep_file items[PREP_AHEAD];
    size_t taken;            /* files handed to the build so far */
};

static struct prep_doc *add_doc(struct prep_file *f)
{
    if (f->ndocs == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 4;
        f->docs = kb_xrealloc(f->docs, f->cap * sizeof *f->docs);
    }
    struct prep_doc *d = &f->docs[f->ndocs++];
    memset(d, 0, sizeof *d);
    return d;
}

static int collect(void *ud, struct kb_doc *d)
{
    add_doc(ud)->doc = d;
    return 0;
}

/* Empties an item for its next file (keeps the docs array). */
static void clear(struct prep_file *f)
{
    for (size_t i = 0; i < f->ndocs; i++) {
        struct prep_doc *d = &f->docs[i];
        kb_doc_free(d->doc);
        kbx_doc_free(d->xd);
        termgen_words_fin(&d->words);
        free(d->err);
    }
    f->ndocs = 0;
    f->state = PREP_SAME_STAMP;
    f->head[0] = f->msg[0] = '\0';
    f->line = 0;
}

/* Parses a file's text into f->docs: PREP_CHANGED, or PREP_BAD_FILE with
 * the parser's message (and line). */
static void parse(struct prep_file *f, const char *path, const char *text, size_t len)
{
    f->state = PREP_CHANGED;
    if (walk_is_std_file(path)) {
        if (kb_std_parse(text, len, path, collect, f, f->msg, sizeof f->msg) != 0)
            f->state = PREP_BAD_FILE;
        return;
    }
    struct kb_doc *d = NULL;
    if (kb_md_parse(text, len, path, &d, &f->line, f->msg, sizeof f->msg) < 0) {
        f->state = PREP_BAD_FILE;
        return;
    }
    collect(f, d);
}

/* Analyses every document of this shard; a failure stays with its doc. */
static void analyse(prep *p, struct prep_file *f)
{
    for (size_t i = 0; i < f->ndocs; i++) {
        struct prep_doc *d = &f->docs[i];
        if (p->o.nshards > 1 && build_shard_of(d->doc->id, p->o.nshards) != p->o.shard)
            continue;
        char err[KB_ERR_MAX];
        if (termgen_doc(p->o.an, d->doc, &d->xd, &d->words, err, sizeof err) < 0) {
            kbx_doc_free(d->xd);
            d->xd = NULL;
            termgen_words_fin(&d->words);
            d->err = kb_xstrdup(err);
        }
    }
}

/* Prepares file number i into f (cleared). */
static void fill(prep *p, size_t i, struct prep_file *f)
{
    const char *path = p->o.files->v[i];
    const char *stamp = walk_stamp(path);
    const char *khash = p->hash[i], *kstamp = p->stamp[i];
    f->index = i;
    if (khash && !p->o.full && *stamp && strcmp(kstamp, stamp) == 0) {
        f->state = PREP_SAME_STAMP;
        return;
    }
    struct kb_buf full;
    kb_buf_init(&full);
    kb_buf_printf(&full, "%s/%s", p->o.corpus, path);
    char *text;
    size_t len;
    int rc = kb_read_file(full.data, &text, &len, f->msg, sizeof f->msg);
    kb_buf_fin(&full);
    if (rc < 0) {
        f->state = PREP_UNREADABLE;
        return;
    }
    snprintf(f->head, sizeof f->head, "%016" PRIx64 "%s%s", kb_hash64(text, len),
             *stamp ? " " : "", stamp);
    if (khash && !p->o.full && strncmp(khash, f->head, 16) == 0 && strlen(khash) == 16) {
        f->state = PREP_SAME_HASH;
        free(text);
        return;
    }
    parse(f, path, text, len);
    free(text);
    if (f->state == PREP_CHANGED)
        analyse(p, f);
}

static void *run(void *arg)
{
    prep *p = arg;
    for (size_t i = 0; i < p->o.files->n; i++) {
        void *item;
        if (kb_workq_pop(p->q, Q_FREE, 0, &item) != 0)
            break; /* stopping */
        fill(p, i, item);
        if (kb_workq_push(p->q, Q_READY, item) < 0)
            break; /* stopping: prep_free finds the item by its slot */
    }
    return NULL;
}

int prep_start(const struct prep_opts *o, prep **out, char *err, size_t errlen)
{
    prep *p = kb_xcalloc(1, sizeof *p);
    p->o = *o;
    size_t n = o->files->n;
    p->hash = kb_xcalloc(n ? n : 1, sizeof *p->hash);
    p->stamp = kb_xcalloc(n ? n : 1, sizeof *p->stamp);
    for (size_t i = 0; i < n; i++)
        if (o->known[i].hash) {
            p->hash[i] = kb_xstrdup(o->known[i].hash);
            p->stamp[i] = kb_xstrdup(o->known[i].stamp ? o->known[i].stamp : "");
        }
    cpu_set_t cpus;
    if (sched_getaffinity(0, sizeof cpus, &cpus) == 0 && CPU_COUNT(&cpus) < 2) {
        *out = p;
        return 0;
    }
    p->q = kb_workq_new(2, PREP_AHEAD);
    for (int i = 0; i < PREP_AHEAD; i++)
        kb_workq_push(p->q, Q_FREE, &p->items[i]);
    if (kb_workq_spawn(p->q, run, p, err, errlen) < 0) {
        prep_free(p);
        return -1;
    }
    *out = p;
    return 0;
}

struct prep_file *prep_next(prep *p)
{
    if (p->taken == p->o.files->n)
        return NULL;
    if (!p->q) {
        fill(p, p->taken++, &p->items[0]);
        return &p->items[0];
    }
    void *item;
    if (kb_workq_pop(p->q, Q_READY, 0, &item) != 0)
        return NULL;
    p->taken++;
    return item;
}

void prep_release(prep *p, struct prep_file *f)
{
    clear(f);
    if (p->q)
        kb_workq_push(p->q, Q_FREE, f);
}

void prep_free(prep *p)
{
    if (!p)
        return;
    if (p->q) {
        kb_workq_join(p->q); /* the thread is gone: every item is ours again */
        kb_workq_free(p->q);
    }
    for (int i = 0; i < PREP_AHEAD; i++) {
        clear(&p->items[i]);
        free(p->items[i].docs);
    }
    for (size_t i = 0; i < p->o.files->n; i++) {
        free(p->hash[i]);
        free(p->stamp[i]);
    }
    free(p->hash);
    free(p->stamp);
    free(p);
}
