/* build: `indexer build`, the incremental corpus -> index update.
 *
 * Files: *.md anywhere under the corpus (articles, known errors; README.md
 * files are skipped) and *.txt in a folder named standards (one document per
 * clause). For each file the index's metadata keeps "src:<path>" = its
 * content hash and the ids it produced. A build re-parses only files whose
 * hash changed, replaces their documents, deletes ids they no longer
 * produce, and deletes the documents of files that are gone, all inside one
 * Xapian transaction, so a reader sees the old index or the new one. A
 * The glossary (<corpus>/glossary.txt) becomes the index's synonym table
 * whenever it changes. A
 * malformed file is reported (path:line: message) and skipped; its earlier
 * documents, if any, stay as they were. A changed schema version rebuilds
 * everything.
 *
 * The database (build_opts.store): published knowledge in PostgreSQL is a
 * source too, recorded as the pseudo-file "@db" whose hash is the last
 * knowledge index_seq indexed. A build asks the store for the items whose
 * index_seq moved since (store_knowledge_changes), indexes their published
 * version and removes the retired ones, in the same transaction as the
 * files. An id both in a file and in the database: the file wins; the
 * database item is reported and skipped (it comes back at its next
 * publish, or with --full, once the file is gone). */
#ifndef BUILD_H
#define BUILD_H

#include <stdio.h>

#include "kb_doc.h"

struct store;

struct build_opts {
    const char *corpus;  /* corpus folder */
    const char *index;   /* index folder (created if missing) */
    int full;            /* ignore stored hashes: re-index every file */
    int progress;        /* print progress lines to stderr (a terminal) */
    FILE *log;           /* where file errors are reported (stderr) */
    struct store *store; /* published knowledge from PostgreSQL (borrowed);
                            NULL: files only */
};

struct build_stats {
    unsigned files, files_changed, files_unchanged, files_removed, files_failed;
    unsigned docs_indexed[KB_KIND_COUNT]; /* added or replaced this run */
    unsigned docs_deleted;
    unsigned total[KB_KIND_COUNT];        /* in the index after the build */
    unsigned total_docs;
    unsigned glossary_groups;  /* loaded this run (0 when unchanged) */
    unsigned glossary_errors;  /* bad glossary lines, reported and skipped */
    unsigned db_indexed, db_removed, db_skipped; /* database items this run */
    long long db_seq;          /* the knowledge index_seq indexed up to */
};

/* Runs a build. Returns 0 (file errors are counted in files_failed, not
 * fatal), or -1 with a message in err when the index cannot be opened or
 * written or the database cannot be read, in which case nothing was
 * committed. */
int build_run(const struct build_opts *o, struct build_stats *st, char *err, size_t errlen);

#endif
