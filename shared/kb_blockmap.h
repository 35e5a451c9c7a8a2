/* kb_blockmap: serves Xapian's block reads from read-only file mappings.
 *
 * Xapian 1.4's glass backend reads every table block with pread(2): a system
 * call per 8 KB block, about 130 per /search request on the real corpus.
 * This module interposes the libc calls libxapian imports for its tables
 * (open/open64, close, pread/pread64, posix_fadvise) and calls the real ones
 * through dlsym(RTLD_NEXT). A file whose name ends in ".glass" opened
 * read-only is mapped read-only (MAP_SHARED, so pages written by the indexer
 * are seen exactly as pread would see them) and its preads are copies from
 * the mapping, with no system call. A read past the mapped length (the file
 * grew: the indexer appended a revision) maps the file again at its new
 * size, or falls back to the real pread; a SIGBUS during the copy (the file
 * was truncated under us) falls back to the real pread, so the bytes read
 * are always those pread returns. close unmaps. Thread-safe.
 *
 * Linked into searchd (and the bench driver) only, never into libkb.a: a
 * program that writes the index must not get it. It is off until
 * kb_blockmap_set(1); files opened while it is off are never mapped.
 * Descriptors at or above KB_BLOCKMAP_MAX_FD are never mapped. A glass
 * descriptor must be closed through close(2) (not close_range or a raw
 * system call), or its slot outlives it. A file cut under its mapping to a
 * size that is not a whole number of pages reads zeros instead of a short
 * read in the rest of its last page until read past the old end (glass
 * tables are whole blocks, and glass never truncates a table in place). */
#ifndef KB_BLOCKMAP_H
#define KB_BLOCKMAP_H

#include <stddef.h>

#define KB_BLOCKMAP_MAX_FD 65536

#ifdef __cplusplus
extern "C" {
#endif

/* Turns mapping of newly opened glass files on (non-zero) or off. Files
 * already mapped stay mapped until closed. Cannot fail. */
void kb_blockmap_set(int on);
int kb_blockmap_enabled(void);

/* Installs the SIGBUS handler that turns a fault while copying from a
 * mapping into a fallback to pread (other SIGBUS go to the handler that was
 * there before). Done by the first mapping; call it again if something has
 * replaced the handler since (a test framework does, per test). */
void kb_blockmap_catch_sigbus(void);

/* Counters since start (for tests): preads served
 * from a mapping, preads passed to the real call on a mapped-eligible fd
 * (past the end, after a SIGBUS), files mapped, SIGBUS caught. */
struct kb_blockmap_stats {
    unsigned long long hits, fallbacks, maps, sigbus;
};
void kb_blockmap_stats(struct kb_blockmap_stats *out);

/* Whether fd is currently served from a mapping, and the mapped length
 * (for tests). Returns 0 when not mapped. */
int kb_blockmap_mapped(int fd, size_t *len);

#ifdef __cplusplus
}
#endif

#endif
