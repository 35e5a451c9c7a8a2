/* indexer: fills and inspects kbdesk's Xapian index.
 *
 *   indexer build --corpus DIR --index DIR [--db CONNINFO] [--full] [--quiet] [--strict]
 *   indexer follow --corpus DIR --index DIR --db CONNINFO [--poll-ms N]
 *   indexer import --corpus DIR --db CONNINFO --owner USERNAME
 *   indexer export --db CONNINFO --out DIR
 *   indexer stats --index DIR
 *   indexer show --index DIR [--terms] ID...
 *   indexer list --index DIR
 *   indexer tokenize [--verbose] < text
 */
#include "build.h"
#include "dbsource.h"
#include "follow.h"
#include "kio.h"
#include "store.h"
#include "kb_analyzer.h"
#include "kb_schema.h"
#include "kb_util.h"
#include "kb_xapian.h"

#include <getopt.h>
#include <signal.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <utf8proc.h>

static void usage(FILE *f)
{
    fputs("usage: indexer COMMAND [OPTIONS]\n"
          "\n"
          "commands:\n"
          "  build --corpus DIR --index DIR   index new and changed corpus files, remove\n"
          "                                   deleted ones; one atomic commit\n"
          "        --full                     re-index every file\n"
          "        --quiet                    no progress line\n"
          "        --strict                   exit 1 if any file was skipped as malformed\n"
          "        --db CONNINFO              also the knowledge published in PostgreSQL\n"
          "                                   (an id in a file and the database: the\n"
          "                                   file wins, the item is reported)\n"
          "        --shard I/N                keep only shard I of N (0 <= I < N <= 16):\n"
          "                                   the documents whose id hashes to I (FNV-1a\n"
          "                                   mod N); one index per shard, searched as\n"
          "                                   one by searchd --index A,B,...\n"
          "  follow --corpus DIR --index DIR --db CONNINFO [--poll-ms N]\n"
          "                                   build, then keep following publish and\n"
          "                                   retire in PostgreSQL (LISTEN, and a poll\n"
          "                                   every N ms, default 1000) until SIGTERM;\n"
          "                                   prints \"following ...\" when up to date\n"
          "  import --corpus DIR --db CONNINFO --owner USERNAME\n"
          "                                   store the corpus's articles and known\n"
          "                                   errors in PostgreSQL as published items of\n"
          "                                   agent USERNAME (ids already there: left)\n"
          "  export --db CONNINFO --out DIR   write every published item as Markdown:\n"
          "                                   DIR/articles/ID.md, DIR/known_errors/ID.md\n"
          "  stats --index DIR                document counts by kind, standards, terms\n"
          "  show --index DIR [--terms] ID... print each document (JSON); --terms adds\n"
          "                                   its index terms with positions\n"
          "  list --index DIR                 every document: id, title, source file\n"
          "  tokenize [--verbose]             read text on stdin, print the terms it would\n"
          "                                   index, one per line (--verbose: position,\n"
          "                                   byte offsets and kind of each)\n"
          "\n"
          "exit status: 0 ok, 1 error, 2 usage\n",
          f);
}

enum { OPT_CORPUS = 1, OPT_INDEX, OPT_FULL, OPT_QUIET, OPT_STRICT, OPT_TERMS, OPT_VERBOSE,
       OPT_HELP, OPT_DB, OPT_POLL, OPT_OUT, OPT_OWNER, OPT_SHARD };

static const struct option long_opts[] = {
    {"corpus", required_argument, NULL, OPT_CORPUS},
    {"index", required_argument, NULL, OPT_INDEX},
    {"full", no_argument, NULL, OPT_FULL},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"strict", no_argument, NULL, OPT_STRICT},
    {"terms", no_argument, NULL, OPT_TERMS},
    {"verbose", no_argument, NULL, OPT_VERBOSE},
    {"help", no_argument, NULL, OPT_HELP},
    {"db", required_argument, NULL, OPT_DB},
    {"poll-ms", required_argument, NULL, OPT_POLL},
    {"out", required_argument, NULL, OPT_OUT},
    {"owner", required_argument, NULL, OPT_OWNER},
    {"shard", required_argument, NULL, OPT_SHARD},
    {NULL, 0, NULL, 0},
};

struct args {
    const char *corpus, *index, *db, *out, *owner;
    int full, quiet, strict, terms, verbose, poll_ms;
    unsigned shard, nshards; /* --shard I/N */
};

