/* kb_stdparse: turns the plain text of one Chinese standard, as extracted
 * from a PDF (the files in corpora/standards), into one KB_KIND_STANDARD
 * document per numbered clause of its main text ("1", "3.1", "8.3.4.1", ...).
 *
 * What becomes a document
 *   Only the numbered clauses of the main text, in document order, each
 *   number once. Front matter (cover, 目次/table of contents, 前言, 引言 and
 *   its "0.x" clauses) is skipped. Annexes and what follows them (附录 A,
 *   参考文献, 索引) are skipped too: the main text ends at the first annex
 *   or bibliography heading, so annex clauses (A.1, ...) never appear.
 *
 * How clauses are found
 *   Every line that starts with a clause number ("1　范围", "4. 运维组织",
 *   "## 8.3.4.1 问题管理", a bare "3.1" whose term is on the next line) is a
 *   candidate; table-of-contents lines (dotted leaders, a tab and a page
 *   number, everything in the block under a 目次 heading) are not. Among the
 *   candidates the parser keeps the best-scoring chain in which each number
 *   is a plausible successor of the previous one (after 8.3.4: 8.3.4.1,
 *   8.3.5, 8.4 or 9), so dates, "2020 年", numbered steps or sentences that
 *   start with a number, and running page numbers are left in the body;
 *   when the same number appears twice, the later, body-like one wins.
 *
 * Fields of each document
 *   clause     "8.3.4.1"
 *   heading    as written, whitespace collapsed, a trailing "：" dropped; a
 *              term keeps its English name ("运行维护服务 operation
 *              maintenance service"). A clause without a title (GB/T 1.1
 *              "无标题条": the number is followed by a sentence) gets the
 *              sentence's first phrase as heading (at most 20 characters,
 *              "…" when cut) and keeps the whole sentence in its body; a
 *              bare number with nothing usable after it gets "".
 *   title      clause + " " + heading (just the clause when heading is "")
 *   path       the ancestor clauses' titles joined by " > " ("" at top)
 *   body       the clause's own text up to the next clause heading: broken
 *              lines joined (no space between CJK, one between Latin
 *              words), "\n" after a line ending a sentence (。；：！？!?;)
 *              and before list items (a) 1) （1） —— 注： 表1 ...) and
 *              table lines (tabs or "|"); page numbers, "— 3 —" footers,
 *              Roman numerals, the repeated code / title header lines,
 *              rule lines and TOC lines are dropped. A clause with no
 *              text of its own (7.8 服务台, all of whose text is in 7.8.1
 *              and 7.8.2) gets its direct sub-clauses' titles and bodies,
 *              so it reads as the section; body_composed is set, and
 *              the indexer leaves such a body out of the index (the
 *              sub-clauses hold that text, and rank for it).
 *   std_code   the code the text repeats on its own line ("GB/T
 *              34077.5—2020", "DB21/T 1799.1—XXXX", "DSIA02012007"), with
 *              spaces collapsed and removed around "/" and dashes, the
 *              text's dash kept; "" when there is none.
 *   std_title  the title lines just before clause 1 (or the cover title),
 *              spaces collapsed, none between CJK and digits.
 *   id         "std-" + slug + ":" + clause, the slug being the code in
 *              lower-case ASCII ("gbt34077.5-2020"; a placeholder year such
 *              as "—XXXX" is left out: "db21t1799.1"), or "s" + the first
 *              three characters of source's basename when there is no code
 *              ("s004"). Unique within a standard, stable across runs.
 *   visibility "public"; source as given; source_line the 1-based line of
 *              the clause number.
 *
 * Input may be anything: invalid UTF-8 becomes U+FFFD, NULs and control
 * characters become spaces, "\r\n" and "\r" end lines; every string handed
 * out is valid UTF-8. */
#ifndef KB_STDPARSE_H
#define KB_STDPARSE_H

#include <stddef.h>

struct kb_doc;

/* Called once per clause; the callback takes ownership of doc (frees it
 * with kb_doc_free). Return non-zero to stop. */
typedef int (*kb_std_cb)(void *ud, struct kb_doc *doc);

/* Parses the text of one standard (text[0..len), need not be
 * NUL-terminated; text may be NULL when len is 0). source is the
 * corpus-relative path stored in each doc (e.g.
 * "standards/004_a0941ffbbb179b29.txt"); NULL is taken as "". Nothing is
 * kept after the call: text and source stay the caller's.
 * Returns 0, a callback's non-zero value (no further call is made), or -1
 * with a message in err (no clause found, text NULL with len > 0, text over
 * 64 MiB), in which case the callback was never called. cb may be NULL
 * (the documents are then built and freed: a dry run). */
int kb_std_parse(const char *text, size_t len, const char *source, kb_std_cb cb, void *ud,
                 char *err, size_t errlen);

#endif
