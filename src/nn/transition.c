/* transition.c - see transition.h. The per-row log-partition of Θ is
 * recomputed where needed instead of being stored: n is small (<= 10 in
 * docs/model.md), and this keeps the op free of scratch memory. */
#include "nn/transition.h"

#include <math.h>

#include "nn/loss.h" /* fke_logsumexp, fke_loss_rows */

/* The loss's checks (fke_loss_rows) and theta's shape (n, n). */
static fke_status check(fke_err *e, const char *op, const fke_tensor *logits,
                        const fke_tensor *theta, const int32_t *labels, const uint8_t *sel,
                        int *count)
{
    FKE_TRY(fke_loss_rows(e, op, logits, labels, sel, count));
    int n = logits->shape[1];
    FKE_EXPECT(e, op, "theta", theta, n, n);
    return FKE_OK;
}

/* log T[j, y] = Θ[j, y] - logsumexp(Θ[j, :]) */
static double log_T(const fke_tensor *theta, int n, int j, int y)
{
    const fke_real *r = theta->data + (size_t)j * n;
    return (double)r[y] - fke_logsumexp(r, n);
}

/* q_j = log_softmax(z)_j + log T[j, y]; returns logsumexp_j q_j (one pass) */
static double lse_q(const fke_real *z, double lse_z, const fke_tensor *theta, int n, int y)
{
    double m = -INFINITY, s = 0;
    for (int j = 0; j < n; j++) {
        double q = (double)z[j] - lse_z + log_T(theta, n, j, y);
        if (q > m) {
            s = s * exp(m - q) + 1;
            m = q;
        } else {
            s += exp(q - m);
        }
    }
    return m + log(s);
}

fke_status fke_transition_init(fke_err *e, const fke_tensor *T_est, double eps,
                               fke_tensor *theta)
{
    FKE_EXPECT(e, "transition init", "T_est", T_est, -1, T_est ? T_est->shape[0] : -1);
    int n = T_est->shape[0];
    FKE_EXPECT(e, "transition init", "theta", theta, n, n);
    if (!(eps > 0) || !isfinite(eps))
        return fke_fail(e, FKE_ERR_ARG, "transition init: eps is %g, expected > 0", eps);
    for (int i = 0; i < n * n; i++)
        if (!(T_est->data[i] >= 0) || !isfinite(T_est->data[i]))
            return fke_fail(e, FKE_ERR_ARG,
                            "transition init: T_est[%d][%d] is %g, expected a finite value >= 0",
                            i / n, i % n, (double)T_est->data[i]);
    for (int i = 0; i < n * n; i++) theta->data[i] = (fke_real)log((double)T_est->data[i] + eps);
    return FKE_OK;
}

fke_status fke_transition_matrix(fke_err *e, const fke_tensor *theta, fke_tensor *T)
{
    FKE_EXPECT(e, "transition matrix", "theta", theta, -1, theta ? theta->shape[0] : -1);
    int n = theta->shape[0];
    FKE_EXPECT(e, "transition matrix", "T", T, n, n);
    for (int j = 0; j < n; j++) {
        double lse = fke_logsumexp(theta->data + (size_t)j * n, n);
        for (int m = 0; m < n; m++)
            T->data[(size_t)j * n + m] = (fke_real)exp((double)theta->data[(size_t)j * n + m] - lse);
    }
    return FKE_OK;
}

fke_status fke_transition_forward(fke_err *e, const fke_tensor *logits,
                                  const fke_tensor *theta, const int32_t *labels,
                                  const uint8_t *sel, double *loss, int *count)
{
    int cnt;
    FKE_TRY(check(e, "forward_xent", logits, theta, labels, sel, &cnt));
    int N = logits->shape[0], n = logits->shape[1];
    double s = 0;
    for (int i = 0; i < N; i++) {
        if (labels[i] < 0 || (sel && !sel[i])) continue;
        const fke_real *z = logits->data + (size_t)i * n;
        s -= lse_q(z, fke_logsumexp(z, n), theta, n, labels[i]);
    }
    return fke_loss_mean(e, "forward_xent", s, cnt, loss, count);
}

fke_status fke_transition_backward(fke_err *e, const fke_tensor *logits,
                                   const fke_tensor *theta, const int32_t *labels,
                                   const uint8_t *sel, double scale, fke_tensor *dlogits,
                                   fke_tensor *dtheta)
{
    const char *op = "forward_xent backward";
    int cnt;
    FKE_TRY(check(e, op, logits, theta, labels, sel, &cnt));
    int N = logits->shape[0], n = logits->shape[1];
    if (dlogits) FKE_EXPECT(e, op, "dlogits", dlogits, N, n);
    if (dtheta) FKE_EXPECT(e, op, "dtheta", dtheta, n, n);
    if (!cnt) return FKE_OK;
    double f = scale / cnt;
    for (int i = 0; i < N; i++) {
        int y = labels[i];
        if (y < 0 || (sel && !sel[i])) continue;
        const fke_real *z = logits->data + (size_t)i * n;
        double lse_z = fke_logsumexp(z, n), lq = lse_q(z, lse_z, theta, n, y);
        for (int j = 0; j < n; j++) {
            const fke_real *th = theta->data + (size_t)j * n;
            double lse_t = fke_logsumexp(th, n);
            double lp = (double)z[j] - lse_z;
            double pi = exp(lp + (double)th[y] - lse_t - lq);
            if (dlogits) dlogits->data[(size_t)i * n + j] += (fke_real)(f * (exp(lp) - pi));
            if (dtheta) {
                fke_real *dth = dtheta->data + (size_t)j * n;
                for (int m = 0; m < n; m++)
                    dth[m] += (fke_real)(f * pi * (exp((double)th[m] - lse_t) - (m == y)));
            }
        }
    }
    return FKE_OK;
}
