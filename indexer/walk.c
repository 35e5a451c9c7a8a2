/* walk: the corpus walk and its stat stamps (see walk.h). */
#include "walk.h"
#include "kb_util.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Appends a copy of s[0, n) (which may hold a NUL: see walk) and a NUL. */
void walk_paths_addn(struct walk_paths *p, const char *s, size_t n)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 64;
        p->v = kb_xrealloc(p->v, p->cap * sizeof *p->v);
    }
    char *c = kb_xmalloc(n + 1);
    memcpy(c, s, n);
    c[n] = '\0';
    p->v[p->n++] = c;
}

void walk_paths_add(struct walk_paths *p, const char *s)
{
    walk_paths_addn(p, s, strlen(s));
}

void walk_paths_fin(struct walk_paths *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->v[i]);
    free(p->v);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

int walk_is_std_file(const char *rel)
{
    const char *slash = strrchr(rel, '/');
    if (!ends_with(rel, ".txt") || !slash)
        return 0;
    const char *dir = slash;
    while (dir > rel && dir[-1] != '/')
        dir--;
    return (size_t)(slash - dir) == 9 && strncmp(dir, "standards", 9) == 0;
}

static int wanted(const char *rel, const char *name)
{
    if (name[0] == '.')
        return 0;
    if (ends_with(name, ".md"))
        return strcmp(name, "README.md") != 0;
    return walk_is_std_file(rel);
}

/* A file's stat stamp, "<size> <mtime> <ctime> <inode>" (times in ns),
 * kept after its content hash in its source record: a later build that
 * finds the same stamp takes the file as unchanged without reading it. A
 * file changed less than KB_STAMP_RACY seconds before the build started
 * gets no stamp ("") and is read and hashed next time too, so a change
 * made within one clock tick of the build is not missed. */
#define KB_STAMP_RACY 2
static void stamp_of(const struct stat *sb, time_t start, char *out, size_t cap)
{
    if (sb->st_mtim.tv_sec + KB_STAMP_RACY > start || sb->st_ctim.tv_sec + KB_STAMP_RACY > start) {
        out[0] = '\0';
        return;
    }
    snprintf(out, cap, "%lld %lld%09ld %lld%09ld %llu", (long long)sb->st_size,
             (long long)sb->st_mtim.tv_sec, (long)sb->st_mtim.tv_nsec,
             (long long)sb->st_ctim.tv_sec, (long)sb->st_ctim.tv_nsec,
             (unsigned long long)sb->st_ino);
}

/* The stamp the walk stored after a path's NUL (see walk). */
const char *walk_stamp(const char *path)
{
    return path + strlen(path) + 1;
}

/* Collects corpus-relative paths below root/rel; each string is the path,
 * a NUL, then its stamp (path_stamp), so sorting and lookups see the path.
 * Returns 0 or -1. */
int walk_corpus(const char *root, const char *rel, time_t start, struct walk_paths *out, char *err,
                size_t errlen)
{
    struct kb_buf dirpath;
    kb_buf_init(&dirpath);
    kb_buf_printf(&dirpath, "%s%s%s", root, *rel ? "/" : "", rel);
    DIR *d = opendir(dirpath.data);
    if (!d) {
        kb_seterr(err, errlen, "%s: %s", dirpath.data, strerror(errno));
        kb_buf_fin(&dirpath);
        return -1;
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        struct kb_buf r, full;
        kb_buf_init(&r);
        kb_buf_init(&full);
        kb_buf_printf(&r, "%s%s%s", rel, *rel ? "/" : "", e->d_name);
        kb_buf_printf(&full, "%s/%s", root, r.data);
        struct stat sb;
        if (stat(full.data, &sb) == 0) {
            if (S_ISDIR(sb.st_mode)) {
                rc = walk_corpus(root, r.data, start, out, err, errlen);
            } else if (S_ISREG(sb.st_mode) && wanted(r.data, e->d_name)) {
                char stamp[128];
                stamp_of(&sb, start, stamp, sizeof stamp);
                kb_buf_addc(&r, '\0');
                kb_buf_adds(&r, stamp);
                walk_paths_addn(out, r.data, r.len);
            }
        }
        kb_buf_fin(&r);
        kb_buf_fin(&full);
    }
    closedir(d);
    kb_buf_fin(&dirpath);
    return rc;
}

int walk_cmp_path(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

