/* ckpt_diff.c - tests/test_mpi.sh's comparison of two checkpoints of the same
 * model, tensor by tensor (values, then the optimiser's momentum and Adam
 * moments when both files have them):
 *
 *   ckpt_diff A.h5 B.h5 RTOL      the relative difference of each tensor's values
 *                                 (weights and buffers), ||a - b||_2 / ||b||_2
 *                                 (||a - b||_2 / 1e-12 when b is 0); exit 0 when
 *                                 every tensor is within RTOL
 *   ckpt_diff A.h5 B.h5 0         exit 0 only when every value, the optimiser
 *                                 state's included, is equal bit for bit
 *
 * It prints one line per tensor over RTOL (and the worst one), so a failed
 * test says which tensor differs and by how much. Exit 1: a difference; 2: a
 * file that does not load. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_io.h"

static int load(fke_model *m, const char *path)
{
    fke_err e = {{0}};
    fke_ckpt_meta meta;
    if (fke_model_load(m, path, 1, &meta, &e) != FKE_OK) {
        fprintf(stderr, "ckpt_diff: %s\n", e.msg);
        return 0;
    }
    free(meta.config_json);
    return 1;
}

/* the block of tensor values (0), momentum (1) or second moment (2) */
static const fke_real *block(const fke_params *P, int k)
{
    return k == 0 ? P->w : k == 1 ? P->m : P->v;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: ckpt_diff A.h5 B.h5 RTOL\n");
        return 2;
    }
    double rtol = atof(argv[3]);
    fke_model a, b;
    if (!load(&a, argv[1])) return 2;
    if (!load(&b, argv[2])) return 2;
    if (a.P.n != b.P.n || a.P.total != b.P.total) {
        fprintf(stderr, "ckpt_diff: %s and %s hold different models (%d and %d tensors)\n",
                argv[1], argv[2], a.P.n, b.P.n);
        return 2;
    }
    static const char *const what[3] = {"", " (momentum)", " (second moment)"};
    int bad = 0;
    double worst = 0;
    char worst_name[96] = "";
    int compared = 0;
    for (int k = 0; k < (rtol > 0 ? 1 : 3); k++) {
        const fke_real *x = block(&a.P, k), *y = block(&b.P, k);
        if (!x || !y) continue;
        for (int i = 0; i < a.P.n; i++) {
            const fke_param_info *in = &a.P.info[i];
            double dmax = 0, d2 = 0, y2 = 0;
            int differ = 0;
            for (size_t j = 0; j < in->numel; j++) {
                double u = x[in->offset + j], v = y[in->offset + j];
                differ |= memcmp(&x[in->offset + j], &y[in->offset + j], sizeof(fke_real)) != 0;
                double d = isnan(u - v) ? INFINITY : fabs(u - v);
                if (d > dmax) dmax = d;
                d2 += d * d;
                y2 += v * v;
            }
            compared++;
            double rel = sqrt(d2) / (y2 > 0 ? sqrt(y2) : 1e-12);
            if (rel > worst) {
                worst = rel;
                snprintf(worst_name, sizeof worst_name, "%s%s", in->name, what[k]);
            }
            if (rtol > 0 ? rel > rtol : differ) {
                printf("  %s%s: max |a - b| %.3g, relative %.3g\n", in->name, what[k], dmax, rel);
                bad++;
            }
        }
    }
    printf("ckpt_diff: %d tensors compared%s, %d over %s; largest relative difference %.3g (%s)\n",
           compared, rtol > 0 ? "" : " (values and optimiser state)", bad,
           rtol > 0 ? argv[3] : "0 (bit for bit)", worst, worst_name[0] ? worst_name : "-");
    fke_model_free(&a);
    fke_model_free(&b);
    return bad ? 1 : 0;
}
