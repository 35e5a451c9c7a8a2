/* kb_schema: how a kb_doc is laid out in the Xapian index. The indexer
 * writes it; searchd and chatdesk read it. Change KB_SCHEMA_VERSION whenever
 * the layout or the tokenizer's output changes: the indexer then rebuilds
 * the whole index instead of updating it.
 *
 * Free text: unprefixed terms from kb_analyze, positional. Title, heading,
 * tags, product, service and standard code get KB_WDF_TITLE per
 * occurrence, a clause's parent headings (path) KB_WDF_PATH, bodies
 * KB_WDF_BODY. Title, heading and path terms are also added with prefix "S"
 * (no positions) so a query can favour title matches, and a standard's
 * title with prefix "B", so a query naming the standard ("运维规范") can
 * favour its clauses. Fields are placed KB_FIELD_GAP positions apart so
 * phrases never span two fields.
 *
 * Boolean (filter) terms, all lower-case ASCII prefixes followed by the value:
 *   Q<id>       unique id            K<kind>        article|known_error|standard
 *   V<vis>      public|internal      C<category>    every level: C网络, C网络/vpn
 *   L<lang>     zh|en|mixed          T<tag>         normalised tag
 *   P<product>  normalised product   X<status>      known-error status
 *   E<service>  affected service     G<std slug>    the standard a clause is in
 *   N<clause>   clause number (with a wdf of 1, so it can also be
 *               weighted), and N<slug>:<clause> (boolean)
 *   H<term>     internal documents only: each of their unprefixed terms
 *               again (wdf 0), so termfreq(t) - termfreq(Ht) counts the
 *               public documents holding t (completions, known words)
 * Category, tag, product, service values are normalised with kb_norm.
 *
 * Spelling table: the words of public documents as they are, the words of
 * internal documents shadowed (kb_vis_shadow: each character moved into a
 * Private Use Area), so a public lookup can never reach them. kb_vis.h explains the rule and the reasons. */
#ifndef KB_SCHEMA_H
#define KB_SCHEMA_H

/* The stored schema is KB_SCHEMA_VERSION plus a hash of the built-in
 * lexicon (kb_schema_id), so a lexicon change also rebuilds the index. */
#define KB_SCHEMA_VERSION "9"
/* 8: document data in kb_doc_pack's split form (a head with the snippet
 * source of kb_snipsrc.h, then the rest; kb_doc.h)
 * 9: the snippet source holds an index of its tokens by term and by CJK
 * character instead of the tokens in order (kb_snipsrc.h) */
/* What kb_searcher_new accepts: an index whose stored schema starts with
 * KB_SCHEMA_VERSION "-" (an older layout would leak internal words). */

/* value slots */
enum {
    KB_SLOT_KIND = 0,
    KB_SLOT_CATEGORY = 1,   /* category as written */
    KB_SLOT_UPDATED = 2,    /* YYYY-MM-DD */
    KB_SLOT_STD = 3,        /* standard code (or title when no code) */
    KB_SLOT_CLAUSE_KEY = 4, /* sortable clause key: each number as 3 digits */
    KB_SLOT_LANG = 5,
    KB_SLOT_VISIBILITY = 6,
    KB_SLOT_SOURCE = 7,     /* corpus-relative source path */
    KB_SLOT_STATUS = 8,
    KB_SLOT_STD_SLUG = 9,   /* the standard's slug, as in G<slug> */
    KB_SLOT_FACETS = 10,    /* the facets in one value, KBX_FACET_SEP between:
                               kind, category, standard slug (KB_FACET_*) */
};

/* parts of KB_SLOT_FACETS */
enum { KB_FACET_KIND = 0, KB_FACET_CATEGORY = 1, KB_FACET_STD = 2, KB_FACET_PARTS = 3 };

#define KB_PREFIX_ID "Q"
#define KB_PREFIX_KIND "K"
#define KB_PREFIX_VIS "V"
#define KB_PREFIX_CATEGORY "C"
#define KB_PREFIX_LANG "L"
#define KB_PREFIX_TAG "T"
#define KB_PREFIX_PRODUCT "P"
#define KB_PREFIX_STATUS "X"
#define KB_PREFIX_SERVICE "E"
#define KB_PREFIX_STD "G"
#define KB_PREFIX_CLAUSE "N"
#define KB_PREFIX_TITLE "S"
#define KB_PREFIX_STDTITLE "B"
#define KB_PREFIX_STEM "Z"
#define KB_PREFIX_INTERNAL "H"

#define KB_WDF_TITLE 3
#define KB_WDF_PATH 2
#define KB_WDF_BODY 1
#define KB_FIELD_GAP 100

/* metadata keys */
#define KB_META_SCHEMA "kb:schema"
#define KB_META_BUILT "kb:built"       /* ISO time of the last build */
#define KB_META_SOURCE "src:"          /* src:<path> = "<hash>\n<id>\n<id>..." */
#define KB_META_GLOSSARY "kb:glossary" /* hash of the glossary file loaded */

/* The glossary: <corpus>/glossary.txt, one group of equivalent terms per
 * line separated by " | ", stored as Xapian synonyms between the
 * normalised forms of every pair in a group. */
#define KB_GLOSSARY_FILE "glossary.txt"
/* An English glossary term is also a synonym key as "~" + its words' stems
 * ("~servic desk"), so plurals and other forms of a query reach it. */
#define KB_SYNONYM_STEM "~"

#endif
