/* synth_release.h - FashionKE-synth version 3 written as a FashionKE release
 * tree (the files the authors' released loader reads; datasets/README.md,
 * "FashionKE release" and "FashionKE-synth version 3"), so that `fke data
 * import fashionke DIR` reads back every post, garment and label that was
 * generated.
 *
 *   fke_dataset tr, te; fke_synth_pictures ptr, pte;
 *   fke_synth_generate(&o_train, &fm_train, src, &tr, &ptr, e);
 *   fke_synth_generate(&o_test, &fm_test, src, &te, &pte, e);
 *   fke_synth_release_write(dir, &tr, &ptr, 0.7, &te, &pte, seed, e);
 *
 * What goes where (DIR is made if missing):
 *   images/<id>.jpg           each post's picture (FKE_SYNTH3_PIC px, JPEG q90);
 *   cloth_body_face_meta.json post id -> post: occasion, month, country,
 *                             cloth_body_face (one entry per garment, in slot
 *                             order: cloth {box in picture pixels, category,
 *                             "<attribute>:<value>": 1 on clean posts or the
 *                             tagger's confidence on machine posts, one key
 *                             per labelled attribute}, the wearer's body and
 *                             face boxes, age, gender), body_face_cloth (the
 *                             one wearer), text (the caption's words),
 *                             weekday, hour;
 *   train_ids_<r>.json        the training posts (r = noise_ratio, "%.1f");
 *   test_ids.json             the test posts;
 *   labelled_pool.json        the clean training posts and every test post;
 *   code_occasion.json, code_cat.json, code_attr.json, code_attr_val.json,
 *   code_country.json         the label sets in the dataset's code order;
 *   clothes_category_attribute_value.json  per category the attributes that
 *                             apply, with their values;
 *   category_confuse_mat.json, attribute_confuse_mat.json  the tagger's
 *                             confusions counted on the clean training
 *                             posts (their machine label before the check);
 *   id_text_preprocessed.json post id -> {"ids": the caption's 16 ids};
 *   word_embeds.npy           (V, 32) little-endian float32, C order: a
 *                             seeded random vector per vocabulary word.
 * Post ids are 32 hex digits from (seed, split, post). The training labels
 * of the dataset are what is written (clean posts: the true ones, machine
 * posts: the machine ones), so a category may not be missing. Every file
 * is written atomically; the same inputs give the same bytes. */
#ifndef FKE_SYNTH_RELEASE_H
#define FKE_SYNTH_RELEASE_H
#include "data/synth.h"

#define FKE_SYNTH_WV_DIM 32 /* the width of word_embeds.npy */

/* The id of post i of split (0 train, 1 test) under seed, 32 hex digits + NUL. */
void fke_synth_release_id(uint64_t seed, int split, int i, char id[33]);
fke_status fke_synth_release_write(const char *dir, const fke_dataset *train,
                                   const fke_synth_pictures *train_pics, double noise_ratio,
                                   const fke_dataset *test, const fke_synth_pictures *test_pics,
                                   uint64_t seed, fke_err *e);
#endif
