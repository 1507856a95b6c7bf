/* cmd_bench.c - `fke bench`: times the MODEL.md training step and inference
 * of a preset on random inputs, the way ../shared/bench/torch_fke.py times
 * PyTorch's, so the two can be run side by side
 * (experiments/bench_vs_torch.sh).
 *
 * A training step = forward (train), loss, zero grads, backward, finiteness
 * check, SGD update (lr 0.01, momentum 0.9, weight decay 1e-5, the per-tensor
 * multipliers of the parameter table). The batch: B = 20 posts, G = 5 with
 * every garment slot filled, the first B/2 posts clean and the rest
 * machine-labelled, pixels N(0, 1), tokens and labels uniform, from a seeded
 * fke_rng. Inference = forward with train = 0 on the same batch.
 *
 * FLOPs are counted as torch_fke.py counts them: 2 x the multiply-accumulates
 * of convolutions, linear layers and recurrent matmuls (both LSTM/GRU
 * matrices), forward only; a training step counts 3 x that. Batch-norm,
 * pooling, activations, embedding and losses are not counted. They are
 * computed from the config and the CNN's step program, not measured. */
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cblas.h>

#include "cli/cli.h"
#include "core/config.h"
#include "nn/conv2d.h"
#include "core/fke.h"
#include "model/model.h"
#include "nn/optim.h"
#include "nn/pool.h"

static const char *usage =
    "usage: fke bench --preset fke-small|fke-paper [--threads N] [--steps S] [--warmup W]\n"
    "                 [--cell lstm|gru] [--seed N] [--no-sgemm] [--json FILE] [--tag TEXT]\n"
    "  times S training steps (forward, loss, backward, SGD update) after W warm-up\n"
    "  steps, and S inference forwards, on a random batch of B=20 posts, G=5;\n"
    "  defaults: fke-small 30 steps / 5 warm-up, fke-paper 5 / 2; threads: all cores.\n"
    "  --json appends one JSON line with every number.\n";

static double now(void) { return omp_get_wtime(); }

static int bad_arg(const char *msg, const char *arg)
{
    fprintf(stderr, "fke bench: %s '%s' (fke bench --help)\n", msg, arg);
    return 2;
}

static int parse_int(const char *s, long lo, long hi, long *v)
{
    char *end;
    errno = 0;
    long x = strtol(s, &end, 10);
    if (errno || end == s || *end || x < lo || x > hi) return -1;
    *v = x;
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct {
    double median, min, max;
} stats;

static stats summarise(const double *t, int n)
{
    double *s = malloc((size_t)n * sizeof *s);
    stats r = {0, 0, 0};
    if (!s || n <= 0) {
        free(s);
        return r;
    }
    memcpy(s, t, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    r.median = n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
    r.min = s[0];
    r.max = s[n - 1];
    free(s);
    return r;
}

/* ---- the shared-machine guard (as torch_fke.py and sgemm.c) ------------- */
/* busy CPU seconds of the whole machine (all but idle and iowait) */
static double sys_busy(void)
{
    unsigned long long v[10] = {0};
    FILE *f = fopen("/proc/stat", "r");
    if (!f) return 0.0;
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
                   &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]);
    fclose(f);
    if (n < 8) return 0.0;
    return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / (double)sysconf(_SC_CLK_TCK);
}

static double self_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + 1e-6 * ru.ru_utime.tv_usec + ru.ru_stime.tv_sec +
           1e-6 * ru.ru_stime.tv_usec;
}

typedef struct {
    double busy0, cpu0, wall0;
} guard;

static guard guard_start(void) { return (guard){sys_busy(), self_cpu(), now()}; }

/* cores used by other processes since g started */
static double guard_other(const guard *g)
{
    double wall = now() - g->wall0;
    double other = (sys_busy() - g->busy0) - (self_cpu() - g->cpu0);
    return wall > 0 && other > 0 ? other / wall : 0.0;
}

