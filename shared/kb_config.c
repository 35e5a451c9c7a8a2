/* kb_config: `key = value` files, the command line with the same keys,
 * ranged integers, tokens, listen addresses, and the daemons' shared keys
 * and loading order. */
#include "kb_config.h"
#include "kb_util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int kb_config_int(const char *s, long lo, long hi, long *out)
{
    if (!*s)
        return -1;
    for (const char *p = s; *p; p++)
        if (!isdigit((unsigned char)*p))
            return -1;
    errno = 0;
    long v = strtol(s, NULL, 10);
    if (errno || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int kb_config_listen(const char *v, char **host_out, int *port_out, char *err, size_t errlen)
{
    const char *colon = strrchr(v, ':');
    if (!colon || colon == v) {
        kb_seterr(err, errlen, "listen: expected HOST:PORT, got \"%s\"", v);
        return -1;
    }
    long port;
    if (kb_config_int(colon + 1, 0, 65535, &port)) {
        kb_seterr(err, errlen, "listen: bad port in \"%s\" (0..65535)", v);
        return -1;
    }
    char host[128];
    size_t hl = (size_t)(colon - v);
    if (hl >= sizeof host) {
        kb_seterr(err, errlen, "listen: host too long");
        return -1;
    }
    memcpy(host, v, hl);
    host[hl] = '\0';
    const char *h = host;
    if (host[0] == '[') {
        unsigned char a6[16];
        if (hl < 3 || host[hl - 1] != ']') {
            kb_seterr(err, errlen, "listen: bad IPv6 address in \"%s\"", v);
            return -1;
        }
        host[hl - 1] = '\0';
        h = host + 1;
        if (inet_pton(AF_INET6, h, a6) != 1) {
            kb_seterr(err, errlen, "listen: bad IPv6 address in \"%s\"", v);
            return -1;
        }
    } else if (strcmp(host, "localhost") == 0) {
        h = "127.0.0.1";
    } else if (strcmp(host, "*") == 0) {
        h = "0.0.0.0";
    } else {
        unsigned char a4[4];
        if (inet_pton(AF_INET, host, a4) != 1) {
            kb_seterr(err, errlen,
                      "listen: \"%s\" is not an IPv4 address, [IPv6], localhost or *", host);
            return -1;
        }
    }
    *host_out = kb_xstrdup(h);
    *port_out = (int)port;
    return 0;
}

int kb_config_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int kb_config_read(const char *path, const char *const *keys, size_t nkeys, kb_config_set_cb set,
                   void *ud, char *err, size_t errlen)
{
    char *text;
    size_t len;
    char msg[KB_ERR_MAX];
    if (kb_read_file(path, &text, &len, msg, sizeof msg)) {
        kb_seterr(err, errlen, "%s", msg);
        return -1;
    }
    unsigned lineno = 0;
    const char *nul = memchr(text, '\0', len);
    if (nul) {
        for (const char *p = text; p < nul; p++)
            lineno += *p == '\n';
        kb_seterr(err, errlen, "%s:%u: NUL byte", path, lineno + 1);
        free(text);
        return -1;
    }
    unsigned char *seen = kb_xcalloc(nkeys ? nkeys : 1, 1);
    int rc = 0;
    char *line = text;
    while (line && rc == 0) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        lineno++;
        char *s = kb_strip(line);
        line = nl ? nl + 1 : NULL;
        if (!*s || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            kb_seterr(err, errlen, "%s:%u: expected `key = value`", path, lineno);
            rc = -1;
            break;
        }
        *eq = '\0';
        char *key = kb_strip(s), *val = kb_strip(eq + 1);
        size_t k;
        for (k = 0; k < nkeys; k++)
            if (strcmp(key, keys[k]) == 0)
                break;
        if (k == nkeys) {
            kb_seterr(err, errlen, "%s:%u: unknown key \"%s\"", path, lineno, key);
            rc = -1;
        } else if (seen[k]++) {
            kb_seterr(err, errlen, "%s:%u: repeated key \"%s\"", path, lineno, key);
            rc = -1;
        } else if (set(ud, key, val, msg, sizeof msg)) {
            kb_seterr(err, errlen, "%s:%u: %s", path, lineno, msg);
            rc = -1;
        }
    }
    free(seen);
    free(text);
    return rc;
}

enum { OPT_HELP = 1000, OPT_CONFIG, OPT_KEY }; /* OPT_KEY + i: keys[i] */

int kb_config_args(int argc, char **argv, const char *const *keys, size_t nkeys, size_t nflags,
                   kb_config_set_cb set, void *ud, char *err, size_t errlen)
{
    if (nflags > nkeys)
        nflags = nkeys;
    struct option *opts = kb_xcalloc(nflags + 3, sizeof *opts);
    char **names = kb_xcalloc(nflags ? nflags : 1, sizeof *names);
    for (size_t i = 0; i < nflags; i++) {
        names[i] = kb_xstrdup(keys[i]);
        for (char *p = names[i]; *p; p++)
            if (*p == '_')
                *p = '-';
        opts[i] = (struct option){names[i], required_argument, NULL, OPT_KEY + (int)i};
    }
    opts[nflags] = (struct option){"config", required_argument, NULL, OPT_CONFIG};
    opts[nflags + 1] = (struct option){"help", no_argument, NULL, OPT_HELP};
    /* first pass: collect the flags, so the file can be applied before them */
    struct flag {
        size_t key;
        const char *val;
    } *flags = kb_xcalloc(argc > 0 ? (size_t)argc : 1, sizeof *flags);
    size_t n = 0;
    const char *config_path = NULL;
    int rc = 0, c;
    opterr = 0;
    optind = 1;
    while (rc == 0 && (c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (c == OPT_HELP)
            rc = 1;
        else if (c == ':' || c == '?' || c < OPT_HELP) {
            if (c == ':')
                kb_seterr(err, errlen, "%s needs a value (see --help)", argv[optind - 1]);
            else
                kb_seterr(err, errlen, "unknown option %s (see --help)", argv[optind - 1]);
            rc = -1;
        } else if (c == OPT_CONFIG) {
            config_path = optarg;
        } else {
            flags[n].key = (size_t)(c - OPT_KEY);
            flags[n].val = optarg;
            n++;
        }
    }
    if (rc == 0 && optind < argc) {
        kb_seterr(err, errlen, "unexpected argument \"%s\" (see --help)", argv[optind]);
        rc = -1;
    }
    if (rc == 0 && config_path)
        rc = kb_config_read(config_path, keys, nkeys, set, ud, err, errlen);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char msg[KB_ERR_MAX];
        if (set(ud, keys[flags[i].key], flags[i].val, msg, sizeof msg)) {
            /* name the flag, not the key: "--threads: ..." */
            const char *colon = strchr(msg, ':');
            kb_seterr(err, errlen, "--%s%s", names[flags[i].key], colon ? colon : msg);
            rc = -1;
        }
    }
    free(flags);
    for (size_t i = 0; i < nflags; i++)
        free(names[i]);
    free(names);
    free(opts);
    return rc;
}

int kb_config_int_key(const char *key, const char *v, long lo, long hi, int *out, char *err,
                      size_t errlen)
{
    long n;
    if (kb_config_int(v, lo, hi, &n)) {
        kb_seterr(err, errlen, "%s: \"%s\" is not a number %ld..%ld", key, v, lo, hi);
        return -1;
    }
    *out = (int)n;
    return 0;
}

int kb_config_token(const char *key, const char *v, size_t max, char **slot, char *err,
                    size_t errlen)
{
    size_t len = strlen(v);
    if (len == 0 || len > max) {
        kb_seterr(err, errlen, "%s: 1..%zu bytes", key, max);
        return -1;
    }
    for (size_t i = 0; i < len; i++)
        if (v[i] <= 0x20 || v[i] >= 0x7f) {
            kb_seterr(err, errlen, "%s: only printable ASCII without spaces is allowed", key);
            return -1;
        }
    free(*slot);
    *slot = kb_xstrdup(v);
    return 0;
}

int kb_config_daemon_set(const struct kb_config_daemon *d, const char *key, const char *v,
                         char *err, size_t errlen)
{
    if (!*v) {
        kb_seterr(err, errlen, "%s: empty value", key);
        return -1;
    }
    int nrc = kb_net_config_set(d->net, key, v, err, errlen);
    if (nrc <= 0)
        return nrc;
    if (strcmp(key, "index") == 0) {
        free(*d->index);
        *d->index = kb_xstrdup(v);
    } else if (strcmp(key, "listen") == 0) {
        char *host;
        if (kb_config_listen(v, &host, d->port, err, errlen))
            return -1;
        free(*d->host);
        *d->host = host;
    } else if (strcmp(key, "www") == 0) {
        if (!kb_config_is_dir(v)) {
            kb_seterr(err, errlen, "www: \"%s\" is not a folder", v);
            return -1;
        }
        free(*d->www);
        *d->www = kb_xstrdup(v);
        *d->www_explicit = 1;
    } else if (strcmp(key, "log_level") == 0) {
        if (kb_log_parse_level(v, d->level)) {
            kb_seterr(err, errlen, "log_level: \"%s\" is not error, warn, info or debug", v);
            return -1;
        }
    } else {
        return 1;
    }
    return 0;
}

int kb_config_daemon_load(const struct kb_config_daemon *d, int argc, char **argv,
                          const char *const *keys, size_t nkeys, kb_config_set_cb set, void *ud,
                          void (*usage)(FILE *), char *err, size_t errlen)
{
    /* the file keys but the connection caps' are flags too */
    int rc = kb_config_args(argc, argv, keys, nkeys, nkeys - KB_NET_CONFIG_NKEYS, set, ud, err,
                            errlen);
    if (rc == 1)
        usage(stdout);
    if (rc)
        return rc;
    if (!*d->index) {
        kb_seterr(err, errlen, "no index: give --index DIR or `index = DIR` (see --help)");
        return -1;
    }
    return kb_net_config_check(d->net, err, errlen);
}