/* ---- tokenize --------------------------------------------------------------- */

static const char *flag_names(unsigned f, char *buf, size_t cap)
{
    static const struct { unsigned bit; const char *name; } names[] = {
        {KB_TOKF_WORD, "word"}, {KB_TOKF_BIGRAM, "bigram"}, {KB_TOKF_STEM, "stem"},
        {KB_TOKF_CODE, "code"}, {KB_TOKF_PART, "part"},     {KB_TOKF_LEX, "lexicon"},
    };
    buf[0] = '\0';
    size_t n = 0;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (f & names[i].bit)
            n += (size_t)snprintf(buf + n, cap - n, "%s%s", n ? "," : "", names[i].name);
    return buf;
}

static int print_token(void *ud, const struct kb_token *t)
{
    int verbose = *(int *)ud;
    if (verbose) {
        char fl[64];
        printf("%.*s\t%u\t%zu-%zu\t%s\n", (int)t->len, t->term, t->pos, t->start, t->end,
               flag_names(t->flags, fl, sizeof fl));
    } else {
        printf("%.*s\n", (int)t->len, t->term);
    }
    return 0;
}

static int cmd_tokenize(const struct args *a)
{
    struct kb_buf in;
    kb_buf_init(&in);
    char err[KB_ERR_MAX];
    if (kb_buf_read(&in, stdin)) {
        fprintf(stderr, "indexer: tokenize: cannot read the standard input\n");
        kb_buf_fin(&in);
        return 1;
    }
    kb_lexicon *lx = kb_lexicon_new_builtin();
    kb_analyzer *an = NULL;
    int rc = 1;
    if (kb_analyzer_new(lx, &an, err, sizeof err) < 0) {
        fprintf(stderr, "indexer: %s\n", err);
        goto out;
    }
    int verbose = a->verbose;
    int arc = kb_analyze(an, KB_TOK_DOCUMENT, in.data ? in.data : "", in.len, print_token,
                         &verbose, NULL, err, sizeof err);
    if (arc < 0) {
        fprintf(stderr, "indexer: tokenize: %s\n", err);
        goto out;
    }
    rc = 0;
out:
    kb_analyzer_free(an);
    kb_lexicon_free(lx);
    kb_buf_fin(&in);
    return rc;
}

/* ---- build ------------------------------------------------------------------ */

static int cmd_build(const struct args *a)
{
    if (!a->corpus || !a->index) {
        fputs("indexer build: --corpus DIR and --index DIR are required\n", stderr);
        return 2;
    }
    struct build_opts o = {
        .corpus = a->corpus,
        .index = a->index,
        .full = a->full,
        .progress = !a->quiet && isatty(2),
        .log = stderr,
        .shard = a->shard,
        .nshards = a->nshards,
    };
    struct build_stats st;
    char err[KB_ERR_MAX];
    struct store *store = NULL;
    struct build_source src;
    if (a->db && store_open(a->db, &store, err, sizeof err) != 0) {
        fprintf(stderr, "indexer: build failed, index unchanged: %s\n", err);
        return 1;
    }
    if (store) {
        dbsource_init(&src, store);
        o.source = &src;
    }
    int brc = build_run(&o, &st, err, sizeof err);
    store_close(store);
    if (brc < 0) {
        fprintf(stderr, "indexer: build failed, index unchanged: %s\n", err);
        return 1;
    }
    printf("files: %u (%u indexed, %u unchanged, %u removed, %u skipped with errors)\n",
           st.files, st.files_changed, st.files_unchanged, st.files_removed, st.files_failed);
    printf("files read and hashed: %u (the others' stat stamps were unchanged)\n", st.files_read);
    printf("documents indexed this run: %u articles, %u known errors, %u standard clauses; "
           "%u deleted\n",
           st.docs_indexed[KB_KIND_ARTICLE], st.docs_indexed[KB_KIND_KNOWN_ERROR],
           st.docs_indexed[KB_KIND_STANDARD], st.docs_deleted);
    if (a->db)
        printf("database: %u items indexed, %u removed, %u skipped (knowledge seq %lld)\n",
               st.src_indexed, st.src_removed, st.src_skipped, st.src_mark);
    if (st.glossary_groups || st.glossary_errors)
        printf("glossary: %u synonym groups loaded, %u bad lines skipped\n", st.glossary_groups,
               st.glossary_errors);
    printf("index now: %u documents (%u articles, %u known errors, %u standard clauses)\n",
           st.total_docs, st.total[KB_KIND_ARTICLE], st.total[KB_KIND_KNOWN_ERROR],
           st.total[KB_KIND_STANDARD]);
    return (st.files_failed || st.glossary_errors) && a->strict ? 1 : 0;
}

