/* kb_md: reads an article or known-error Markdown file: a header of
 * `key: value` lines between two `---` lines, then a Markdown body.
 *
 *   ---
 *   id: KE-0001
 *   kind: known_error
 *   title: ...
 *   ---
 *   ## 症状            (or Symptom)
 *   ## 原因            (or Cause, Root cause)
 *   ## 临时解决方案     (or 临时措施, 规避措施, Workaround)
 *   ## 解决方案        (or 永久解决方案, Resolution, Fix)
 *
 * Article keys: id, kind, title, category, tags, product, lang, visibility,
 * updated. Known-error keys: id, kind, title, service, status, visibility.
 * Known-error bodies are split into the four sections above; text outside
 * them stays in body. Errors name the line: invalid UTF-8, a missing or
 * unclosed header, a line that is not `key: value`, an unknown or repeated
 * key, a missing id/kind/title, a bad value (kind, visibility, lang,
 * status, updated, id characters), a known error without a symptom. */
#ifndef KB_MD_H
#define KB_MD_H

#include <stddef.h>

#include "kb_doc.h"

/* Parses text[0..len) of the file at corpus-relative path source. Returns
 * 0 and *out (caller frees with kb_doc_free), or -1 with *out = NULL, *line
 * the 1-based line of the fault and a message (without path) in err. */
int kb_md_parse(const char *text, size_t len, const char *source, struct kb_doc **out, int *line,
                char *err, size_t errlen);

/* Writes doc (an article or known error) in the format kb_md_parse reads:
 * the header fields it has, then the body (known errors: any text outside
 * the sections first, then ## 症状, ## 原因, ## 临时解决方案, ## 解决方案 for
 * those it has). kb_md_parse of the result gives the same fields back as
 * long as no header value holds a line break or leading / trailing blanks
 * and no text has them at its ends (the parser strips them). Returns a heap
 * string the caller frees, or NULL for a standard clause. */
char *kb_md_print(const struct kb_doc *doc);

#endif
