/* static: serves files from the www folder (see static.h). The folder is
 * small (a page, a script, a style sheet), so a file is read whole into the
 * response body. */
#define _XOPEN_SOURCE 700 /* realpath */
#include "static.h"
#include "kb_util.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct { const char *ext; const char *type; } types[] = {
    {".html", "text/html; charset=utf-8"},
    {".htm", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json; charset=utf-8"},
    {".txt", "text/plain; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".jpg", "image/jpeg"},
    {".jpeg", "image/jpeg"},
    {".gif", "image/gif"},
    {".webp", "image/webp"},
    {".ico", "image/x-icon"},
    {".woff", "font/woff"},
    {".woff2", "font/woff2"},
    {".map", "application/json; charset=utf-8"},
    {".webmanifest", "application/manifest+json"},
};

const char *static_content_type(const char *name)
{
    const char *dot = strrchr(name, '.');
    const char *slash = strrchr(name, '/');
    if (dot && (!slash || dot > slash))
        for (size_t i = 0; i < sizeof types / sizeof *types; i++)
            if (strcasecmp(dot, types[i].ext) == 0)
                return types[i].type;
    return "application/octet-stream";
}

static void not_found(struct sd_response *resp)
{
    codec_set_error3(resp, 404, "not_found", "no such page");
}

/* Does any segment of path start with '.'? */
static int has_dot_segment(const char *path)
{
    for (const char *p = path; *p; p++)
        if (*p == '/' && p[1] == '.')
            return 1;
    return 0;
}

/* Reads fd (a regular file of size n) whole. Returns a heap buffer or NULL. */
static char *read_all(int fd, size_t n)
{
    char *buf = kb_xmalloc(n ? n : 1);
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r <= 0) {
            free(buf);
            return NULL;
        }
        got += (size_t)r;
    }
    return buf;
}

void static_serve(const char *root, const char *path, struct sd_response *resp)
{
    if (!root || path[0] != '/' || has_dot_segment(path) || strchr(path, '\\')) {
        not_found(resp);
        return;
    }
    size_t rl = strlen(root), pl = strlen(path);
    if (rl + pl + sizeof "/index.html" > PATH_MAX) {
        not_found(resp);
        return;
    }
    char full[PATH_MAX];
    memcpy(full, root, rl);
    memcpy(full + rl, path, pl + 1);
    struct stat st;
    if (stat(full, &st) == 0 && S_ISDIR(st.st_mode)) {
        strcat(full, path[pl - 1] == '/' ? "index.html" : "/index.html");
    }
    char real[PATH_MAX];
    if (!realpath(full, real) || strncmp(real, root, rl) != 0 || real[rl] != '/') {
        not_found(resp);
        return;
    }
    int fd = open(real, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        not_found(resp);
        return;
    }
    char *body = NULL;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= STATIC_MAX_FILE)
        body = read_all(fd, (size_t)st.st_size);
    close(fd);
    if (!body) {
        not_found(resp);
        return;
    }
    sd_response_fin(resp);
    resp->status = 200;
    resp->content_type = static_content_type(real);
    resp->cache_control = "no-cache";
    resp->body = body;
    resp->len = (size_t)st.st_size;
}
