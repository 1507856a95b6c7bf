/* knowledge.h - fashion knowledge aggregated from extraction lines (`fke
 * knowledge`), as the FashionKE paper presents it:
 *
 *   occasion x category   how many garments of each category are worn at each
 *                         occasion, and each category's share of the occasion
 *                         (row-normalised);
 *   attributes            per (occasion, category) and attribute, the three
 *                         most common values with their shares;
 *   co-occurrence         category x category: garment pairs worn together
 *                         in one post (an unordered pair counts once; a post
 *                         with two shirts adds 1 to the diagonal).
 *
 *   fke_knowledge k; fke_knowledge_init(&k);
 *   fke_knowledge_add_file(&k, "x.jsonl", &e);      any number of files
 *   fke_knowledge_write(&k, "out/", &e);            CSVs and PNG heat maps
 *   fke_knowledge_print(&k, stdout, 3);
 *   fke_knowledge_free(&k);
 *
 * Written files: occasion_category.csv (occasion,category,count,share, every
 * pair), attributes.csv (occasion,category,attribute,rank,value,count,share),
 * cooccurrence.csv (category_a,category_b,count, each unordered pair once),
 * occasion_category.png and cooccurrence.png.
 *
 * Order of rows and columns, in the pictures, the CSVs and the table:
 *   - with labels (fke_knowledge_labels_from a checkpoint or the dataset, or
 *     fke_knowledge_set_labels, before any line): the label order, every
 *     occasion and category kept, those no garment has as rows and columns
 *     of zeros, so two runs' maps compare cell by cell; a line naming a label
 *     outside them is an error;
 *   - without: the names seen, by name;
 *   - sort = 1 (`--sort`): by number of garments (most first), ties by name. */
#ifndef FKE_KNOWLEDGE_H
#define FKE_KNOWLEDGE_H
#include <stdio.h>

#include "core/fke.h"

typedef struct {
    char **s;
    int n, cap;
} fke_names;

typedef struct {
    uint64_t *key;
    long *val;
    size_t n, cap;
} fke_countmap;

typedef struct {
    fke_names occ, cat, attr, val;  /* interned names */
    fke_countmap oc, co, at;        /* (occ, cat), (cat, cat), (occ, cat, attr, val) counts */
    long posts, garments;
    int fixed;                      /* 1: occ and cat hold the label order (the only names allowed) */
    int sort;                       /* 1: by frequency */
    char labels_from[512];          /* where the labels came from, for messages */
} fke_knowledge;

void fke_knowledge_init(fke_knowledge *k);
void fke_knowledge_free(fke_knowledge *k);
/* The occasion and category names, in their order (copied), as every row
 * and column of the output; from names the messages. */
fke_status fke_knowledge_set_labels(fke_knowledge *k, char *const *occ, int n_occ,
                                    char *const *cat, int n_cat, const char *from, fke_err *e);
/* The same from a checkpoint's /names or a post dataset's names. */
fke_status fke_knowledge_labels_from(fke_knowledge *k, const char *path, fke_err *e);
/* Adds one extraction line (JSON text); where = "FILE:LINE" for messages. */
fke_status fke_knowledge_add_line(fke_knowledge *k, const char *line, const char *where,
                                  fke_err *e);
/* Adds every line of a JSON-lines file (blank lines skipped). */
fke_status fke_knowledge_add_file(fke_knowledge *k, const char *path, fke_err *e);
/* Writes the CSVs and PNGs into dir (created if missing). */
fke_status fke_knowledge_write(const fke_knowledge *k, const char *dir, fke_err *e);
/* The occasion x category table: top `top` categories per occasion. */
void fke_knowledge_print(const fke_knowledge *k, FILE *f, int top);
/* Count of key (a, b, c, d) in map m (0 if absent). */
long fke_countmap_get(const fke_countmap *m, int a, int b, int c, int d);
#endif
