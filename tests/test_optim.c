/* test_optim.c - the parameter table (params.c) and the optimisers
 * (optim.c): SGD with momentum and weight decay against an independent loop
 * written from the torch.optim.SGD documentation, per-group learning rates,
 * Adam against its formula and on a quadratic, the step schedule, gradient
 * clipping and the NaN/Inf check. */
#include "nn/optim.h"
#include "nn/params.h"
#include "test.h"

#include <math.h>
#include <string.h>

static double relerr(double a, double b) { return fabs(a - b) / fmax(fabs(b), 1e-12); }

static void test_params(void)
{
    fke_err e;
    fke_params p;
    fke_params_init(&p);
    int a = fke_params_add(&p, &e, "a.weight", 1, 1, 1, 2, 3, 4);
    int b = fke_params_add(&p, &e, "a.bias", 0.5f, 0, 1, 1, 3);
    int c = fke_params_add(&p, &e, "bn.running_mean", 1, 0, 0, 1, 5);
    FKE_CHECK(a == 0 && b == 1 && c == 2, "indices %d %d %d", a, b, c);
    FKE_CHECK(fke_params_add(&p, &e, "a.bias", 1, 1, 1, 1, 2) == -1 && strstr(e.msg, "duplicate"),
              "duplicate name rejected: %s", e.msg);
    FKE_CHECK(fke_params_add(&p, &e, "bad", 1, 1, 1, 2, 3, 0) == -1 && strstr(e.msg, "bad"),
              "zero dimension rejected: %s", e.msg);
    FKE_CHECK(fke_params_add(&p, &e, "bad6", 1, 1, 1, 6, 1, 1, 1, 1, 1, 1) == -1,
              "6 dims rejected: %s", e.msg);
    FKE_CHECK(p.n == 3 && p.total == 12 + 3 + 5, "n %d total %zu", p.n, p.total);
    FKE_CHECK(p.info[1].offset == 12 && p.info[2].offset == 15, "offsets contiguous");
    FKE_CHECK(fke_params_finalize(&p, &e) == FKE_OK, "finalize: %s", e.msg);
    FKE_CHECK(fke_params_finalize(&p, &e) != FKE_OK, "second finalize rejected");
    FKE_CHECK(fke_params_add(&p, &e, "late", 1, 1, 1, 1, 2) == -1 && strstr(e.msg, "finalized"),
              "add after finalize rejected: %s", e.msg);
    int zero = 1;
    for (size_t i = 0; i < p.total; i++)
        if (p.w[i] != 0 || p.g[i] != 0 || p.m[i] != 0 || p.v[i] != 0) zero = 0;
    FKE_CHECK(zero, "blocks zeroed");
    FKE_CHECK(fke_params_find(&p, "a.bias") == 1 && fke_params_find(&p, "nope") == -1, "find");
    fke_tensor t = fke_params_value(&p, a), gt = fke_params_grad(&p, b);
    FKE_CHECK(t.data == p.w && t.ndim == 2 && t.shape[0] == 3 && t.shape[1] == 4, "value view");
    FKE_CHECK(gt.data == p.g + 12 && gt.ndim == 1 && gt.shape[0] == 3, "grad view");
    FKE_CHECK(fke_params_value(&p, 7).data == NULL && fke_params_value(&p, -1).data == NULL,
              "bad index gives a null view");
    p.g[3] = 2;
    fke_params_zero_grad(&p);
    FKE_CHECK(p.g[3] == 0, "zero_grad");
    fke_params_free(&p);
    FKE_CHECK(p.n == 0 && p.w == NULL, "free resets");
}

/* a: lr_mult 1, decay 1; b: lr_mult 0.5, decay 0; c: not trainable */
static void make3(fke_params *p, fke_err *e)
{
    fke_params_init(p);
    fke_params_add(p, e, "a", 1, 1, 1, 1, 3);
    fke_params_add(p, e, "b", 0.5f, 0, 1, 1, 2);
    fke_params_add(p, e, "c", 1, 1, 0, 1, 2);
    fke_params_finalize(p, e);
    for (size_t i = 0; i < p->total; i++) p->w[i] = (fke_real)(0.3 * i - 0.7);
}