/* ---- follow ----------------------------------------------------------------- */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static int cmd_follow(const struct args *a)
{
    if (!a->corpus || !a->index || !a->db) {
        fputs("indexer follow: --corpus DIR, --index DIR and --db CONNINFO are required\n",
              stderr);
        return 2;
    }
    /* no SA_RESTART: the wait for a notification returns at once */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    struct follow_opts o = {
        .corpus = a->corpus,
        .index = a->index,
        .db = a->db,
        .poll_ms = a->poll_ms > 0 ? a->poll_ms : 1000,
        .out = stdout,
        .log = stderr,
        .shard = a->shard,
        .nshards = a->nshards,
    };
    char err[KB_ERR_MAX];
    if (follow_run(&o, &stop, err, sizeof err) < 0) {
        fprintf(stderr, "indexer follow: %s\n", err);
        return 1;
    }
    return 0;
}

/* ---- import, export ---------------------------------------------------------- */

/* The store at conninfo db for `indexer cmd`, or NULL (the reason printed). */
static struct store *open_db(const char *cmd, const char *db)
{
    char err[KB_ERR_MAX];
    struct store *st = NULL;
    if (store_open(db, &st, err, sizeof err) != 0) {
        fprintf(stderr, "indexer %s: %s\n", cmd, err);
        return NULL;
    }
    return st;
}

static int cmd_import(const struct args *a)
{
    if (!a->corpus || !a->db || !a->owner) {
        fputs("indexer import: --corpus DIR, --db CONNINFO and --owner USERNAME are required\n",
              stderr);
        return 2;
    }
    char err[KB_ERR_MAX];
    struct store *st = open_db("import", a->db);
    if (!st)
        return 1;
    struct store_agent ag;
    int rc = store_agent_by_username(st, a->owner, &ag);
    memset(ag.password_hash, 0, sizeof ag.password_hash);
    if (rc) {
        fprintf(stderr, "indexer import: %s\n",
                rc == STORE_ENOTFOUND ? "no such enabled agent (create it with chatdesk useradd)"
                                      : store_errmsg(st));
        store_close(st);
        return 1;
    }
    struct kio_stats ks;
    rc = kio_import(st, a->corpus, ag.id, stderr, &ks, err, sizeof err);
    store_close(st);
    printf("files: %u; imported %u, already there %u, refused %u\n", ks.files, ks.imported,
           ks.existing, ks.failed);
    if (rc < 0) {
        fprintf(stderr, "indexer import: %s\n", err);
        return 1;
    }
    return ks.failed ? 1 : 0;
}

static int cmd_export(const struct args *a)
{
    if (!a->db || !a->out) {
        fputs("indexer export: --db CONNINFO and --out DIR are required\n", stderr);
        return 2;
    }
    char err[KB_ERR_MAX];
    struct store *st = open_db("export", a->db);
    if (!st)
        return 1;
    struct kio_stats ks;
    int rc = kio_export(st, a->out, &ks, err, sizeof err);
    store_close(st);
    if (rc < 0) {
        fprintf(stderr, "indexer export: %s\n", err);
        return 1;
    }
    printf("exported %u items to %s\n", ks.exported, a->out);
    return 0;
}

/* ---- stats ------------------------------------------------------------------ */

struct count_ctx {
    size_t n;
    int print;
    size_t plen;
};

static int count_term(void *ud, const char *term, size_t len, uint32_t tf)
{
    struct count_ctx *c = ud;
    c->n++;
    if (c->print) {
        /* pad by display width: a CJK character takes two columns */
        const char *v = term + c->plen;
        size_t vlen = len - c->plen;
        int width = 0;
        for (size_t i = 0; i < vlen;) {
            utf8proc_int32_t cp;
            utf8proc_ssize_t n = utf8proc_iterate((const utf8proc_uint8_t *)v + i,
                                                  (utf8proc_ssize_t)(vlen - i), &cp);
            if (n <= 0)
                break;
            width += utf8proc_charwidth(cp);
            i += (size_t)n;
        }
        printf("  %.*s%*s %u\n", (int)vlen, v, width < 28 ? 28 - width : 0, "", tf);
    }
    return 0;
}

