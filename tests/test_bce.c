/* test_bce.c - the masked multi-label BCE (nn/bce.h) against PyTorch's
 * binary_cross_entropy_with_logits (tests/ref/bce.h5, written by
 * tools/torch_bce_ref.py: without and with pos_weight, and with logits up
 * to +-40), a case worked by hand, and the errors. Loss and gradient must
 * agree with PyTorch within a relative 1e-6 (float32 logits, double sums). */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/bce.h"
#include "test.h"

#define TOL 1e-6

static void *read_ds(hid_t f, const char *name, hid_t mem, size_t elem, size_t *n)
{
    if (H5Lexists(f, name, H5P_DEFAULT) <= 0) return NULL;
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    hid_t s = H5Dget_space(d);
    hssize_t cnt = H5Sget_simple_extent_npoints(s);
    void *buf = malloc((size_t)(cnt > 0 ? cnt : 1) * elem);
    if (H5Dread(d, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        free(buf);
        buf = NULL;
    }
    H5Sclose(s);
    H5Dclose(d);
    *n = (size_t)cnt;
    return buf;
}

static void torch_case(hid_t f, const char *name)
{
    char p[5][64];
    const char *part[5] = {"logits", "labels", "pos_weight", "loss", "grad"};
    for (int i = 0; i < 5; i++) snprintf(p[i], sizeof p[i], "%s/%s", name, part[i]);
    size_t nz, ny, nw, nl, ng;
    float *z = read_ds(f, p[0], H5T_NATIVE_FLOAT, 4, &nz);
    int32_t *y = read_ds(f, p[1], H5T_NATIVE_INT32, 4, &ny);
    float *pw = read_ds(f, p[2], H5T_NATIVE_FLOAT, 4, &nw);
    double *lref = read_ds(f, p[3], H5T_NATIVE_DOUBLE, 8, &nl);
    double *gref = read_ds(f, p[4], H5T_NATIVE_DOUBLE, 8, &ng);
    FKE_CHECK(z && y && pw && lref && gref && nz == ny && nz == ng && nw > 0 && nz % nw == 0,
              "%s: reference arrays missing or of mismatched sizes", name);
    if (z && y && pw && lref && gref && nz == ny && nz == ng && nw > 0 && nz % nw == 0) {
        int M = (int)nw, N = (int)(nz / nw);
        float *dz = calloc(nz, sizeof *dz);
        fke_tensor zt = fke_tensor_view(z, 2, N, M), dt = fke_tensor_view(dz, 2, N, M);
        fke_err e = {{0}};
        double loss = NAN;
        long cnt = 0;
        FKE_CHECK(fke_bce_forward(&e, &zt, y, pw, &loss, &cnt) == FKE_OK, "%s: %s", name, e.msg);
        FKE_CHECK(fke_bce_backward(&e, &zt, y, pw, 1.0, &dt) == FKE_OK, "%s: %s", name, e.msg);
        double lerr = fabs(loss - lref[0]) / fabs(lref[0]), md = 0, mr = 0;
        for (size_t i = 0; i < nz; i++) {
            if (fabs(dz[i] - gref[i]) > md) md = fabs(dz[i] - gref[i]);
            if (fabs(gref[i]) > mr) mr = fabs(gref[i]);
        }
        long known = 0;
        for (size_t i = 0; i < ny; i++) known += y[i] >= 0;
        FKE_CHECK(cnt == known && known < (long)nz, "%s: %ld known labels counted, %ld in the file "
                  "of %zu", name, cnt, known, nz);
        FKE_CHECK(lerr <= TOL, "%s: loss %.9f, PyTorch %.9f (rel err %.2e)", name, loss, lref[0], lerr);
        FKE_CHECK(md / mr <= TOL, "%s: gradient rel err %.2e", name, md / mr);
        printf("  %-11s N=%d M=%d  loss rel err %.2e  gradient rel err %.2e\n", name, N, M, lerr,
               md / mr);
        free(dz);
    }
    free(z), free(y), free(pw), free(lref), free(gref);
}

/* Worked by hand: z = [0, ln 3 | 2, -1], y = [1, -1 | 0, 1], pw = [2, 0.5].
 * Known: (0,0) y=1 pw 2: 2 log 2; (1,0) y=0: log(1 + e^2); (1,1) y=1 pw
 * 0.5: 0.5 log(1 + e). Gradients (times 1/3): 2 (1/2 - 1) = -1;
 * sigmoid(2); 0.5 (sigmoid(-1) - 1); the unknown entry 0. */
static void by_hand(void)
{
    float z[4] = {0.f, (float)log(3.0), 2.f, -1.f}, dz[4] = {0}, pw[2] = {2.f, 0.5f};
    int32_t y[4] = {1, -1, 0, 1};
    fke_tensor zt = fke_tensor_view(z, 2, 2, 2), dt = fke_tensor_view(dz, 2, 2, 2);
    fke_err e = {{0}};
    double loss;
    long cnt;
    FKE_CHECK(fke_bce_forward(&e, &zt, y, pw, &loss, &cnt) == FKE_OK, "%s", e.msg);
    double want = (2 * log(2.0) + log(1 + exp(2.0)) + 0.5 * log(1 + exp(1.0))) / 3;
    FKE_CHECK(cnt == 3 && fabs(loss - want) < 1e-6, "loss %.9f (want %.9f), count %ld", loss, want, cnt);
    FKE_CHECK(fke_bce_backward(&e, &zt, y, pw, 3.0, &dt) == FKE_OK, "%s", e.msg);
    double sg2 = 1 / (1 + exp(-2.0)), sgm1 = 1 / (1 + exp(1.0));
    FKE_CHECK(fabs(dz[0] + 1) < 1e-6 && dz[1] == 0 && fabs(dz[2] - sg2) < 1e-6 &&
                  fabs(dz[3] - 0.5 * (sgm1 - 1)) < 1e-6,
              "gradient %g %g %g %g", dz[0], dz[1], dz[2], dz[3]);
    /* every label unknown: loss 0, count 0, no gradient */
    int32_t none[4] = {-1, -1, -1, -1};
    FKE_CHECK(fke_bce_forward(&e, &zt, none, NULL, &loss, &cnt) == FKE_OK && loss == 0 && cnt == 0,
              "all unknown: loss %g count %ld", loss, cnt);
    /* errors: a label 2, a negative weight */
    int32_t bad[4] = {1, 2, 0, 0};
    FKE_CHECK(fke_bce_forward(&e, &zt, bad, NULL, &loss, NULL) == FKE_ERR_ARG &&
                  strstr(e.msg, "label 2 of row 0 output 1"),
              "label 2: %s", e.msg);
    float negw[2] = {1.f, -1.f};
    FKE_CHECK(fke_bce_backward(&e, &zt, y, negw, 1, &dt) == FKE_ERR_ARG && strstr(e.msg, "pos_weight[1]"),
              "negative weight: %s", e.msg);
}

int main(void)
{
    by_hand();
    hid_t f = H5Fopen("tests/ref/bce.h5", H5F_ACC_RDONLY, H5P_DEFAULT);
    FKE_CHECK(f >= 0, "cannot open tests/ref/bce.h5 (tools/torch_bce_ref.py writes it)");
    if (f >= 0) {
        torch_case(f, "plain");
        torch_case(f, "pos_weight");
        torch_case(f, "large");
        H5Fclose(f);
    }
    return fke_test_summary("bce");
}
