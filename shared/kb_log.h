/* kb_log: leveled logging to stderr for the daemons. KB_LOG checks the
 * level before formatting anything, so a disabled debug line costs one
 * comparison. The program name and level are set once at start-up, before
 * any thread starts, and only read afterwards. */
#ifndef KB_LOG_H
#define KB_LOG_H

enum kb_log_level { KB_LOG_ERROR = 0, KB_LOG_WARN = 1, KB_LOG_INFO = 2, KB_LOG_DEBUG = 3 };

extern enum kb_log_level kb_log_level;

/* Parses "error", "warn", "info" or "debug". Returns 0 and *out, or -1. */
int kb_log_parse_level(const char *s, enum kb_log_level *out);
/* Sets the level and the name that starts every line (borrowed: a string
 * literal or one that outlives all logging). */
void kb_log_setup(const char *program, enum kb_log_level level);

/* Writes one line "PROGRAM: LEVEL: message" to stderr (a single write, so
 * lines from several threads do not interleave; longer than 1 KB is cut). */
void kb_log_write(enum kb_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define KB_LOG(level, ...)                                                                         \
    do {                                                                                           \
        if ((level) <= kb_log_level)                                                               \
            kb_log_write((level), __VA_ARGS__);                                                    \
    } while (0)

#define kb_err(...) KB_LOG(KB_LOG_ERROR, __VA_ARGS__)
#define kb_warn(...) KB_LOG(KB_LOG_WARN, __VA_ARGS__)
#define kb_info(...) KB_LOG(KB_LOG_INFO, __VA_ARGS__)
#define kb_debug(...) KB_LOG(KB_LOG_DEBUG, __VA_ARGS__)

#endif