static int open_ro(const char *index, kbx_db **db)
{
    char err[KB_ERR_MAX];
    if (!index) {
        fputs("indexer: --index DIR is required\n", stderr);
        return 2;
    }
    if (kbx_db_open(index, KBX_OPEN_READ, db, err, sizeof err) < 0) {
        fprintf(stderr, "indexer: cannot open index %s: %s\n", index, err);
        return 1;
    }
    return 0;
}

static int cmd_stats(const struct args *a)
{
    kbx_db *db;
    int rc = open_ro(a->index, &db);
    if (rc)
        return rc;
    uint32_t docs = 0;
    uint64_t rev = 0;
    kbx_db_doccount(db, &docs);
    kbx_db_revision(db, &rev);
    char *built = NULL, *schema = NULL;
    size_t n;
    kbx_db_get_metadata(db, KB_META_BUILT, &built, &n);
    kbx_db_get_metadata(db, KB_META_SCHEMA, &schema, &n);
    printf("index: %s\n", a->index);
    printf("revision: %llu, schema: %s, last build: %s\n", (unsigned long long)rev,
           schema ? schema : "-", built ? built : "-");
    printf("documents: %u\n", docs);
    for (int k = 0; k < KB_KIND_COUNT; k++) {
        char term[64];
        uint32_t tf = 0;
        snprintf(term, sizeof term, "%s%s", KB_PREFIX_KIND, kb_kind_name((enum kb_kind)k));
        kbx_db_termfreq(db, term, &tf);
        printf("  %-12s %u\n", kb_kind_name((enum kb_kind)k), tf);
    }
    uint32_t pub = 0, internal = 0;
    kbx_db_termfreq(db, KB_PREFIX_VIS "public", &pub);
    kbx_db_termfreq(db, KB_PREFIX_VIS "internal", &internal);
    printf("visibility: %u public, %u internal\n", pub, internal);
    struct count_ctx c = {0, 1, strlen(KB_PREFIX_STD)};
    puts("standard clauses by standard:");
    kbx_db_allterms(db, KB_PREFIX_STD, count_term, &c);
    c = (struct count_ctx){0, 1, strlen(KB_PREFIX_CATEGORY)};
    puts("categories:");
    kbx_db_allterms(db, KB_PREFIX_CATEGORY, count_term, &c);
    /* free-text terms: those starting with a lower-case letter, digit or non-ASCII */
    size_t total = 0;
    c = (struct count_ctx){0, 0, 0};
    kbx_db_allterms(db, "", count_term, &c);
    total = c.n;
    printf("distinct terms: %zu\n", total);
    free(built);
    free(schema);
    kbx_db_free(db);
    return 0;
}

/* ---- list ------------------------------------------------------------------- */

struct list_ctx {
    kbx_db *db;
    int failed;
};

static int list_one(void *ud, const char *term, size_t len, uint32_t tf)
{
    (void)tf;
    struct list_ctx *c = ud;
    char *idt = kb_xstrndup(term, len);
    char *data = NULL;
    size_t dlen = 0;
    if (kbx_db_get_data(c->db, idt, &data, &dlen) < 0) {
        fprintf(stderr, "indexer: %s: %s\n", idt + 1, kbx_db_errmsg(c->db));
        c->failed = 1;
    } else {
        struct kb_doc *d = kb_doc_unpack(data, dlen, NULL, 0);
        printf("%s\t%s\t%s\n", idt + 1, d && d->title ? d->title : "",
               d && d->source ? d->source : "");
        kb_doc_free(d);
    }
    free(data);
    free(idt);
    return 0;
}

static int cmd_list(const struct args *a)
{
    kbx_db *db;
    int rc = open_ro(a->index, &db);
    if (rc)
        return rc;
    struct list_ctx c = {db, 0};
    if (kbx_db_allterms(db, KB_PREFIX_ID, list_one, &c) < 0) {
        fprintf(stderr, "indexer: %s\n", kbx_db_errmsg(db));
        c.failed = 1;
    }
    kbx_db_free(db);
    return c.failed;
}

/* ---- show ------------------------------------------------------------------- */

