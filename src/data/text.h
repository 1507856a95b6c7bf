/* text.h - a caption as text to token ids, by written-down rules (also in
 * datasets/README.md, "Captions as text"), so that a caption a person types
 * means to the model what a dataset's token ids mean.
 *
 *   fke_text_stats s;
 *   int32_t tok[16];
 *   FKE_TRY(fke_text_tokenize("A red dress for the #beach!", vocab, V, 16, tok, &s, e));
 *   ...s.unknown words were not in vocab (mapped to <unk>, or dropped)...
 *
 * The rules, byte by byte over the text (any bytes; UTF-8 is not decoded):
 *   1. Word characters are the ASCII letters and digits, and every byte
 *      >= 0x80: non-ASCII UTF-8 sequences are kept inside words, untouched
 *      ("café" is one word, matched byte for byte). ASCII letters are
 *      lowercased; nothing else is changed (no Unicode case folding).
 *   2. Every other byte (space, punctuation, control bytes, NUL ends the
 *      text) separates words, except '#' directly before a word character
 *      at the start of a word: a hashtag. "#ootd" is looked up as "#ootd",
 *      and, when the vocabulary lacks it, as "ootd".
 *   3. Each word becomes the id of the vocabulary entry equal to it (the
 *      lowest such id; id 0, the padding, never matches).
 *   4. A word with no entry is unknown: it becomes the id of the entry
 *      "<unk>" when the vocabulary has one (FashionKE-synth: id 1), else it
 *      is dropped. Either way it is counted.
 *   5. The ids fill tok in order; past L they are cut (counted), short of L
 *      the rest is 0 (padding).
 * So a FashionKE-synth caption's own words, joined by spaces, give back
 * exactly its token ids (tests/test_extract.c checks this on real posts):
 * its words are lowercase letters and digits, or hashtags whose entry
 * exists, and ids 0 and 1 never occur inside a caption. */
#ifndef FKE_TEXT_H
#define FKE_TEXT_H
#include <stdint.h>

#include "core/fke.h"

typedef struct {
    int words;     /* words found in the text */
    int known;     /* of them, found in the vocabulary */
    int unknown;   /* not found: mapped to <unk>, or dropped */
    int unk_id;    /* the id of "<unk>", or -1: unknown words were dropped */
    int truncated; /* ids cut because they came after the first L */
    int n;         /* ids written before the padding (<= L) */
} fke_text_stats;

/* text (NUL-terminated) to tok (L) by the rules above, with vocab (V
 * entries, NULL entries never match). stats may be NULL. Fails (FKE_ERR_ARG)
 * only without a vocabulary or for L < 1; on failure tok is all 0. */
fke_status fke_text_tokenize(const char *text, char *const *vocab, int V, int L, int32_t *tok,
                             fke_text_stats *stats, fke_err *e);
#endif