/* ---- FLOPs (forward, 2 x MACs) ----------------------------------------- */
/* The CNN's convolutions on one S x S image, walking its step program. */
static double cnn_flops_per_image(const fke_model *m, int S)
{
    const fke_cnn *c = &m->cnn;
    int side[FKE_CNN_MAXSLOT] = {0};
    side[0] = S;
    double f = 0;
    for (int i = 0; i < c->nstep; i++) {
        const fke_cnn_step *s = &c->step[i];
        int H = side[s->in];
        if (s->op == FKE_CNN_CONVBN) {
            const fke_param_info *w = &m->P.info[s->conv]; /* (O, C, k, k) */
            int Ho = fke_conv2d_out_size(H, s->k, s->stride, s->pad);
            f += 2.0 * w->shape[0] * (double)Ho * Ho * w->shape[1] * s->k * s->k;
            side[s->out] = Ho;
        } else if (s->op == FKE_CNN_MAXPOOL) {
            side[s->out] = fke_maxpool2d_out_size(H + 2 * s->pad, s->k, s->stride);
        } else if (s->op == FKE_CNN_ADDRELU) {
            side[s->out] = H;
        } else {
            side[s->out] = 1;
        }
    }
    return f;
}

static double lin(double rows, double in, double out) { return 2.0 * rows * in * out; }

/* Everything but the CNN, for B posts with Nv garments (torch_fke.py's "other"). */
static double other_flops(const fke_config *c, int B, int Nv)
{
    double f = 0, gates = c->cell == FKE_CELL_LSTM ? 4 : 3;
    int A = c->n_attr;
    if (c->F != c->H) f += lin(B, c->F, c->H); /* W0 */
    /* Bi-LSTM-1 over B*G steps (all slots filled), Bi-LSTM-2 over Nv*(A+1) */
    f += 2 * (double)B * c->G * 2 * gates * c->H * (c->F + c->H);
    f += 2 * (double)Nv * (A + 1) * 2 * gates * c->H2 * (c->M + c->H2);
    /* TextCNN: conv1d widths 2..5 over L tokens, then fc (4 Co -> T) */
    for (int w = 2; w <= 5; w++) f += 2.0 * B * c->Co * (c->L - w + 1) * c->D * w;
    f += lin(B, 4.0 * c->Co, c->T);
    /* occasion head */
    f += lin(B, 2.0 * c->H + c->F + c->T, c->M) + lin(B, c->M, c->M) + lin(B, c->M, c->n_occ);
    /* category: Wcat, then linear(M, M), linear(M, n_cat) */
    f += lin(Nv, 2.0 * c->H, c->M) + lin(Nv, c->M, c->M) + lin(Nv, c->M, c->n_cat);
    /* attributes: W_k, and the heads linear(2 H2, M), linear(M, n_val) */
    for (int k = 0; k < A; k++)
        f += lin(Nv, 2.0 * c->H, c->M) + lin(Nv, 2.0 * c->H2, c->M) + lin(Nv, c->M, c->n_val[k]);
    return f;
}

/* ---- the random batch --------------------------------------------------- */
typedef struct {
    fke_batch b;
    void *blocks[12];
} bench_batch;

static void batch_free(bench_batch *bb)
{
    for (int i = 0; i < 12; i++) free(bb->blocks[i]);
    memset(bb, 0, sizeof *bb);
}

