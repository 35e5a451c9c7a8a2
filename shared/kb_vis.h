/* kb_vis: the visibility rule, and how the index keeps what an internal
 * document contributes apart from what everyone may see.
 *
 * The rule: a caller without the agent right (a requester in chatdesk, a
 * searchd request without the agent token) sees public documents only;
 * an agent sees every document. Nothing derived from a document (its
 * body, title, id in a link, its words as completions or spelling
 * corrections, its facet counts) reaches a caller who may not see it.
 * kb_vis_may_see is that rule for one document; kb_search applies it to
 * terms and spelling words through the index layout below (kb_schema.h):
 *
 *   - every unprefixed term of an internal document is also indexed as
 *     KB_PREFIX_INTERNAL + term (wdf 0): the number of public documents
 *     holding a term is termfreq(term) - termfreq(H + term), so completions
 *     and "is this word known" are answered per caller from the one index;
 *   - Xapian 1.4 has one spelling table per database and no prefix for it:
 *     public documents' words go into it as they are, internal documents'
 *     words "shadowed": every character moved into a Private Use Area
 *     (a..z to U+E040..U+E680, 64 apart, anything else c to U+F0000 + c).
 *     Spelling words are 3 characters or more and a public lookup's word
 *     holds no shadow character, so a shadowed word is at least 3 edits
 *     from it, beyond Xapian's reach (we ask for 1 or 2); an agent's lookup
 *     asks for the word and for its shadow and takes the better answer.
 *     Both live in the one database and change in the indexer's one
 *     transaction. (Xapian finds spelling candidates through byte
 *     fragments; letters 64 code points apart differ in their second byte,
 *     so an agent's shadow lookup does not weigh every internal word.)
 *
 * No allocation is kept: returned strings are the caller's (free). */
#ifndef KB_VIS_H
#define KB_VIS_H

#include <stddef.h>

/* May a caller see a document whose visibility is `visibility` ("public",
 * "internal"; NULL counts as public, as the indexer stores it)? internal
 * is non-zero for an agent. Returns 1 or 0. */
int kb_vis_may_see(const char *visibility, int internal);

#define KB_VIS_SHADOW_BASE 0xF0000 /* shadow of c (not a..z) = base + c */

/* The shadow of word[0..len) (valid UTF-8, every code point below
 * U+FFFE), NUL-terminated, caller frees; NULL when the word cannot be
 * shadowed (invalid UTF-8, a code point too high, empty). */
char *kb_vis_shadow(const char *word, size_t len);

/* The word a shadow stands for, caller frees; NULL when s is not a
 * shadowed word (a character outside the shadow range, invalid UTF-8). */
char *kb_vis_unshadow(const char *s, size_t len);

/* Does s[0..len) hold a code point of a Private Use Area (U+E000..U+F8FF,
 * U+F0000 and above) or invalid UTF-8? Such a string is never looked up
 * for, nor handed to, anyone. */
int kb_vis_has_shadow(const char *s, size_t len);

#endif
