/* prep: the first stage of a corpus build, on a thread of its own. It
 * takes the build's sorted file list and, file after file, decides from
 * the stored stamp and hash whether the file changed, reads and hashes it,
 * parses it into documents and analyses each into a Xapian document
 * (termgen). The build's thread takes the files back in list order and
 * only writes them into the index (build.c), so on two cores the analysis
 * of the next files runs while Xapian inverts the current one. The
 * analyser belongs to the stage's thread from prep_start to prep_free.
 * At most PREP_AHEAD files are prepared ahead of the build. Nothing here
 * prints: messages travel in the items. */
#ifndef PREP_H
#define PREP_H

#include <stddef.h>

#include "kb_analyzer.h"
#include "kb_doc.h"
#include "kb_util.h"
#include "kb_xapian.h"
#include "termgen.h"
#include "walk.h"

#define PREP_AHEAD 8

enum prep_state {
    PREP_SAME_STAMP, /* the stored stamp matches: not read */
    PREP_UNREADABLE, /* could not be read: msg */
    PREP_SAME_HASH,  /* read; the content hash matches the stored one */
    PREP_BAD_FILE,   /* read; the file does not parse: msg, line */
    PREP_CHANGED     /* read and parsed: docs */
};

/* One document of a changed file. xd is NULL for a document of another
 * shard (nothing was analysed) or when termgen failed (err says why). */
struct prep_doc {
    struct kb_doc *doc;          /* owned */
    kbx_doc *xd;                 /* owned */
    struct termgen_words words;  /* owned: its spelling words */
    char *err;                   /* owned; NULL unless termgen failed */
};

/* One file, as the stage hands it over. Everything in it is the stage's;
 * the build reads it until prep_release. */
struct prep_file {
    size_t index;             /* the file's place in the list */
    enum prep_state state;
    char head[32 + 128];      /* PREP_SAME_HASH and later: "<hash>[ <stamp>]" */
    char msg[KB_ERR_MAX];     /* PREP_UNREADABLE, PREP_BAD_FILE */
    int line;                 /* PREP_BAD_FILE: its line (0: none) */
    struct prep_doc *docs;    /* PREP_CHANGED */
    size_t ndocs, cap;
};

/* What the stage works from. known[i] is what the index records for
 * files->v[i]: its hash and stamp (copied by prep_start), both NULL for a
 * file the index does not know. */
struct prep_known {
    const char *hash, *stamp;
};

struct prep_opts {
    const char *corpus;                /* borrowed until prep_free */
    const struct walk_paths *files;    /* sorted, borrowed until prep_free */
    const struct prep_known *known;    /* files->n entries; copied */
    int full;                          /* ignore stored stamps and hashes */
    unsigned shard, nshards;           /* as build_opts */
    kb_analyzer *an;                   /* the stage's until prep_free */
};

typedef struct prep prep;

/* Starts the stage's thread. Returns 0 and *out (free with prep_free), or
 * -1 with a message in err. */
int prep_start(const struct prep_opts *o, prep **out, char *err, size_t errlen);

/* The next file in list order, waiting for the stage if need be; NULL after
 * the last one. Give each back with prep_release before asking for more
 * than PREP_AHEAD. */
struct prep_file *prep_next(prep *p);

/* Hands a file's item back to the stage (its contents are freed). */
void prep_release(prep *p, struct prep_file *f);

/* Stops the stage, waits for its thread and frees everything, items not
 * yet taken included. NULL is a no-op. */
void prep_free(prep *p);

#endif
