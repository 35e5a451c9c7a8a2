/* log: searchd's leveled logging to stderr. SD_LOG checks the level before
 * formatting anything, so a disabled debug line costs one comparison. The
 * level is set once at startup (sd_log_set_level) before any thread starts
 * and only read afterwards. */
#ifndef SD_LOG_H
#define SD_LOG_H

enum sd_log_level { SD_LOG_ERROR = 0, SD_LOG_WARN = 1, SD_LOG_INFO = 2, SD_LOG_DEBUG = 3 };

extern enum sd_log_level sd_log_level;

/* Parses "error", "warn", "info" or "debug". Returns 0 and *out, or -1. */
int sd_log_parse_level(const char *s, enum sd_log_level *out);
void sd_log_set_level(enum sd_log_level level);

/* Writes one line "searchd: LEVEL: message" to stderr (a single write, so
 * lines from several threads do not interleave). */
void sd_log_write(enum sd_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define SD_LOG(level, ...)                                                                         \
    do {                                                                                           \
        if ((level) <= sd_log_level)                                                               \
            sd_log_write((level), __VA_ARGS__);                                                    \
    } while (0)

#define sd_err(...) SD_LOG(SD_LOG_ERROR, __VA_ARGS__)
#define sd_warn(...) SD_LOG(SD_LOG_WARN, __VA_ARGS__)
#define sd_info(...) SD_LOG(SD_LOG_INFO, __VA_ARGS__)
#define sd_debug(...) SD_LOG(SD_LOG_DEBUG, __VA_ARGS__)

#endif
