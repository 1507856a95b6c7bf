/* embedding.c - see embedding.h. */
#include "nn/embedding.h"

#include <string.h>

static fke_status check_ids(fke_err *e, const char *op, const int32_t *ids, int N, int L,
                            int V)
{
    if (!ids) return fke_fail(e, FKE_ERR_ARG, "%s: ids is a null array", op);
    if (N <= 0 || L <= 0)
        return fke_fail(e, FKE_ERR_ARG, "%s: ids has shape (%d, %d)", op, N, L);
    for (size_t i = 0; i < (size_t)N * L; i++)
        if (ids[i] < 0 || ids[i] >= V)
            return fke_fail(e, FKE_ERR_ARG,
                            "%s: token id %d at (%zu, %zu) is outside the vocabulary 0..%d",
                            op, (int)ids[i], i / (size_t)L, i % (size_t)L, V - 1);
    return FKE_OK;
}

fke_status fke_embedding_forward(fke_err *e, const int32_t *ids, int N, int L,
                                 const fke_tensor *table, fke_tensor *out)
{
    FKE_EXPECT(e, "embedding", "table", table, -1, -1);
    int V = table->shape[0], D = table->shape[1];
    FKE_TRY(check_ids(e, "embedding", ids, N, L, V));
    FKE_EXPECT(e, "embedding", "out", out, N, L, D);
    for (size_t i = 0; i < (size_t)N * L; i++)
        memcpy(out->data + i * D, table->data + (size_t)ids[i] * D, D * sizeof(fke_real));
    return FKE_OK;
}

fke_status fke_embedding_backward(fke_err *e, const int32_t *ids, int N, int L,
                                  const fke_tensor *dout, fke_tensor *dtable)
{
    FKE_EXPECT(e, "embedding backward", "dtable", dtable, -1, -1);
    int V = dtable->shape[0], D = dtable->shape[1];
    FKE_TRY(check_ids(e, "embedding backward", ids, N, L, V));
    FKE_EXPECT(e, "embedding backward", "dout", dout, N, L, D);
    /* serial on purpose: repeated ids make the rows collide, and a fixed
     * order keeps the sums bit-for-bit reproducible */
    for (size_t i = 0; i < (size_t)N * L; i++) {
        fke_real *dst = dtable->data + (size_t)ids[i] * D;
        const fke_real *src = dout->data + i * D;
        for (int d = 0; d < D; d++) dst[d] += src[d];
    }
    return FKE_OK;
}
