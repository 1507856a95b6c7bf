/* loss.c - see loss.h. */
#include "nn/loss.h"

#include <math.h>

double fke_logsumexp(const fke_real *z, int n)
{
    double m = z[0];
    for (int j = 1; j < n; j++)
        if (z[j] > m) m = z[j];
    double s = 0;
    for (int j = 0; j < n; j++) s += exp((double)z[j] - m);
    return m + log(s);
}

fke_status fke_loss_mean(fke_err *e, const char *op, double s, int cnt, double *loss,
                         int *count)
{
    if (loss) *loss = cnt ? s / cnt : 0;
    if (count) *count = cnt;
    if (cnt && !isfinite(s))
        return fke_fail(e, FKE_ERR_NUMERIC, "%s: the loss is not finite (%g)", op, s);
    return FKE_OK;
}

fke_status fke_loss_rows(fke_err *e, const char *op, const fke_tensor *logits,
                         const int32_t *labels, const uint8_t *sel, int *count)
{
    FKE_EXPECT(e, op, "logits", logits, -1, -1);
    int N = logits->shape[0], C = logits->shape[1];
    if (!labels) return fke_fail(e, FKE_ERR_ARG, "%s: labels is a null array", op);
    *count = 0;
    for (int i = 0; i < N; i++) {
        if (labels[i] >= C)
            return fke_fail(e, FKE_ERR_ARG, "%s: label %d of row %d is outside 0..%d "
                            "(negative = missing)", op, (int)labels[i], i, C - 1);
        if (labels[i] >= 0 && (!sel || sel[i])) (*count)++;
    }
    return FKE_OK;
}

fke_status fke_softmax_xent_forward(fke_err *e, const fke_tensor *logits,
                                    const int32_t *labels, const uint8_t *sel, double *loss,
                                    int *count)
{
    int cnt;
    FKE_TRY(fke_loss_rows(e, "softmax_xent", logits, labels, sel, &cnt));
    int N = logits->shape[0], C = logits->shape[1];
    double s = 0;
    for (int i = 0; i < N; i++) {
        if (labels[i] < 0 || (sel && !sel[i])) continue;
        const fke_real *z = logits->data + (size_t)i * C;
        s += fke_logsumexp(z, C) - (double)z[labels[i]];
    }
    return fke_loss_mean(e, "softmax_xent", s, cnt, loss, count);
}

fke_status fke_softmax_xent_backward(fke_err *e, const fke_tensor *logits,
                                     const int32_t *labels, const uint8_t *sel, double scale,
                                     fke_tensor *dlogits)
{
    int cnt;
    FKE_TRY(fke_loss_rows(e, "softmax_xent backward", logits, labels, sel, &cnt));
    int N = logits->shape[0], C = logits->shape[1];
    FKE_EXPECT(e, "softmax_xent backward", "dlogits", dlogits, N, C);
    if (!cnt) return FKE_OK;
    double f = scale / cnt;
    for (int i = 0; i < N; i++) {
        if (labels[i] < 0 || (sel && !sel[i])) continue;
        const fke_real *z = logits->data + (size_t)i * C;
        fke_real *dz = dlogits->data + (size_t)i * C;
        double lse = fke_logsumexp(z, C);
        for (int j = 0; j < C; j++)
            dz[j] += (fke_real)(f * (exp((double)z[j] - lse) - (j == labels[i])));
    }
    return FKE_OK;
}

fke_status fke_softmax_forward(fke_err *e, const fke_tensor *logits, fke_tensor *probs)
{
    FKE_EXPECT(e, "softmax", "logits", logits, -1, -1);
    int N = logits->shape[0], C = logits->shape[1];
    FKE_EXPECT(e, "softmax", "probs", probs, N, C);
    for (int i = 0; i < N; i++) {
        const fke_real *z = logits->data + (size_t)i * C;
        fke_real *p = probs->data + (size_t)i * C;
        double lse = fke_logsumexp(z, C);
        for (int j = 0; j < C; j++) p[j] = (fke_real)exp((double)z[j] - lse);
    }
    return FKE_OK;
}
