/* embedding.h - token embedding lookup: out[n, l, :] = table[ids[n, l], :].
 * ids are int32 token ids, row-major (N, L), passed as a plain array with N
 * and L (they are not real numbers, so not an fke_tensor). There is no
 * padding index: a padding token is an ordinary row (as nn.Embedding without
 * padding_idx). An id outside 0..V-1 is an FKE_ERR_ARG naming the position.
 * Backward adds each dout row into the table row it came from. */
#ifndef FKE_EMBEDDING_H
#define FKE_EMBEDDING_H
#include "core/fke.h"

/* ids (N, L) int32; table (V, D); out (N, L, D) overwritten */
fke_status fke_embedding_forward(fke_err *e, const int32_t *ids, int N, int L,
                                 const fke_tensor *table, fke_tensor *out);
/* dout (N, L, D); dtable (V, D) += scatter-add of dout rows by id */
fke_status fke_embedding_backward(fke_err *e, const int32_t *ids, int N, int L,
                                  const fke_tensor *dout, fke_tensor *dtable);
#endif
