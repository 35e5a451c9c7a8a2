/* build: `indexer build`, the incremental corpus -> index update.
 *
 * Files: *.md anywhere under the corpus (articles, known errors; README.md
 * files are skipped) and *.txt in a folder named standards (one document per
 * clause). For each file the index's metadata keeps "src:<path>" = its
 * content hash, its stat stamp (size, mtime, ctime, inode; not for a file
 * changed within 2 s of the build) and the ids it produced. A file with the
 * stamp of its record is not even read; the others are read and hashed. A
 * build re-parses only files whose hash changed, replaces their documents, deletes ids they no longer
 * produce, and deletes the documents of files that are gone, all inside one
 * Xapian transaction, so a reader sees the old index or the new one. A
 * The glossary (<corpus>/glossary.txt) becomes the index's synonym table
 * whenever it changes. A
 * malformed file is reported (path:line: message) and skipped; its earlier
 * documents, if any, stay as they were. A changed schema version rebuilds
 * everything.
 *
 * Another source (build_opts.source; indexer/dbsource.c gives the
 * knowledge published in PostgreSQL) is recorded as a pseudo-file named
 * after it ("@db") whose hash is the source's change mark (the last
 * knowledge index_seq indexed). A build asks the source for the documents
 * changed since, indexes them and removes those gone, in the same
 * transaction as the files. An id both in a file and in the source: the
 * file wins; the source's document is reported and skipped (it comes back
 * at its next change, or with --full, once the file is gone). */
#ifndef BUILD_H
#define BUILD_H

#include <stdio.h>

#include "kb_doc.h"

/* Called by a source for each document changed since the mark: doc is the
 * document to index under id, or NULL when id is gone. Returns 0 to go on,
 * nonzero to stop (an index error). */
typedef int (*build_change_cb)(void *cb_arg, const char *id, const struct kb_doc *doc);

struct build_source {
    const char *name;  /* "@db": the pseudo-file name; starts with '@' */
    const char *label; /* for messages: "database item" */
    /* Calls cb for every change after mark `after` (0: everything live),
     * in order, and sets *mark to the last one's (after when none).
     * Returns 0, the callback's nonzero value, or -1 with a message in err
     * (nothing is committed then). */
    int (*changes)(void *arg, long long after, build_change_cb cb, void *cb_arg, long long *mark,
                   char *err, size_t errlen);
    void *arg;
};

struct build_opts {
    const char *corpus;  /* corpus folder */
    const char *index;   /* index folder (created if missing) */
    int full;            /* ignore stored hashes: re-index every file */
    int progress;        /* print progress lines to stderr (a terminal) */
    FILE *log;           /* where file errors are reported (stderr) */
    const struct build_source *source; /* another source of documents
                            (borrowed); NULL: files only */
    unsigned shard, nshards; /* nshards > 1: keep only the documents whose
                            build_shard_of(id, nshards) is shard (others
                            are removed if present); 0 or 1: all */
};

/* The shard (0..n-1) of document id among n > 0: FNV-1a (32 bits) of the
 * id's bytes modulo n, the same on every machine and every run. */
unsigned build_shard_of(const char *id, unsigned n);

struct build_stats {
    unsigned files, files_changed, files_unchanged, files_removed, files_failed;
    unsigned files_read; /* opened and hashed (a matching stat stamp skips both) */
    unsigned docs_indexed[KB_KIND_COUNT]; /* added or replaced this run */
    unsigned docs_deleted;
    unsigned total[KB_KIND_COUNT];        /* in the index after the build */
    unsigned total_docs;
    unsigned glossary_groups;  /* loaded this run (0 when unchanged) */
    unsigned glossary_errors;  /* bad glossary lines, reported and skipped */
    unsigned src_indexed, src_removed, src_skipped; /* the other source's, this run */
    long long src_mark;        /* its change mark indexed up to */
};

/* Runs a build. Returns 0 (file errors are counted in files_failed, not
 * fatal), or -1 with a message in err when the index cannot be opened or
 * written or the database cannot be read, in which case nothing was
 * committed. */
int build_run(const struct build_opts *o, struct build_stats *st, char *err, size_t errlen);

#endif
