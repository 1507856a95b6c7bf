/* reveal.h - the human side of active learning (`fke data reveal`): the
 * posts that `fke query` chose are "checked by people", i.e. their garment
 * training labels (category and every attribute) are replaced by the true
 * labels the dataset keeps (labels/category_true, labels/attribute_true) and
 * the posts are marked clean. On FashionKE-synth the true labels are known
 * for every garment, so this simulates an annotator who corrects the machine
 * labels of exactly the queried posts.
 *
 *   int32_t *ids; long n;
 *   if (fke_reveal_read_ids("q.jsonl", &ids, &n, &e)) ... e.msg names file:line
 *   fke_reveal_stats st;
 *   if (fke_reveal_apply(&d, ids, n, &st, &e)) ... d is unchanged on failure
 *
 * or the whole command, load + read + apply + atomic save (OUT may be DATA):
 *
 *   fke_reveal_run("train.h5", "q.jsonl", "train-r1.h5", &st, &e);
 *
 * Query file: JSON lines as `fke query` writes them, each an object with an
 * integer "post" (other members, e.g. "score" and "rank", are ignored);
 * blank lines are skipped. Refused, naming the file and line or the post: a
 * line that is not a JSON object with an integer "post", an id outside
 * 0..N-1, an id given twice, a post that is already clean, a file with no
 * id, a dataset with no true labels at all, and a queried post with a
 * garment whose true category or attribute is unknown (-1). Every check runs
 * before anything changes, so a refused reveal changes nothing.
 *
 * Untouched: the occasion (not machine-labelled in this format), the
 * machine labels (labels/category_machine, labels/attribute_machine: the
 * clean/machine overlap that `fke noise estimate` and `fke train`'s T
 * estimate read keeps them), images, captions, persons. Padding garment
 * slots stay -1. */
#ifndef FKE_REVEAL_H
#define FKE_REVEAL_H
#include "data/dataset.h"

typedef struct {
    long posts;        /* posts revealed (marked clean) */
    long garments;     /* valid garments in them */
    long cat_changed;  /* category training labels that differed from the true one */
    long attr_labels;  /* attribute labels revealed (garments x attributes) */
    long attr_changed; /* of which differed */
    long clean_after;  /* clean posts in the dataset afterwards */
} fke_reveal_stats;

/* Reads the post ids of a query file (see above): *ids malloc'ed, n >= 1. */
fke_status fke_reveal_read_ids(const char *path, int32_t **ids, long *n, fke_err *e);
/* Checks every id against d, then reveals them all; d unchanged on error. */
fke_status fke_reveal_apply(fke_dataset *d, const int32_t *ids, long n, fke_reveal_stats *st,
                            fke_err *e);
/* Loads DATA, reveals the posts of QUERY, writes OUT (temporary name,
 * fsync, rename; OUT may equal DATA). */
fke_status fke_reveal_run(const char *data, const char *query, const char *out,
                          fke_reveal_stats *st, fke_err *e);
#endif