static double grad_at(int step, size_t i) { return sin(1.0 + 0.7 * step + 1.3 * i); }

static void test_sgd(void)
{
    fke_err e;
    fke_params p;
    make3(&p, &e);
    fke_optim o = {.lr = 0.1, .momentum = 0.9, .weight_decay = 0.05};
    double w[7], buf[7], mult[7] = {1, 1, 1, 0.5, 0.5, 1, 1}, dec[7] = {1, 1, 1, 0, 0, 1, 1};
    for (int i = 0; i < 7; i++) w[i] = p.w[i];
    for (int s = 0; s < 3; s++) {
        for (size_t i = 0; i < 7; i++) p.g[i] = (fke_real)grad_at(s, i);
        FKE_CHECK(fke_optim_sgd_step(&p, &o, &e) == FKE_OK, "sgd step: %s", e.msg);
        /* independent loop: torch.optim.SGD's documented update */
        for (int i = 0; i < 5; i++) {
            double d = grad_at(s, i) + o.weight_decay * dec[i] * w[i];
            buf[i] = s == 0 ? d : o.momentum * buf[i] + d;
            w[i] -= o.lr * mult[i] * buf[i];
        }
    }
    double worst = 0;
    for (int i = 0; i < 5; i++) worst = fmax(worst, relerr(p.w[i], w[i]));
    FKE_CHECK(worst < 1e-5, "sgd after 3 steps: max rel err %g", worst);
    FKE_CHECK(p.w[5] == w[5] && p.w[6] == w[6], "non-trainable entry untouched");
    FKE_CHECK(p.step == 3, "step count %ld", p.step);
    FKE_CHECK(p.g[0] == (fke_real)grad_at(2, 0), "gradients not modified");

    /* lr multipliers: same w and g, no momentum, no decay: b moves half as far */
    fke_params_free(&p);
    make3(&p, &e);
    for (size_t i = 0; i < p.total; i++) p.w[i] = 1, p.g[i] = 2;
    fke_optim plain = {.lr = 0.1};
    FKE_CHECK(fke_optim_sgd_step(&p, &plain, &e) == FKE_OK, "plain sgd: %s", e.msg);
    FKE_CHECK(fabs((1 - p.w[0]) - 0.2) < 1e-6 && fabs((1 - p.w[3]) - 0.1) < 1e-6,
              "lr_mult honoured: a moved %g, b moved %g", 1 - p.w[0], 1 - p.w[3]);
    fke_optim bad = {.lr = 0.1, .momentum = 1.5};
    FKE_CHECK(fke_optim_sgd_step(&p, &bad, &e) == FKE_ERR_ARG && strstr(e.msg, "momentum"),
              "bad momentum rejected: %s", e.msg);
    fke_params_free(&p);
}

