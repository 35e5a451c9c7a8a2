/* walk: the corpus files the indexer reads, with their stat stamps, and
 * the list of strings the build keeps them (and other names) in.
 *
 * walk_corpus collects the wanted files below a corpus folder: articles and
 * known errors (*.md, README.md skipped) and standards (*.txt directly in a
 * folder named "standards"); dot files and folders are skipped. */
#ifndef KB_WALK_H
#define KB_WALK_H

#include <stddef.h>
#include <time.h>

/* A growable list of strings; each element is owned by the list
 * (walk_paths_fin frees them and the array). Zero-initialise to start. */
struct walk_paths {
    char **v;
    size_t n, cap;
};

/* Appends a copy of s[0, n) (which may hold a NUL: see walk_corpus) and a
 * NUL. */
void walk_paths_addn(struct walk_paths *p, const char *s, size_t n);
void walk_paths_add(struct walk_paths *p, const char *s);
void walk_paths_fin(struct walk_paths *p);

/* Collects the corpus-relative paths of the wanted files below root/rel
 * into out; each string is the path, a NUL, then its stamp (walk_stamp),
 * so sorting and look-ups see the path. start is the build's start time
 * (a file changed within 2 s of it gets no stamp). Returns 0, or -1 with
 * err set. */
int walk_corpus(const char *root, const char *rel, time_t start, struct walk_paths *out,
                char *err, size_t errlen);

/* The stamp walk_corpus stored after a path's NUL: "<size> <mtime>
 * <ctime> <inode>", or "" when the file was too recently changed. */
const char *walk_stamp(const char *path);

/* Is corpus-relative path rel a standard's text? */
int walk_is_std_file(const char *rel);

/* qsort / bsearch comparison of two char * elements by strcmp. */
int walk_cmp_path(const void *a, const void *b);

#endif
