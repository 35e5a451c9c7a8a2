/* kio: `indexer import` and `indexer export`, knowledge between the
 * Markdown files of a corpus and PostgreSQL. Import reads every article and
 * known-error file (*.md outside a standards folder, README.md skipped)
 * with kb_md_parse and stores each as a published item with its own id
 * (store_knowledge_import), owned by an agent; an id already in the
 * database is left alone and counted. Export writes the published version
 * of every live item with kb_md_print, as DIR/articles/<id>.md and
 * DIR/known_errors/<id>.md, so that kb_md_parse reads the same fields
 * back. */
#ifndef KIO_H
#define KIO_H

#include <stdio.h>

struct store;

struct kio_stats {
    unsigned files, imported, existing, failed, exported;
};

/* Imports the corpus at dir as owner_id's items. Bad files and refused
 * documents are reported on log (path:line: message) and counted as
 * failed. Returns 0, or -1 with a message in err when the corpus cannot be
 * read or the database fails (items imported before stay: each is its own
 * transaction). */
int kio_import(struct store *st, const char *dir, long long owner_id, FILE *log,
               struct kio_stats *out, char *err, size_t errlen);

/* Exports the live items into dir (created, with its two folders, if
 * missing; files there are overwritten). Returns 0, or -1 with a message in
 * err. */
int kio_export(struct store *st, const char *dir, struct kio_stats *out, char *err,
               size_t errlen);

#endif