static void test_adam(void)
{
    fke_err e;
    fke_params p;
    make3(&p, &e);
    fke_optim o = {.lr = 0.01, .weight_decay = 0.1, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
    double w[7], m[7] = {0}, v[7] = {0}, mult[7] = {1, 1, 1, 0.5, 0.5}, dec[7] = {1, 1, 1, 0, 0};
    for (int i = 0; i < 7; i++) w[i] = p.w[i];
    for (int s = 0; s < 3; s++) {
        for (size_t i = 0; i < 7; i++) p.g[i] = (fke_real)grad_at(s, i);
        FKE_CHECK(fke_optim_adam_step(&p, &o, &e) == FKE_OK, "adam step: %s", e.msg);
        int t = s + 1;
        for (int i = 0; i < 5; i++) {
            double d = grad_at(s, i) + o.weight_decay * dec[i] * w[i];
            m[i] = o.beta1 * m[i] + (1 - o.beta1) * d;
            v[i] = o.beta2 * v[i] + (1 - o.beta2) * d * d;
            double mh = m[i] / (1 - pow(o.beta1, t)), vh = v[i] / (1 - pow(o.beta2, t));
            w[i] -= o.lr * mult[i] * mh / (sqrt(vh) + o.eps);
        }
    }
    double worst = 0;
    for (int i = 0; i < 5; i++) worst = fmax(worst, relerr(p.w[i], w[i]));
    FKE_CHECK(worst < 1e-5, "adam after 3 steps: max rel err %g", worst);
    FKE_CHECK(p.w[5] == w[5], "adam skips non-trainable");
    fke_params_free(&p);

    /* minimise f(w) = sum_i a_i (w_i - c_i)^2 with a stepped learning rate */
    fke_params_init(&p);
    fke_params_add(&p, &e, "q", 1, 1, 1, 1, 4);
    fke_params_finalize(&p, &e);
    const double a[4] = {1, 10, 100, 0.5}, c[4] = {1, -2, 0.5, 3};
    fke_optim q = {.beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
    for (int s = 0; s < 1500; s++) {
        q.lr = fke_optim_lr(0.1, 0.1, 500, s);
        for (int i = 0; i < 4; i++) p.g[i] = (fke_real)(2 * a[i] * (p.w[i] - c[i]));
        fke_optim_adam_step(&p, &q, &e);
    }
    double far = 0;
    for (int i = 0; i < 4; i++) far = fmax(far, fabs(p.w[i] - c[i]));
    FKE_CHECK(far < 1e-3, "adam reaches the quadratic's minimum: max |w - c| = %g", far);
    fke_params_free(&p);
}

static void test_schedule_clip_nan(void)
{
    FKE_CHECK(fke_optim_lr(0.01, 0.1, 4, 0) == 0.01 && fke_optim_lr(0.01, 0.1, 4, 3) == 0.01,
              "epochs 0..3 at base");
    FKE_CHECK(relerr(fke_optim_lr(0.01, 0.1, 4, 4), 1e-3) < 1e-12 &&
                  relerr(fke_optim_lr(0.01, 0.1, 4, 7), 1e-3) < 1e-12,
              "epochs 4..7 at base/10");
    FKE_CHECK(relerr(fke_optim_lr(0.01, 0.1, 4, 9), 1e-4) < 1e-12, "epoch 9: %g",
              fke_optim_lr(0.01, 0.1, 4, 9));
    FKE_CHECK(fke_optim_lr(0.5, 0.1, 0, 100) == 0.5, "no schedule");

    fke_err e;
    fke_params p;
    make3(&p, &e);
    memset(p.g, 0, p.total * sizeof(fke_real));
    p.g[0] = 3, p.g[3] = 4, p.g[5] = 100; /* p.g[5] is not trainable: not counted */
    double n = fke_optim_clip_grad(&p, 1.0);
    FKE_CHECK(fabs(n - 5) < 1e-6 && fabs(p.g[0] - 0.6) < 1e-5 && fabs(p.g[3] - 0.8) < 1e-5,
              "clip: norm %g -> %g %g", n, p.g[0], p.g[3]);
    FKE_CHECK(fke_optim_check_finite(&p, &e) == FKE_OK, "finite gradients pass");
    p.g[4] = NAN;
    FKE_CHECK(fke_optim_check_finite(&p, &e) == FKE_ERR_NUMERIC && strstr(e.msg, "of b ") &&
                  strstr(e.msg, "element 1"),
              "NaN found and named: %s", e.msg);
    p.g[4] = 0;
    p.g[1] = -INFINITY;
    FKE_CHECK(fke_optim_check_finite(&p, &e) == FKE_ERR_NUMERIC && strstr(e.msg, "of a "),
              "Inf found: %s", e.msg);
    fke_params_free(&p);
}

int main(void)
{
    test_params();
    test_sgd();
    test_adam();
    test_schedule_clip_nan();
    return fke_test_summary("optim");
}
