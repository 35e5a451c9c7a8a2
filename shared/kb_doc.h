/* kb_doc: the document model shared by the indexer, searchd and chatdesk.
 *
 * Three kinds of document:
 *   article      id, title, body, category, tags, product, lang, visibility,
 *                updated
 *   known_error  id, title, symptom, cause, workaround, resolution, service,
 *                status, visibility (body holds any text outside the four
 *                sections)
 *   standard     one numbered clause: std_code ("GB/T 34077.5—2020", may be
 *                empty), std_title, clause ("8.3.4.1"), heading, path (the
 *                parent headings, "8 运行维护服务管理 > 8.3 ..."), body
 *
 * Every string field is either NULL or a NUL-terminated UTF-8 heap string
 * owned by the struct; kb_doc_free frees them all. */
#ifndef KB_DOC_H
#define KB_DOC_H

#include <stddef.h>

enum kb_kind {
    KB_KIND_ARTICLE = 0,
    KB_KIND_KNOWN_ERROR = 1,
    KB_KIND_STANDARD = 2,
};
#define KB_KIND_COUNT 3

struct kb_doc {
    enum kb_kind kind;
    char *id;          /* unique across the corpus, e.g. KB-0001, KE-0001,
                          std-db21t1799.1:8.2.2.2 */
    char *title;       /* standard: "<clause> <heading>" */
    char *body;
    char *visibility;  /* "public" or "internal" (standards: public) */
    char *source;      /* corpus-relative path of the file it came from */
    int source_line;   /* 1-based line in source where it starts (0: unknown) */
    int body_composed; /* standards: the clause has no text of its own and
                          body is its sub-clauses' text, shown to readers
                          but not indexed (the sub-clauses are) */
    /* article */
    char *category;
    char *tags;        /* comma-separated */
    char *product;
    char *lang;        /* "zh", "en" or "mixed" */
    char *updated;     /* ISO date, YYYY-MM-DD */
    /* known error */
    char *symptom;
    char *cause;
    char *workaround;
    char *resolution;
    char *service;     /* affected service */
    char *status;      /* "open", "workaround", "resolved" */
    /* standard clause */
    char *std_code;
    char *std_title;
    char *clause;
    char *heading;
    char *path;
};

/* Returns a zeroed document of the given kind. Never NULL; caller frees
 * with kb_doc_free. */
struct kb_doc *kb_doc_new(enum kb_kind kind);
/* Frees doc and all its strings. kb_doc_free(NULL) is a no-op. */
void kb_doc_free(struct kb_doc *doc);

/* The one list of document kinds: "article", "known_error", "standard".
 * kb_kind_parse returns -1 for an unknown name (or NULL); kb_kind_valid
 * says whether the n bytes at name (not NUL-terminated) are a kind's name. */
const char *kb_kind_name(enum kb_kind kind);
int kb_kind_parse(const char *name);
int kb_kind_valid(const char *name, size_t n);

/* Replaces *field with a copy of value (NULL clears it). */
void kb_doc_set(char **field, const char *value);

/* Serialises every non-NULL field (and "kind") as a compact JSON object.
 * Returns a heap string the caller frees. */
char *kb_doc_to_json(const struct kb_doc *doc);
/* Parses what kb_doc_to_json wrote. Returns a new document (caller frees) or
 * NULL with a message in err. */
struct kb_doc *kb_doc_from_json(const char *json, size_t len, char *err, size_t errlen);

/* The form a document is stored in as index document data. Given an
 * analyzer (the indexer's), the split form:
 *   KB_DOC_PACK_SPLIT, 4 bytes (little-endian) the length of part A, part A,
 *   part B
 * part A (a zstd frame, or as it is when that is not smaller): 4 bytes the
 * length of the head, the head (kb_doc_to_json of the fields a search hit
 * shows: id, kind, title, category, updated, visibility, the known error's
 * workaround, status and service, the standard's fields, body_composed),
 * then the snippet source of the text fields (kb_snipsrc.h); part B (zstd
 * or plain JSON): the other fields as JSON, less each text field the
 * snippet source keeps whole. A search hit reads part A only.
 * Without an analyzer (an == NULL): kb_doc_to_json's JSON compressed with
 * zstd (level 3, with the frame's content checksum), or the JSON itself
 * when compressing does not make it smaller. (Xapian would deflate JSON
 * itself; zstd's output does not deflate, so Xapian stores it as it is,
 * and reading it back costs a zstd decompression instead of an inflate.)
 * Returns a heap buffer the caller frees, its length in *len. */
#define KB_DOC_PACK_SPLIT '\x02'
typedef struct kb_analyzer kb_analyzer;
char *kb_doc_pack(const struct kb_doc *doc, kb_analyzer *an, size_t *len);
/* Reads any form kb_doc_pack wrote, or plain JSON (document data written
 * before packing existed). Returns a new document (caller frees) or NULL
 * with a message in err: damaged data is an error, never a crash. */
struct kb_doc *kb_doc_unpack(const char *data, size_t len, char *err, size_t errlen);
/* Of the split form, only the head document (its other fields NULL) and a
 * copy of the snippet source (*src, *srclen; caller frees both); of the
 * other forms the whole document and *src = NULL. NULL (and *src = NULL)
 * with a message in err when the data is damaged. */
struct kb_doc *kb_doc_unpack_head(const char *data, size_t len, char **src, size_t *srclen,
                                  char *err, size_t errlen);
/* kb_doc_unpack_head in two steps, for a cache of decoded heads
 * (kb_doccache.h): part A of the split form decompressed, a heap buffer the
 * caller frees (its length in *outlen), or NULL: data is not the split form
 * (err empty) or is damaged (message in err). */
char *kb_doc_head_bytes(const char *data, size_t len, size_t *outlen, char *err, size_t errlen);
/* The head document and a copy of the snippet source (*src, *srclen;
 * caller frees both) from part A's bytes a[0..an) as kb_doc_head_bytes
 * returned them (they stay the caller's): what kb_doc_unpack_head gives
 * for the split form. NULL (and *src = NULL) with a message in err when
 * they are damaged. */
struct kb_doc *kb_doc_head_from_bytes(const char *a, size_t an, char **src, size_t *srclen,
                                      char *err, size_t errlen);

#endif
