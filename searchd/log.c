/* log: leveled stderr logging for searchd (see log.h). */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum sd_log_level sd_log_level = SD_LOG_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

int sd_log_parse_level(const char *s, enum sd_log_level *out)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, level_names[i]) == 0) {
            *out = (enum sd_log_level)i;
            return 0;
        }
    return -1;
}

void sd_log_set_level(enum sd_log_level level)
{
    sd_log_level = level;
}

void sd_log_write(enum sd_log_level level, const char *fmt, ...)
{
    char line[1024];
    int n = snprintf(line, sizeof line, "searchd: %s: ", level_names[level]);
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
