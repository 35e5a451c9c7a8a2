/* kb_log: leveled stderr logging for the daemons (see kb_log.h). */
#include "kb_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum kb_log_level kb_log_level = KB_LOG_INFO;
static const char *program = "kbdesk";

static const char *const level_names[] = {"error", "warn", "info", "debug"};

int kb_log_parse_level(const char *s, enum kb_log_level *out)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, level_names[i]) == 0) {
            *out = (enum kb_log_level)i;
            return 0;
        }
    return -1;
}

void kb_log_setup(const char *name, enum kb_log_level level)
{
    program = name;
    kb_log_level = level;
}

void kb_log_write(enum kb_log_level level, const char *fmt, ...)
{
    char line[1024];
    int n = snprintf(line, sizeof line, "%s: %s: ", program, level_names[level]);
    if (n < 0 || (size_t)n >= sizeof line - 2)
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2)
        len = sizeof line - 2; /* truncated */
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w; /* nowhere to report a failing stderr */
}