static int print_doc_term(void *ud, const char *term, size_t len, uint32_t wdf,
                          const uint32_t *pos, size_t npos)
{
    (void)ud;
    printf("%.*s\twdf=%u", (int)len, term, wdf);
    if (npos) {
        printf("\tpos=");
        for (size_t i = 0; i < npos && i < 20; i++)
            printf("%s%u", i ? "," : "", pos[i]);
        if (npos > 20)
            printf(",...(%zu)", npos);
    }
    putchar('\n');
    return 0;
}

/* Prints one document (and its terms) from db. Returns 0 or 1. */
static int show_one(kbx_db *db, const struct args *a, const char *id)
{
    int rc = 0;
    struct kb_buf t;
    kb_buf_init(&t);
    kb_buf_printf(&t, "%s%s", KB_PREFIX_ID, id);
    char *data = NULL;
    size_t len = 0;
    int xrc = kbx_db_get_data(db, t.data, &data, &len);
    if (xrc == KBX_ERR_NOTFOUND) {
        fprintf(stderr, "indexer: no document with id %s\n", id);
        rc = 1;
    } else if (xrc < 0) {
        fprintf(stderr, "indexer: %s\n", kbx_db_errmsg(db));
        rc = 1;
    } else {
        char err[KB_ERR_MAX];
        struct kb_doc *d = kb_doc_unpack(data, len, err, sizeof err);
        if (!d) {
            fprintf(stderr, "indexer: %s: %s\n", id, err);
            rc = 1;
        } else {
            char *json = kb_doc_to_json(d);
            json_t *o = json_loads(json, 0, NULL);
            char *pretty = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
            puts(pretty ? pretty : json);
            free(pretty);
            json_decref(o);
            free(json);
            kb_doc_free(d);
            if (a->terms)
                kbx_db_doc_terms(db, t.data, print_doc_term, NULL);
        }
    }
    free(data);
    kb_buf_fin(&t);
    return rc;
}

/* Several ids: each is printed in turn (one open of the index); a missing
 * one is reported and the others still printed, exit status 1. */
static int cmd_show(const struct args *a, char **ids, int n)
{
    if (n < 1) {
        fputs("indexer show: an ID is required\n", stderr);
        return 2;
    }
    kbx_db *db;
    int rc = open_ro(a->index, &db);
    if (rc)
        return rc;
    for (int i = 0; i < n; i++)
        rc |= show_one(db, a, ids[i]);
    kbx_db_free(db);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    struct args a = {0};
    optind = 2;
    int c;
    while ((c = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
        switch (c) {
        case OPT_CORPUS: a.corpus = optarg; break;
        case OPT_INDEX: a.index = optarg; break;
        case OPT_FULL: a.full = 1; break;
        case OPT_QUIET: a.quiet = 1; break;
        case OPT_STRICT: a.strict = 1; break;
        case OPT_TERMS: a.terms = 1; break;
        case OPT_VERBOSE: a.verbose = 1; break;
        case OPT_DB: a.db = optarg; break;
        case OPT_OUT: a.out = optarg; break;
        case OPT_OWNER: a.owner = optarg; break;
        case OPT_SHARD: {
            unsigned i, n;
            char end;
            if (sscanf(optarg, "%u/%u%c", &i, &n, &end) != 2 || n < 1 || n > 16 || i >= n) {
                fputs("indexer: --shard is I/N with 0 <= I < N <= 16\n", stderr);
                return 2;
            }
            a.shard = i;
            a.nshards = n;
            break;
        }
        case OPT_POLL:
            a.poll_ms = atoi(optarg);
            if (a.poll_ms < 10 || a.poll_ms > 600000) {
                fputs("indexer: --poll-ms is 10..600000\n", stderr);
                return 2;
            }
            break;
        case 'h':
        case OPT_HELP: usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!strcmp(cmd, "build"))
        return cmd_build(&a);
    if (!strcmp(cmd, "follow"))
        return cmd_follow(&a);
    if (!strcmp(cmd, "import"))
        return cmd_import(&a);
    if (!strcmp(cmd, "export"))
        return cmd_export(&a);
    if (!strcmp(cmd, "stats"))
        return cmd_stats(&a);
    if (!strcmp(cmd, "show"))
        return cmd_show(&a, argv + optind, argc - optind);
    if (!strcmp(cmd, "list"))
        return cmd_list(&a);
    if (!strcmp(cmd, "tokenize"))
        return cmd_tokenize(&a);
    fprintf(stderr, "indexer: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