static int batch_make(bench_batch *bb, const fke_config *c, int B, uint64_t seed)
{
    fke_batch *b = &bb->b;
    int G = c->G, A = c->n_attr, C = c->in_ch;
    memset(bb, 0, sizeof *bb);
    b->B = B, b->G = G, b->A = A, b->L = c->L, b->img = c->img, b->crop = c->crop;
    size_t nimg = (size_t)B * C * c->img * c->img, ncrop = (size_t)B * G * C * c->crop * c->crop;
    void **k = bb->blocks;
    b->img_x = k[0] = malloc(nimg * sizeof(float));
    b->crop_x = k[1] = malloc(ncrop * sizeof(float));
    b->n_garments = k[2] = malloc((size_t)B * sizeof(int32_t));
    b->tokens = k[3] = malloc((size_t)B * c->L * sizeof(int32_t));
    b->occ = k[4] = malloc((size_t)B * sizeof(int32_t));
    b->cat = k[5] = malloc((size_t)B * G * sizeof(int32_t));
    b->attr = k[6] = malloc((size_t)B * G * (A > 0 ? A : 1) * sizeof(int32_t));
    b->clean = k[7] = malloc((size_t)B);
    b->index = k[8] = malloc((size_t)B * sizeof(int32_t));
    b->boxes = k[9] = calloc((size_t)B * G * 4, sizeof(int32_t));
    b->person = k[10] = calloc((size_t)B * G * 2, sizeof(int32_t));
    for (int i = 0; i < 11; i++)
        if (!k[i]) return -1;
    fke_rng r;
    fke_rng_seed(&r, seed);
    for (size_t i = 0; i < nimg; i++) b->img_x[i] = (float)fke_rng_normal(&r);
    for (size_t i = 0; i < ncrop; i++) b->crop_x[i] = (float)fke_rng_normal(&r);
    for (int i = 0; i < B; i++) {
        b->n_garments[i] = G; /* every garment slot filled */
        b->occ[i] = (int32_t)fke_rng_below(&r, (uint32_t)c->n_occ);
        b->clean[i] = i < B / 2; /* B/2 clean, B - B/2 machine-labelled */
        b->index[i] = i;
        for (int t = 0; t < c->L; t++)
            b->tokens[i * c->L + t] = 1 + (int32_t)fke_rng_below(&r, (uint32_t)(c->V - 1));
        for (int g = 0; g < G; g++) {
            b->cat[i * G + g] = (int32_t)fke_rng_below(&r, (uint32_t)c->n_cat);
            for (int a = 0; a < A; a++)
                b->attr[((size_t)i * G + g) * A + a] =
                    (int32_t)fke_rng_below(&r, (uint32_t)c->n_val[a]);
        }
    }
    return 0;
}

/* ---- sgemm probe -------------------------------------------------------- */
/* Median GFLOP/s of C = A B (row-major, M x K times K x N) with OpenBLAS at
 * `threads` threads; one warm-up call, then >= 5 calls and >= 0.3 s. */
static double sgemm_gflops(int M, int N, int K, int threads)
{
    float *A = malloc((size_t)M * K * sizeof(float));
    float *Bm = malloc((size_t)K * N * sizeof(float));
    float *Cm = malloc((size_t)M * N * sizeof(float));
    double t[256];
    int n = 0;
    if (!A || !Bm || !Cm) {
        free(A), free(Bm), free(Cm);
        return 0;
    }
    for (size_t i = 0; i < (size_t)M * K; i++) A[i] = (float)((i * 7919 % 1000) / 1000.0 - 0.5);
    for (size_t i = 0; i < (size_t)K * N; i++) Bm[i] = (float)((i * 104729 % 1000) / 1000.0 - 0.5);
    openblas_set_num_threads(threads);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, A, K, Bm, N, 0.0f, Cm, N);
    double total = 0;
    while (n < 256 && (n < 5 || total < 0.3)) {
        double t0 = now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, A, K, Bm, N, 0.0f,
                    Cm, N);
        t[n] = now() - t0;
        total += t[n++];
    }
    openblas_set_num_threads(1); /* fke: OpenMP owns the cores */
    stats s = summarise(t, n);
    free(A), free(Bm), free(Cm);
    return 2.0 * M * N * K / s.median * 1e-9;
}

