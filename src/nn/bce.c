/* bce.c - see bce.h. */
#include "nn/bce.h"

#include <math.h>

static double softplus(double z) { return (z > 0 ? z : 0) + log1p(exp(-fabs(z))); }
static double sigmoid(double z)
{
    if (z >= 0) return 1 / (1 + exp(-z));
    double t = exp(z);
    return t / (1 + t);
}

/* The checks forward and backward share; *count = the known entries. */
static fke_status bce_check(fke_err *e, const char *op, const fke_tensor *logits,
                            const int32_t *labels, const fke_real *pos_weight, long *count)
{
    FKE_EXPECT(e, op, "logits", logits, -1, -1);
    int N = logits->shape[0], M = logits->shape[1];
    if (!labels) return fke_fail(e, FKE_ERR_ARG, "%s: labels is a null array", op);
    for (int k = 0; pos_weight && k < M; k++)
        if (!(pos_weight[k] >= 0) || !isfinite((double)pos_weight[k]))
            return fke_fail(e, FKE_ERR_ARG, "%s: pos_weight[%d] = %g is not a finite number >= 0",
                            op, k, (double)pos_weight[k]);
    *count = 0;
    for (size_t i = 0; i < (size_t)N * M; i++) {
        if (labels[i] < -1 || labels[i] > 1)
            return fke_fail(e, FKE_ERR_ARG, "%s: label %d of row %zu output %zu is not 1, 0 or "
                            "-1 (unknown)", op, (int)labels[i], i / M, i % M);
        *count += labels[i] >= 0;
    }
    return FKE_OK;
}

fke_status fke_bce_forward(fke_err *e, const fke_tensor *logits, const int32_t *labels,
                           const fke_real *pos_weight, double *loss, long *count)
{
    long cnt;
    FKE_TRY(bce_check(e, "bce", logits, labels, pos_weight, &cnt));
    int N = logits->shape[0], M = logits->shape[1];
    double s = 0;
    for (int i = 0; i < N; i++)
        for (int k = 0; k < M; k++) {
            size_t o = (size_t)i * M + k;
            if (labels[o] < 0) continue;
            double z = logits->data[o], pw = pos_weight ? (double)pos_weight[k] : 1.0;
            s += labels[o] ? pw * softplus(-z) : softplus(z);
        }
    if (loss) *loss = cnt ? s / (double)cnt : 0;
    if (count) *count = cnt;
    if (cnt && !isfinite(s)) return fke_fail(e, FKE_ERR_NUMERIC, "bce: the loss is not finite (%g)", s);
    return FKE_OK;
}

fke_status fke_bce_backward(fke_err *e, const fke_tensor *logits, const int32_t *labels,
                            const fke_real *pos_weight, double scale, fke_tensor *dlogits)
{
    long cnt;
    FKE_TRY(bce_check(e, "bce backward", logits, labels, pos_weight, &cnt));
    int N = logits->shape[0], M = logits->shape[1];
    FKE_EXPECT(e, "bce backward", "dlogits", dlogits, N, M);
    if (!cnt) return FKE_OK;
    double f = scale / (double)cnt;
    for (int i = 0; i < N; i++)
        for (int k = 0; k < M; k++) {
            size_t o = (size_t)i * M + k;
            if (labels[o] < 0) continue;
            double p = sigmoid(logits->data[o]), pw = pos_weight ? (double)pos_weight[k] : 1.0;
            dlogits->data[o] += (fke_real)(f * (labels[o] ? pw * (p - 1) : p));
        }
    return FKE_OK;
}
