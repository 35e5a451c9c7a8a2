/* static: the files of the --www folder (the search page), for every GET
 * path that is not an API endpoint. Blocking file I/O, so it runs on a worker
 * thread, never in the service loop. */
#ifndef SD_STATIC_H
#define SD_STATIC_H

#include "codec.h"

#define STATIC_MAX_FILE (32 * 1024 * 1024)

/* Fills *resp with the file for the decoded URL path (starting with '/') under
 * root, which must be an absolute, symlink-free path (realpath), or NULL when
 * there is no www folder: 200 with the file and its content type, or a 404
 * JSON error. A folder gives its index.html. Path segments starting with '.'
 * (.., hidden files) and anything resolving outside root are 404. */
void static_serve(const char *root, const char *path, struct sd_response *resp);

/* The content type for a file name (by extension); static string. */
const char *static_content_type(const char *name);

#endif
