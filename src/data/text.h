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
/* The same, many captions over one vocabulary: init indexes the vocabulary
 * once (vocab is borrowed and must outlive t), run tokenizes one text. */
typedef struct {
    struct fke_text_entry *idx; /* the entries sorted by word */
    int n, unk_id;
} fke_tokenizer;
fke_status fke_tokenizer_init(fke_tokenizer *t, char *const *vocab, int V, fke_err *e);
fke_status fke_tokenizer_run(const fke_tokenizer *t, const char *text, int L, int32_t *tok,
                             fke_text_stats *stats, fke_err *e);
void fke_tokenizer_free(fke_tokenizer *t);

/* The next word of text by rules 1 and 2 into w (room for strlen(text) + 2
 * bytes), lowercased, with its '#' when it is a hashtag (*hash 1); returns
 * where the word ends, or NULL when text has no word left. */
const char *fke_text_word(const char *text, char *w, int *hash);

/* A vocabulary file (`fke data vocab`): one word a line, token id = line
 * number - 1; line 1 is the padding (id 0, never matched), line 2 "<unk>".
 * Every other line is one word as fke_text_word gives it (so lowercase, no
 * separators), checked on load; \r\n line ends are accepted. */
typedef struct {
    long texts, words, distinct;   /* captions read, words in them, distinct words */
    long kept_words;               /* words whose entry made the vocabulary */
    long dropped_distinct;         /* distinct words left out (rare, or past max_words) */
} fke_vocab_stats;
/* The vocabulary of texts (n captions): <pad>, <unk>, then every word seen
 * at least min_count times, the most frequent first (ties in byte order),
 * at most max_words entries in all. *vocab is malloc'ed (fke_strings_free). */
fke_status fke_vocab_build(const char *const *texts, long n, int min_count, int max_words,
                           char ***vocab, int *V, fke_vocab_stats *stats, fke_err *e);
fke_status fke_vocab_save(const char *path, char *const *vocab, int V, fke_err *e);
fke_status fke_vocab_load(const char *path, char ***vocab, int *V, fke_err *e);
#endif