/* ---- the command -------------------------------------------------------- */
int fke_cmd_bench(int argc, char **argv)
{
    const char *preset = NULL, *json = NULL, *tag = "", *cell = "lstm";
    long threads = 0, steps = -1, warm = -1, seed = 0;
    int do_sgemm = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            return 0;
        } else if (!strcmp(a, "--preset") && i + 1 < argc) preset = argv[++i];
        else if (!strcmp(a, "--json") && i + 1 < argc) json = argv[++i];
        else if (!strcmp(a, "--tag") && i + 1 < argc) tag = argv[++i];
        else if (!strcmp(a, "--cell") && i + 1 < argc) cell = argv[++i];
        else if (!strcmp(a, "--no-sgemm")) do_sgemm = 0;
        else if (!strcmp(a, "--threads") && i + 1 < argc) {
            if (parse_int(argv[++i], 0, 4096, &threads)) return bad_arg("bad --threads", argv[i]);
        } else if (!strcmp(a, "--steps") && i + 1 < argc) {
            if (parse_int(argv[++i], 1, 100000, &steps)) return bad_arg("bad --steps", argv[i]);
        } else if (!strcmp(a, "--warmup") && i + 1 < argc) {
            if (parse_int(argv[++i], 0, 100000, &warm)) return bad_arg("bad --warmup", argv[i]);
        } else if (!strcmp(a, "--seed") && i + 1 < argc) {
            if (parse_int(argv[++i], 0, 1L << 40, &seed)) return bad_arg("bad --seed", argv[i]);
        } else return bad_arg("unknown or incomplete option", a);
    }
    if (!preset) return bad_arg("missing option", "--preset");
    if (strcmp(cell, "lstm") && strcmp(cell, "gru")) return bad_arg("--cell must be lstm or gru, not", cell);
    int small = !strcmp(preset, "fke-small");
    if (steps < 0) steps = small ? 30 : 5;
    if (warm < 0) warm = small ? 5 : 2;

    fke_err e = {""};
    fke_config cfg;
    fke_config_defaults(&cfg);
    char set[64];
    fke_status st = fke_config_preset(&cfg, preset, &e);
    /* MODEL.md "training step": task fke, context all, text on, forward correction */
    const char *sets[] = {"task=fke", "context=all", "text=true", "correction=forward", "batch=20",
                          "optimizer=sgd", "lr=0.01", "momentum=0.9", "weight_decay=1e-5"};
    for (size_t i = 0; st == FKE_OK && i < sizeof sets / sizeof sets[0]; i++)
        st = fke_config_set(&cfg, sets[i], &e);
    snprintf(set, sizeof set, "cell=%s", cell);
    if (st == FKE_OK) st = fke_config_set(&cfg, set, &e);
    cfg.seed = (uint64_t)seed;
    cfg.threads = (int)threads;
    if (st == FKE_OK) st = fke_config_validate(&cfg, &e);
    if (st) {
        fprintf(stderr, "fke bench: %s\n", e.msg);
        return 2;
    }
    int nthr = fke_set_threads((int)threads);
    const char *coretype = getenv("OPENBLAS_CORETYPE");

    fke_model m;
    memset(&m, 0, sizeof m);
    bench_batch bb;
    double t_init = now();
    if (fke_model_init(&m, &cfg, &e) || fke_model_plan(&m, &e)) {
        fprintf(stderr, "fke bench: %s\n", e.msg);
        fke_model_free(&m);
        return 1;
    }
    t_init = now() - t_init;
    int B = cfg.batch, G = cfg.G;
    if (batch_make(&bb, &cfg, B, (uint64_t)seed + 1)) {
        fprintf(stderr, "fke bench: out of memory for the batch\n");
        batch_free(&bb);
        fke_model_free(&m);
        return 1;
    }
    const fke_batch *b = &bb.b;
    fke_optim opt = {.lr = cfg.lr, .momentum = cfg.momentum, .weight_decay = cfg.weight_decay};

    /* FLOPs, parameter counts */
    int Nv = B * G;
    double fl_cnn = B * cnn_flops_per_image(&m, cfg.img) + Nv * cnn_flops_per_image(&m, cfg.crop);
    double fl_other = other_flops(&cfg, B, Nv);
    size_t n_par = 0, n_cnn = 0;
    for (int i = 0; i < m.P.n; i++)
        if (m.P.info[i].trainable) {
            n_par += m.P.info[i].numel;
            if (!strncmp(m.P.info[i].name, "cnn.", 4)) n_cnn += m.P.info[i].numel;
        }

    printf("# fke bench  preset %s  cell %s  threads %d (OpenMP; OpenBLAS 1 per call)  "
           "OPENBLAS_CORETYPE=%s  OpenBLAS core %s\n",
           preset, cell, nthr, coretype ? coretype : "(unset)", openblas_get_corename());
    printf("# OpenBLAS config: %s\n", openblas_get_config());
    printf("# params (trainable) %zu  cnn %zu  rest %zu;  init + plan %.2f s\n", n_par, n_cnn,
           n_par - n_cnn, t_init);
    printf("# forward FLOPs per batch (B=%d, G=%d): cnn %.3f G (conv MACs x2), rest %.4f G\n", B,
           G, fl_cnn * 1e-9, fl_other * 1e-9);
    fflush(stdout);

    /* ---- training ---- */
    int S = (int)steps, W = (int)warm;
    double *tt = malloc((size_t)S * sizeof *tt), *ti = malloc((size_t)S * sizeof *ti);
    double t_zero = 0, t_upd = 0, loss0 = NAN, loss1 = NAN, loss = 0;
    double parts[FKE_PART_COUNT] = {0};
    guard gt = {0, 0, 0};
    if (!tt || !ti) {
        fprintf(stderr, "fke bench: out of memory\n");
        st = FKE_ERR_NOMEM;
        goto done;
    }
    for (int s = 0; s < W + S; s++) {
        if (s == W) {
            memset(m.time, 0, sizeof m.time);
            t_zero = t_upd = 0;
            gt = guard_start();
        }
        double t0 = now();
        if ((st = fke_model_forward(&m, b, 1, &e)) || (st = fke_model_loss(&m, b, &loss, &e)))
            goto done;
        double t1 = now();
        fke_params_zero_grad(&m.P);
        double t2 = now();
        if ((st = fke_model_backward(&m, b, &e))) goto done;
        double t3 = now();
        if ((st = fke_optim_check_finite(&m.P, &e)) || (st = fke_optim_sgd_step(&m.P, &opt, &e)))
            goto done;
        double t4 = now();
        if (s == 0) loss0 = loss;
        loss1 = loss;
        if (s >= W) {
            tt[s - W] = t4 - t0;
            t_zero += t2 - t1;
            t_upd += t4 - t3;
        }
    }
    double other_train = guard_other(&gt);
    memcpy(parts, m.time, sizeof parts);
    parts[FKE_PART_UPDATE] = t_upd;

    /* ---- inference (train = 0: batch-norm running statistics, no dropout) ---- */
    for (int s = 0; s < (W > 1 ? W : 1); s++)
        if ((st = fke_model_forward(&m, b, 0, &e))) goto done;
    guard gi = guard_start();
    for (int s = 0; s < S; s++) {
        double t0 = now();
        if ((st = fke_model_forward(&m, b, 0, &e))) goto done;
        ti[s] = now() - t0;
    }
    double other_infer = guard_other(&gi);

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double rss_mib = ru.ru_maxrss / 1024.0;

    /* ---- sgemm probe, same thread count ---- */
    double sg_sq = 0, sg_conv = 0, sg_sq1 = 0;
    if (do_sgemm) {
        sg_sq = sgemm_gflops(1024, 1024, 1024, nthr);
        sg_conv = sgemm_gflops(128, 1024, 576, nthr);
        sg_sq1 = nthr > 1 ? sgemm_gflops(1024, 1024, 1024, 1) : sg_sq;
    }

    stats sT = summarise(tt, S), sI = summarise(ti, S);
    double gf_all = 3 * (fl_cnn + fl_other) / sT.median * 1e-9;
    double cnn_s = parts[FKE_PART_CNN] / S;
    double gf_cnn = cnn_s > 0 ? 3 * fl_cnn / cnn_s * 1e-9 : 0;
    double parts_sum = t_zero;
    for (int p = 0; p < FKE_PART_COUNT; p++) parts_sum += parts[p];

    printf("# loss on the fixed batch: first step %.4f, after %d steps %.4f\n", loss0, W + S, loss1);
    printf("train step  median %9.1f ms  min %9.1f  max %9.1f  (n=%d)  -> %.1f posts/s  "
           "[other load %.2f cores]\n",
           sT.median * 1e3, sT.min * 1e3, sT.max * 1e3, S, B / sT.median, other_train);
    printf("  achieved (3 x all counted FLOPs / median step) %.1f GFLOP/s; cnn part "
           "(3 x cnn FLOPs / cnn time) %.1f GFLOP/s\n",
           gf_all, gf_cnn);
    printf("inference   median %9.1f ms  min %9.1f  max %9.1f  (n=%d)  -> %.1f posts/s "
           "(best %.1f)  [other load %.2f cores]\n",
           sI.median * 1e3, sI.min * 1e3, sI.max * 1e3, S, B / sI.median, B / sI.min, other_infer);
    if (do_sgemm)
        printf("sgemm (OpenBLAS, %d thread%s) 1024^3 %.1f GFLOP/s, 128x1024x576 %.1f GFLOP/s; "
               "1 thread 1024^3 %.1f\n"
               "  step / sgemm(1024^3) %.0f%%;  cnn part / sgemm(128x1024x576) %.0f%%\n",
               nthr, nthr > 1 ? "s" : "", sg_sq, sg_conv, sg_sq1, 100 * gf_all / sg_sq,
               100 * gf_cnn / sg_conv);
    printf("split per training step (mean over %d steps; forward + backward per part):\n", S);
    for (int p = 0; p < FKE_PART_COUNT; p++)
        printf("  %-14s %9.2f ms  %5.1f%%\n", fke_part_names[p], parts[p] / S * 1e3,
               100 * parts[p] / parts_sum);
    printf("  %-14s %9.2f ms  %5.1f%%\n", "zero-grad", t_zero / S * 1e3, 100 * t_zero / parts_sum);
    printf("  %-14s %9.2f ms  (sum of parts %.2f ms vs median step %.2f ms)\n", "total",
           parts_sum / S * 1e3, parts_sum / S * 1e3, sT.median * 1e3);
    printf("peak resident memory %.1f MiB (ru_maxrss; step arena peak %.1f MiB)\n", rss_mib,
           m.arena.peak / 1048576.0);

    if (json) {
        FILE *f = fopen(json, "a");
        if (!f) {
            fprintf(stderr, "fke bench: cannot append to %s: %s\n", json, strerror(errno));
            st = FKE_ERR_IO;
            goto done;
        }
        char host[256] = "";
        gethostname(host, sizeof host - 1);
        time_t now_t = time(NULL);
        char when[32];
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime(&now_t));
        fprintf(f,
                "{\"prog\": \"fke\", \"preset\": \"%s\", \"cell\": \"%s\", \"threads\": %d, "
                "\"tag\": \"%s\", \"openblas_coretype\": %s%s%s, \"openblas_core\": \"%s\", "
                "\"steps\": %d, \"warmup\": %d, \"B\": %d, \"G\": %d, \"params\": %zu, "
                "\"params_cnn\": %zu, \"flops_fwd_cnn\": %.0f, \"flops_fwd_other\": %.0f, "
                "\"train\": {\"median\": %.6f, \"min\": %.6f, \"max\": %.6f, \"n\": %d}, "
                "\"infer\": {\"median\": %.6f, \"min\": %.6f, \"max\": %.6f, \"n\": %d}, "
                "\"posts_per_s_train\": %.3f, \"posts_per_s_infer\": %.3f, "
                "\"gflops_train_all\": %.3f, \"gflops_cnn_part\": %.3f, "
                "\"sgemm_gflops_1024\": %.3f, \"sgemm_gflops_conv\": %.3f, "
                "\"sgemm_gflops_1024_1thread\": %.3f, \"parts_ms\": {",
                preset, cell, nthr, tag, coretype ? "\"" : "", coretype ? coretype : "null",
                coretype ? "\"" : "", openblas_get_corename(), S, W, B, G, n_par, n_cnn, fl_cnn,
                fl_other, sT.median, sT.min, sT.max, S, sI.median, sI.min, sI.max, S,
                B / sT.median, B / sI.median, gf_all, gf_cnn, sg_sq, sg_conv, sg_sq1);
        for (int p = 0; p < FKE_PART_COUNT; p++)
            fprintf(f, "\"%s\": %.4f, ", fke_part_names[p], parts[p] / S * 1e3);
        fprintf(f,
                "\"zero-grad\": %.4f}, \"peak_rss_mib\": %.1f, \"arena_peak_mib\": %.1f, "
                "\"loss_first\": %.6f, \"loss_last\": %.6f, \"other_load_train\": %.3f, "
                "\"other_load_infer\": %.3f, \"train_all\": [",
                t_zero / S * 1e3, rss_mib, m.arena.peak / 1048576.0, loss0, loss1, other_train,
                other_infer);
        for (int s = 0; s < S; s++) fprintf(f, "%s%.6f", s ? ", " : "", tt[s]);
        fprintf(f, "], \"infer_all\": [");
        for (int s = 0; s < S; s++) fprintf(f, "%s%.6f", s ? ", " : "", ti[s]);
        fprintf(f, "], \"host\": \"%s\", \"time\": \"%s\"}\n", host, when);
        if (fclose(f)) {
            fprintf(stderr, "fke bench: cannot write %s\n", json);
            st = FKE_ERR_IO;
        }
    }

done:
    if (st && st != FKE_ERR_IO) fprintf(stderr, "fke bench: %s\n", e.msg);
    free(tt);
    free(ti);
    batch_free(&bb);
    fke_model_free(&m);
    return st ? 1 : 0;
}
