/* attach: the bytes of attachments, apart from their rows (store_attach.h):
 * what a file is, judged by its content alone (magic bytes and structure,
 * never its name or declared type), and the content-addressed store on
 * disk, dir/ab/cdef... named by the SHA-256 of the bytes (ab: its first two
 * hex digits), written atomically (a temporary file in the same directory,
 * fsync, rename) so a reader sees the whole file or none. Identical content
 * is one file. Pure functions and plain files: no globals, no threads of
 * its own; safe to call from several workers at once (two writers of the
 * same content rename the same bytes onto the same name). */
#ifndef CD_ATTACH_H
#define CD_ATTACH_H

#include <stddef.h>
#include <stdint.h>

/* what attach_detect found */
struct attach_kind {
    const char *type;  /* "image/png", ... (static); NULL: refused */
    const char *ext;   /* "png", ... (static) */
    int image;         /* shown inline */
    char why[160];     /* refused: why, for the uploader */
};

/* Judges data (len bytes) by its content: PNG, JPEG, GIF, WebP, PDF, the
 * Office Open XML documents (a ZIP whose central directory holds
 * [Content_Types].xml and word/document.xml, xl/workbook.xml or
 * ppt/presentation.xml), and text (UTF-8 without control characters: CSV
 * when name ends in .csv, else plain text). Executables (ELF, PE "MZ",
 * scripts starting "#!") and everything else are refused with a reason.
 * name (may be NULL) only picks CSV over plain text. Returns 0 with
 * out->type set, or -1 with out->why. */
int attach_detect(const unsigned char *data, size_t len, const char *name,
                  struct attach_kind *out);

/* The lowercase hex SHA-256 of data. */
void attach_sha256(const void *data, size_t len, char hex[65]);

/* Stores data under dir by its hash hex (from attach_sha256), unless that
 * file is there already (*existed 1). Creates dir/ab/ as needed. Returns 0,
 * or -1 with a message in err (errlen bytes). */
int attach_write(const char *dir, const char *hex, const void *data, size_t len,
                 int *existed, char *err, size_t errlen);

/* Reads the file of hash hex under dir, which must be size bytes, into
 * *out (caller frees). Returns 0, or -1 with a message in err. */
int attach_read(const char *dir, const char *hex, int64_t size, char **out, char *err,
                size_t errlen);

/* A name safe in a Content-Disposition header: name's characters outside
 * [A-Za-z0-9._-] become '_', cut to outlen - 1 bytes; "file" when nothing
 * is left. */
void attach_safe_name(const char *name, char *out, size_t outlen);



#include <jansson.h>

struct store_attachment;

/* An attachment as the API and the WebSocket frames show it (new
 * reference): {"id","name","type","size","sha256","image","url","at"
 * [,"seq"][,"ticket"]}; url is where to GET its bytes. */
json_t *attach_json(const struct store_attachment *a);
#endif
