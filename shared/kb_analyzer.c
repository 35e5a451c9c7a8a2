/* kb_analyzer: normalise, then tokenize. */
#include "kb_analyzer.h"
#include "kb_norm.h"
#include "kb_util.h"

#include <stdlib.h>

struct kb_analyzer {
    kb_norm *norm;
    kb_tok *tok;
    char *text;
    size_t len;
};

int kb_analyzer_new(const kb_lexicon *lx, kb_analyzer **out, char *err, size_t errlen)
{
    *out = NULL;
    kb_analyzer *an = kb_xcalloc(1, sizeof *an);
    if (kb_norm_new(&an->norm, err, errlen) < 0 || kb_tok_new(lx, &an->tok, err, errlen) < 0) {
        kb_analyzer_free(an);
        return KB_AN_EINTERNAL;
    }
    *out = an;
    return 0;
}

void kb_analyzer_free(kb_analyzer *an)
{
    if (!an)
        return;
    kb_norm_free(an->norm);
    kb_tok_free(an->tok);
    free(an->text);
    free(an);
}

int kb_analyzer_normalize(kb_analyzer *an, const char *text, size_t len, char **out,
                          size_t *outlen, char *err, size_t errlen)
{
    int rc = kb_norm_text(an->norm, text, len, out, outlen, err, errlen);
    if (rc == KB_NORM_EUTF8 || rc == KB_NORM_ENUL)
        return KB_AN_EINPUT;
    return rc < 0 ? KB_AN_EINTERNAL : 0;
}

int kb_analyze(kb_analyzer *an, int mode, const char *text, size_t len, kb_tok_cb cb, void *ud,
               uint32_t *npos, char *err, size_t errlen)
{
    if (npos)
        *npos = 0;
    free(an->text);
    an->text = NULL;
    an->len = 0;
    int rc = kb_analyzer_normalize(an, text, len, &an->text, &an->len, err, errlen);
    if (rc < 0)
        return rc;
    rc = kb_tok_run(an->tok, mode, an->text, an->len, cb, ud, npos, err, errlen);
    return rc == -1 ? KB_AN_EINTERNAL : rc;
}

const char *kb_analyzer_text(const kb_analyzer *an, size_t *len)
{
    if (len)
        *len = an->len;
    return an->text ? an->text : "";
}

int kb_analyzer_tokenize(kb_analyzer *an, int mode, const char *norm, size_t len, kb_tok_cb cb,
                         void *ud, uint32_t *npos, char *err, size_t errlen)
{
    int rc = kb_tok_run(an->tok, mode, norm, len, cb, ud, npos, err, errlen);
    return rc == -1 ? KB_AN_EINTERNAL : rc;
}

int kb_analyzer_normalize_map(kb_analyzer *an, const char *text, size_t len, char **out,
                              size_t *outlen, size_t **map, char *err, size_t errlen)
{
    int rc = kb_norm_text_map(an->norm, text, len, out, outlen, map, err, errlen);
    if (rc == KB_NORM_EUTF8 || rc == KB_NORM_ENUL)
        return KB_AN_EINPUT;
    return rc < 0 ? KB_AN_EINTERNAL : 0;
}
