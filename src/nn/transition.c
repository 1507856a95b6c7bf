/* transition.c - see transition.h. The per-row log-partitions of Θ (and, in
 * the backward, T itself) are computed once per call into arrays on the
 * stack for up to TR_STACK classes, and recomputed where needed above that,
 * which keeps the op free of scratch memory: the same double expressions
 * either way, so the same bits. */
#include "nn/transition.h"

#include <math.h>

#include "nn/loss.h" /* fke_logsumexp, fke_loss_rows */

#define TR_STACK 32 /* classes up to which Θ's row terms are computed once per call */

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

/* logsumexp(Θ[j, :]): from lse_t (n of them) when given */
static double lse_row(const fke_tensor *theta, const double *lse_t, int n, int j)
{
    return lse_t ? lse_t[j] : fke_logsumexp(theta->data + (size_t)j * n, n);
}

/* Fills lse_t[j] = logsumexp(Θ[j, :]) when n <= TR_STACK; returns it, or NULL. */
static const double *lse_rows(const fke_tensor *theta, int n, double lse_t[TR_STACK])
{
    if (n > TR_STACK) return NULL;
    for (int j = 0; j < n; j++) lse_t[j] = fke_logsumexp(theta->data + (size_t)j * n, n);
    return lse_t;
}

/* log T[j, y] = Θ[j, y] - logsumexp(Θ[j, :]) */
static double log_T(const fke_tensor *theta, const double *lse_t, int n, int j, int y)
{
    return (double)theta->data[(size_t)j * n + y] - lse_row(theta, lse_t, n, j);
}

/* q_j = log_softmax(z)_j + log T[j, y]; returns logsumexp_j q_j (one pass) */
static double lse_q(const fke_real *z, double lse_z, const fke_tensor *theta,
                    const double *lse_t, int n, int y)
{
    double m = -INFINITY, s = 0;
    for (int j = 0; j < n; j++) {
        double q = (double)z[j] - lse_z + log_T(theta, lse_t, n, j, y);
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
    double s = 0, lt[TR_STACK];
    const double *lse_t = cnt ? lse_rows(theta, n, lt) : NULL;
    for (int i = 0; i < N; i++) {
        if (labels[i] < 0 || (sel && !sel[i])) continue;
        const fke_real *z = logits->data + (size_t)i * n;
        s -= lse_q(z, fke_logsumexp(z, n), theta, lse_t, n, labels[i]);
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
    double f = scale / cnt, lt[TR_STACK], Tm[TR_STACK * TR_STACK];
    const double *lse_t = lse_rows(theta, n, lt);
    if (lse_t) /* T[j, m] = exp(Θ[j, m] - logsumexp(Θ[j, :])) */
        for (int j = 0; j < n; j++)
            for (int m = 0; m < n; m++)
                Tm[j * n + m] = exp((double)theta->data[(size_t)j * n + m] - lse_t[j]);
    for (int i = 0; i < N; i++) {
        int y = labels[i];
        if (y < 0 || (sel && !sel[i])) continue;
        const fke_real *z = logits->data + (size_t)i * n;
        double lse_z = fke_logsumexp(z, n), lq = lse_q(z, lse_z, theta, lse_t, n, y);
        for (int j = 0; j < n; j++) {
            const fke_real *th = theta->data + (size_t)j * n;
            double lse_j = lse_row(theta, lse_t, n, j);
            double lp = (double)z[j] - lse_z;
            double pi = exp(lp + (double)th[y] - lse_j - lq);
            if (dlogits) dlogits->data[(size_t)i * n + j] += (fke_real)(f * (exp(lp) - pi));
            if (dtheta) {
                fke_real *dth = dtheta->data + (size_t)j * n;
                for (int m = 0; m < n; m++) {
                    double Tjm = lse_t ? Tm[j * n + m] : exp((double)th[m] - lse_j);
                    dth[m] += (fke_real)(f * pi * (Tjm - (m == y)));
                }
            }
        }
    }
    return FKE_OK;
}
