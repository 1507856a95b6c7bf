/* cmd_bench.c - `fke bench`: times the docs/model.md training step and inference
 * of a preset on random inputs, the way tools/torch_fke.py times
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
#include <cjson/cJSON.h>
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
#include "core/cpu.h"
#include "core/config.h"
#include "core/file.h"
#include "core/fke.h"
#include "model/model.h"
#include "nn/conv2d.h"
#include "nn/gemm_bf16.h"
#include "nn/optim.h"
#include "nn/pool.h"

static const char usage[] =
    "fke bench --preset fke-small|fke-paper [--threads N] [--steps S] [--warmup W]\n"
    "                 [--cell lstm|gru] [--precision fp32|bf16] [--seed N] [--no-sgemm]\n"
    "                 [--json FILE] [--tag TEXT]\n"
    "  times S training steps (forward, loss, backward, SGD update) after W warm-up\n"
    "  steps, and S inference forwards, on a random batch of B=20 posts, G=5;\n"
    "  defaults: fke-small 30 steps / 5 warm-up, fke-paper 5 / 2; threads: all cores.\n"
    "  --json appends one JSON line with every number.\n";

static const char *const cells[] = {"lstm", "gru", NULL};
static const char *const precisions[] = {"fp32", "bf16", NULL};

typedef struct {
    const char *preset, *json, *tag;
    int cell; /* index in cells */
    int precision; /* index in precisions */
    long threads, steps, warm, seed;
    int no_sgemm;
} bench_opts;

static double now(void) { return omp_get_wtime(); }

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
        switch (s->op) {
        case FKE_CNN_CONVBN: {
            const fke_param_info *w = &m->P.info[s->conv]; /* (O, C, k, k) */
            int Ho = fke_conv2d_out_size(H, s->k, s->stride, s->pad);
            f += 2.0 * w->shape[0] * (double)Ho * Ho * w->shape[1] * s->k * s->k;
            side[s->out] = Ho;
            break;
        }
        case FKE_CNN_MAXPOOL:
            side[s->out] = fke_maxpool2d_out_size(H + 2 * s->pad, s->k, s->stride);
            break;
        case FKE_CNN_ADDRELU: side[s->out] = H; break;
        case FKE_CNN_GAP: side[s->out] = 1; break;
        }
    }
    return f;
}

static double lin(double rows, double in, double out) { return 2.0 * rows * in * out; }

/* Everything but the CNN, for B posts with Nv garments (torch_fke.py's "other"). */
static double other_flops(const fke_config *c, int B, int Nv)
{
    double f = 0, gates = fke_cell_gates(c->cell);
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
static int batch_make(fke_batch *b, const fke_config *c, int B, uint64_t seed)
{
    int G = c->G, A = c->n_attr;
    if (fke_batch_alloc(b, B, G, A, c->L, c->in_ch, c->img, c->crop, NULL)) return -1;
    size_t nimg = (size_t)B * c->in_ch * c->img * c->img;
    size_t ncrop = (size_t)B * G * c->in_ch * c->crop * c->crop;
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

/* Median GFLOP/s of the bf16 kernel (nn/gemm_bf16.h, one thread) and of
 * OpenBLAS sgemm at one thread on the same M x N x K, calls alternating
 * (>= 5 each and >= 0.3 s); 0 when the CPU has no AVX512-BF16. */
static void bf16_vs_sgemm(int M, int N, int K, double *bf, double *sg)
{
    *bf = *sg = 0;
    if (!fke_bf16_available()) return;
    float *A = malloc((size_t)M * K * sizeof(float)), *Bm = malloc((size_t)K * N * sizeof(float));
    float *Cm = malloc((size_t)M * N * sizeof(float));
    uint16_t *a16 = malloc((size_t)M * fke_bf16_ld(K) * sizeof(uint16_t));
    void *pack = aligned_alloc(64, (fke_bf16_pack_bytes(K, N) + 63) / 64 * 64);
    double tb[128], ts[128], total = 0;
    int n = 0;
    if (A && Bm && Cm && a16 && pack) {
        for (size_t i = 0; i < (size_t)M * K; i++) A[i] = (float)((i * 7919 % 1000) / 1000.0 - 0.5);
        for (size_t i = 0; i < (size_t)K * N; i++) Bm[i] = (float)((i * 104729 % 1000) / 1000.0 - 0.5);
        openblas_set_num_threads(1);
        fke_bf16_from_float(A, M, K, K, 0, a16);
        fke_bf16_gemm(M, N, K, a16, fke_bf16_ld(K), Bm, N, 0, 0, Cm, N, pack);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1, A, K, Bm, N, 0, Cm, N);
        while (n < 128 && (n < 5 || total < 0.3)) {
            double t0 = now();
            fke_bf16_from_float(A, M, K, K, 0, a16); /* as conv2d: the weight converted per call */
            fke_bf16_gemm(M, N, K, a16, fke_bf16_ld(K), Bm, N, 0, 0, Cm, N, pack);
            double t1 = now();
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1, A, K, Bm, N, 0, Cm, N);
            double t2 = now();
            tb[n] = t1 - t0, ts[n] = t2 - t1;
            total += t2 - t0;
            n++;
        }
        *bf = 2.0 * M * N * K / summarise(tb, n).median * 1e-9;
        *sg = 2.0 * M * N * K / summarise(ts, n).median * 1e-9;
    }
    free(A), free(Bm), free(Cm), free(a16), free(pack);
}

/* ---- one run's numbers --------------------------------------------------- */
typedef struct {
    int nthr, B, G, S, W;
    const char *coretype;       /* OPENBLAS_CORETYPE, or NULL */
    size_t n_par, n_cnn;        /* trainable parameters, and those of the CNN */
    double t_init;              /* model init + plan, seconds */
    double fl_cnn, fl_other;    /* forward FLOPs per batch */
    double *tt, *ti;            /* (S) seconds of each timed training step, inference */
    stats train, infer;         /* of tt, ti */
    double parts[FKE_PART_COUNT], t_zero; /* seconds over the S steps */
    size_t mem[FKE_PART_COUNT];  /* step arena bytes per part after the last training step */
    size_t mem_cnn_bwd;          /* the CNN backward's own peak (given back after it) */
    double loss0, loss1;        /* the first and the last step's loss */
    double other_train, other_infer; /* cores busy with other processes */
    double rss_mib, arena_mib;
    double sg_sq, sg_conv, sg_sq1; /* sgemm GFLOP/s (0 with --no-sgemm) */
    double bf_conv1, sg_conv1;     /* bf16 kernel and sgemm at the conv shape, 1 thread each */
    char conv_path[256];           /* fke_cnn_describe */
    double gf_all, gf_cnn, parts_sum;
} bench_result;

static int parse_args(bench_opts *o, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    o->tag = "";
    o->steps = o->warm = -1;
    const fke_cli_opt opts[] = {
        {"--preset", "fke-small|fke-paper", FKE_CLI_STR, .dst = &o->preset,
         .flags = FKE_CLI_REQUIRED},
        {"--threads", "N", FKE_CLI_INT, .dst = &o->threads, .lo = 0, .hi = 4096},
        {"--steps", "S", FKE_CLI_INT, .dst = &o->steps, .lo = 1, .hi = 100000},
        {"--warmup", "W", FKE_CLI_INT, .dst = &o->warm, .lo = 0, .hi = 100000},
        {"--cell", "lstm|gru", FKE_CLI_CHOICE, .dst = &o->cell, .choices = cells},
        {"--precision", "fp32|bf16", FKE_CLI_CHOICE, .dst = &o->precision, .choices = precisions},
        {"--seed", "N", FKE_CLI_INT, .dst = &o->seed, .lo = 0, .hi = (double)(1L << 40)},
        {"--no-sgemm", NULL, FKE_CLI_FLAG, .dst = &o->no_sgemm},
        {"--json", "FILE", FKE_CLI_STR, .dst = &o->json},
        {"--tag", "TEXT", FKE_CLI_STR, .dst = &o->tag},
        {0}};
    const fke_cli cli = {"fke bench", usage, opts, "", 0, 0, NULL, NULL};
    int rc = fke_cli_parse(&cli, argc, argv);
    if (rc != FKE_CLI_RUN) return rc;
    int small = !strcmp(o->preset, "fke-small");
    if (o->steps < 0) o->steps = small ? 30 : 5;
    if (o->warm < 0) o->warm = small ? 5 : 2;
    return FKE_CLI_RUN;
}

/* The preset with docs/model.md's "training step": task fke, context all, text on,
 * forward correction, SGD. */
static fke_status bench_config(fke_config *cfg, const bench_opts *o, fke_err *e)
{
    char cell[64], prec[64];
    const char *sets[] = {"task=fke", "context=all", "text=true", "correction=forward", "batch=20",
                          "optimizer=sgd", "lr=0.01", "momentum=0.9", "weight_decay=1e-5", cell,
                          prec};
    snprintf(cell, sizeof cell, "cell=%s", cells[o->cell]);
    snprintf(prec, sizeof prec, "precision=%s", precisions[o->precision]);
    fke_config_defaults(cfg);
    FKE_TRY(fke_config_preset(cfg, o->preset, e));
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++)
        FKE_TRY(fke_config_set(cfg, sets[i], e));
    cfg->seed = (uint64_t)o->seed;
    cfg->threads = (int)o->threads;
    return fke_config_validate(cfg, e);
}

/* FLOPs and parameter counts of the model, from its config and tables. */
static void count_model(const fke_model *m, const fke_config *cfg, bench_result *r)
{
    int Nv = r->B * r->G;
    r->fl_cnn = r->B * cnn_flops_per_image(m, cfg->img) + Nv * cnn_flops_per_image(m, cfg->crop);
    r->fl_other = other_flops(cfg, r->B, Nv);
    for (int i = 0; i < m->P.n; i++)
        if (m->P.info[i].trainable) {
            r->n_par += m->P.info[i].numel;
            if (!strncmp(m->P.info[i].name, "cnn.", 4)) r->n_cnn += m->P.info[i].numel;
        }
}

static void print_header(const bench_opts *o, const bench_result *r)
{
    printf("# fke bench  preset %s  cell %s  threads %d (OpenMP; OpenBLAS 1 per call)  "
           "OPENBLAS_CORETYPE=%s  OpenBLAS core %s\n",
           o->preset, cells[o->cell], r->nthr, r->coretype ? r->coretype : "(unset)",
           openblas_get_corename());
    printf("# OpenBLAS config: %s\n", openblas_get_config());
    char blas[256];
    fke_cpu_describe(blas, sizeof blas);
    printf("# %s\n", blas);
    printf("# precision %s; %s\n", precisions[o->precision], r->conv_path);
    printf("# params (trainable) %zu  cnn %zu  rest %zu;  init + plan %.2f s\n", r->n_par, r->n_cnn,
           r->n_par - r->n_cnn, r->t_init);
    printf("# forward FLOPs per batch (B=%d, G=%d): cnn %.3f G (conv MACs x2), rest %.4f G\n",
           r->B, r->G, r->fl_cnn * 1e-9, r->fl_other * 1e-9);
    fflush(stdout);
}

/* W warm-up steps, then S timed ones: r->tt, the parts, the losses. */
static fke_status time_training(fke_model *m, const fke_batch *b, const fke_optim *opt,
                                bench_result *r, fke_err *e)
{
    int S = r->S, W = r->W;
    double t_upd = 0, loss = 0;
    guard g = {0, 0, 0};
    for (int s = 0; s < W + S; s++) {
        if (s == W) {
            memset(m->time, 0, sizeof m->time);
            r->t_zero = t_upd = 0;
            g = guard_start();
        }
        double t0 = now();
        FKE_TRY(fke_model_forward(m, b, 1, e));
        FKE_TRY(fke_model_loss(m, b, &loss, e));
        double t1 = now();
        fke_params_zero_grad(&m->P);
        double t2 = now();
        FKE_TRY(fke_model_backward(m, b, e));
        double t3 = now();
        FKE_TRY(fke_optim_check_finite(&m->P, e));
        FKE_TRY(fke_optim_sgd_step(&m->P, opt, e));
        double t4 = now();
        if (s == 0) r->loss0 = loss;
        r->loss1 = loss;
        if (s >= W) {
            r->tt[s - W] = t4 - t0;
            r->t_zero += t2 - t1;
            t_upd += t4 - t3;
        }
    }
    r->other_train = guard_other(&g);
    memcpy(r->parts, m->time, sizeof r->parts);
    memcpy(r->mem, m->mem, sizeof r->mem);
    r->mem_cnn_bwd = m->mem_cnn_backward;
    r->parts[FKE_PART_UPDATE] = t_upd;
    return FKE_OK;
}

/* Inference (train = 0: batch-norm running statistics, no dropout): warm-up,
 * then S timed forwards into r->ti. */
static fke_status time_inference(fke_model *m, const fke_batch *b, bench_result *r, fke_err *e)
{
    for (int s = 0; s < (r->W > 1 ? r->W : 1); s++) FKE_TRY(fke_model_forward(m, b, 0, e));
    guard g = guard_start();
    for (int s = 0; s < r->S; s++) {
        double t0 = now();
        FKE_TRY(fke_model_forward(m, b, 0, e));
        r->ti[s] = now() - t0;
    }
    r->other_infer = guard_other(&g);
    return FKE_OK;
}

/* Memory, the sgemm probe at the same thread count, and the derived rates. */
static void finish(const fke_model *m, int do_sgemm, bench_result *r)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    r->rss_mib = ru.ru_maxrss / 1024.0;
    r->arena_mib = m->arena.peak / 1048576.0;
    if (do_sgemm) {
        r->sg_sq = sgemm_gflops(1024, 1024, 1024, r->nthr);
        r->sg_conv = sgemm_gflops(128, 1024, 576, r->nthr);
        r->sg_sq1 = r->nthr > 1 ? sgemm_gflops(1024, 1024, 1024, 1) : r->sg_sq;
        bf16_vs_sgemm(128, 1024, 576, &r->bf_conv1, &r->sg_conv1);
    }
    r->train = summarise(r->tt, r->S);
    r->infer = summarise(r->ti, r->S);
    r->gf_all = 3 * (r->fl_cnn + r->fl_other) / r->train.median * 1e-9;
    double cnn_s = r->parts[FKE_PART_CNN] / r->S;
    r->gf_cnn = cnn_s > 0 ? 3 * r->fl_cnn / cnn_s * 1e-9 : 0;
    r->parts_sum = r->t_zero;
    for (int p = 0; p < FKE_PART_COUNT; p++) r->parts_sum += r->parts[p];
}

static void print_report(int do_sgemm, const bench_result *r)
{
    int S = r->S, B = r->B;
    const stats *tr = &r->train, *in = &r->infer;
    printf("# loss on the fixed batch: first step %.4f, after %d steps %.4f\n", r->loss0, r->W + S,
           r->loss1);
    printf("train step  median %9.1f ms  min %9.1f  max %9.1f  (n=%d)  -> %.1f posts/s  "
           "[other load %.2f cores]\n",
           tr->median * 1e3, tr->min * 1e3, tr->max * 1e3, S, B / tr->median, r->other_train);
    printf("  achieved (3 x all counted FLOPs / median step) %.1f GFLOP/s; cnn part "
           "(3 x cnn FLOPs / cnn time) %.1f GFLOP/s\n"
           "  (the convolutions counted as direct: where Winograd runs, an effective rate)\n",
           r->gf_all, r->gf_cnn);
    printf("inference   median %9.1f ms  min %9.1f  max %9.1f  (n=%d)  -> %.1f posts/s "
           "(best %.1f)  [other load %.2f cores]\n",
           in->median * 1e3, in->min * 1e3, in->max * 1e3, S, B / in->median, B / in->min,
           r->other_infer);
    if (do_sgemm)
        printf("sgemm (OpenBLAS, %d thread%s) 1024^3 %.1f GFLOP/s, 128x1024x576 %.1f GFLOP/s; "
               "1 thread 1024^3 %.1f\n"
               "  step / sgemm(1024^3) %.0f%%;  cnn part / sgemm(128x1024x576) %.0f%%\n",
               r->nthr, r->nthr > 1 ? "s" : "", r->sg_sq, r->sg_conv, r->sg_sq1,
               100 * r->gf_all / r->sg_sq, 100 * r->gf_cnn / r->sg_conv);
    if (do_sgemm && r->bf_conv1 > 0)
        printf("bf16 GEMM (fke's AVX512-BF16 kernel) 128x1024x576, 1 thread: %.1f GFLOP/s against "
               "sgemm's %.1f in the same loop (%.2fx)\n",
               r->bf_conv1, r->sg_conv1, r->bf_conv1 / r->sg_conv1);
    printf("split per training step (mean over %d steps; forward + backward per part):\n", S);
    for (int p = 0; p < FKE_PART_COUNT; p++)
        printf("  %-14s %9.2f ms  %5.1f%%\n", fke_part_names[p], r->parts[p] / S * 1e3,
               100 * r->parts[p] / r->parts_sum);
    printf("  %-14s %9.2f ms  %5.1f%%\n", "zero-grad", r->t_zero / S * 1e3,
           100 * r->t_zero / r->parts_sum);
    printf("  %-14s %9.2f ms  (sum of parts %.2f ms vs median step %.2f ms)\n", "total",
           r->parts_sum / S * 1e3, r->parts_sum / S * 1e3, tr->median * 1e3);
    printf("peak resident memory %.1f MiB (ru_maxrss; step arena peak %.1f MiB)\n", r->rss_mib,
           r->arena_mib);
    double held = 0;
    printf("step arena per part (MiB held after forward, loss and backward):");
    for (int p = 0; p < FKE_PART_COUNT; p++) {
        printf(" %s %.1f", fke_part_names[p], r->mem[p] / 1048576.0);
        held += r->mem[p] / 1048576.0;
    }
    printf("; sum %.1f; the cnn backward's gradients and workspace %.1f at their peak (given "
           "back after it); the rest of the peak is other transient workspace (im2col)\n", held,
           r->mem_cnn_bwd / 1048576.0);
}

/* ---- the JSON line ---------------------------------------------------------- */
/* v rounded to dec decimals, as the line printed its numbers before cJSON
 * wrote it (NaN becomes null). */
static cJSON *num(double v, int dec)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%.*f", dec, v);
    return cJSON_CreateNumber(strtod(buf, NULL));
}

/* Adds item under key; a failed allocation (item NULL) clears *ok. */
static void put(cJSON *o, const char *key, cJSON *item, int *ok)
{
    if (!o || !item || !cJSON_AddItemToObject(o, key, item)) {
        cJSON_Delete(item);
        *ok = 0;
    }
}

static cJSON *stats_json(const stats *s, int n, int *ok)
{
    cJSON *o = cJSON_CreateObject();
    put(o, "median", num(s->median, 6), ok);
    put(o, "min", num(s->min, 6), ok);
    put(o, "max", num(s->max, 6), ok);
    put(o, "n", cJSON_CreateNumber(n), ok);
    return o;
}

static cJSON *times_json(const double *t, int n, int *ok)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < n; i++) {
        cJSON *x = num(t[i], 6);
        if (!x || !cJSON_AddItemToArray(a, x)) cJSON_Delete(x), *ok = 0;
    }
    return a;
}

static cJSON *parts_json(const bench_result *r, int *ok)
{
    cJSON *o = cJSON_CreateObject();
    for (int p = 0; p < FKE_PART_COUNT; p++)
        put(o, fke_part_names[p], num(r->parts[p] / r->S * 1e3, 4), ok);
    put(o, "zero-grad", num(r->t_zero / r->S * 1e3, 4), ok);
    return o;
}

/* Appends one JSON line with every number of the run to path. */
static fke_status write_json(const char *path, const bench_opts *o, const bench_result *r,
                             fke_err *e)
{
    char host[256] = "", when[32];
    gethostname(host, sizeof host - 1);
    time_t now_t = time(NULL);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime(&now_t));
    int ok = 1, S = r->S, B = r->B;
    cJSON *j = cJSON_CreateObject();
    put(j, "prog", cJSON_CreateString("fke"), &ok);
    put(j, "preset", cJSON_CreateString(o->preset), &ok);
    put(j, "cell", cJSON_CreateString(cells[o->cell]), &ok);
    put(j, "precision", cJSON_CreateString(precisions[o->precision]), &ok);
    put(j, "conv_path", cJSON_CreateString(r->conv_path), &ok);
    put(j, "threads", cJSON_CreateNumber(r->nthr), &ok);
    put(j, "tag", cJSON_CreateString(o->tag), &ok);
    put(j, "openblas_coretype", r->coretype ? cJSON_CreateString(r->coretype) : cJSON_CreateNull(),
        &ok);
    put(j, "openblas_core", cJSON_CreateString(openblas_get_corename()), &ok);
    put(j, "steps", cJSON_CreateNumber(S), &ok);
    put(j, "warmup", cJSON_CreateNumber(r->W), &ok);
    put(j, "B", cJSON_CreateNumber(B), &ok);
    put(j, "G", cJSON_CreateNumber(r->G), &ok);
    put(j, "params", cJSON_CreateNumber((double)r->n_par), &ok);
    put(j, "params_cnn", cJSON_CreateNumber((double)r->n_cnn), &ok);
    put(j, "flops_fwd_cnn", num(r->fl_cnn, 0), &ok);
    put(j, "flops_fwd_other", num(r->fl_other, 0), &ok);
    put(j, "train", stats_json(&r->train, S, &ok), &ok);
    put(j, "infer", stats_json(&r->infer, S, &ok), &ok);
    put(j, "posts_per_s_train", num(B / r->train.median, 3), &ok);
    put(j, "posts_per_s_infer", num(B / r->infer.median, 3), &ok);
    put(j, "gflops_train_all", num(r->gf_all, 3), &ok);
    put(j, "gflops_cnn_part", num(r->gf_cnn, 3), &ok);
    put(j, "sgemm_gflops_1024", num(r->sg_sq, 3), &ok);
    put(j, "sgemm_gflops_conv", num(r->sg_conv, 3), &ok);
    put(j, "sgemm_gflops_1024_1thread", num(r->sg_sq1, 3), &ok);
    put(j, "bf16_gflops_conv_1thread", num(r->bf_conv1, 3), &ok);
    put(j, "sgemm_gflops_conv_1thread", num(r->sg_conv1, 3), &ok);
    put(j, "parts_ms", parts_json(r, &ok), &ok);
    put(j, "peak_rss_mib", num(r->rss_mib, 1), &ok);
    put(j, "arena_peak_mib", num(r->arena_mib, 1), &ok);
    cJSON *am = cJSON_CreateObject();
    for (int p = 0; p < FKE_PART_COUNT; p++)
        put(am, fke_part_names[p], num(r->mem[p] / 1048576.0, 2), &ok);
    put(j, "arena_parts_mib", am, &ok);
    put(j, "arena_cnn_backward_mib", num(r->mem_cnn_bwd / 1048576.0, 2), &ok);
    put(j, "loss_first", num(r->loss0, 6), &ok);
    put(j, "loss_last", num(r->loss1, 6), &ok);
    put(j, "other_load_train", num(r->other_train, 3), &ok);
    put(j, "other_load_infer", num(r->other_infer, 3), &ok);
    put(j, "train_all", times_json(r->tt, S, &ok), &ok);
    put(j, "infer_all", times_json(r->ti, S, &ok), &ok);
    put(j, "host", cJSON_CreateString(host), &ok);
    put(j, "time", cJSON_CreateString(when), &ok);
    char *text = ok ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    size_t n = text ? strlen(text) : 0;
    char *line = text ? malloc(n + 2) : NULL;
    if (line) memcpy(line, text, n), memcpy(line + n, "\n", 2);
    cJSON_free(text);
    if (!line) return fke_fail(e, FKE_ERR_NOMEM, "%s: no memory for the JSON line", path);
    fke_status st = fke_append_file(path, line, "bench report", e);
    free(line);
    return st;
}

/* ---- the command -------------------------------------------------------- */
int fke_cmd_bench(int argc, char **argv)
{
    bench_opts o;
    int rc = parse_args(&o, argc, argv);
    if (rc != FKE_CLI_RUN) return rc;
    fke_err e = {""};
    fke_config cfg;
    if (bench_config(&cfg, &o, &e)) {
        fprintf(stderr, "fke bench: %s\n", e.msg);
        return 2;
    }
    bench_result r;
    memset(&r, 0, sizeof r);
    r.nthr = fke_set_threads((int)o.threads);
    r.coretype = getenv("OPENBLAS_CORETYPE");
    r.B = cfg.batch, r.G = cfg.G, r.S = (int)o.steps, r.W = (int)o.warm;
    r.loss0 = r.loss1 = NAN;

    fke_model m;
    memset(&m, 0, sizeof m);
    fke_batch bb;
    memset(&bb, 0, sizeof bb);
    fke_status st = FKE_OK;
    r.t_init = now();
    if ((st = fke_model_init(&m, &cfg, &e)) || (st = fke_model_plan(&m, &e))) goto done;
    r.t_init = now() - r.t_init;
    r.tt = malloc((size_t)r.S * sizeof *r.tt);
    r.ti = malloc((size_t)r.S * sizeof *r.ti);
    if (batch_make(&bb, &cfg, r.B, (uint64_t)o.seed + 1) || !r.tt || !r.ti) {
        st = fke_fail(&e, FKE_ERR_NOMEM, "out of memory for the batch");
        goto done;
    }
    count_model(&m, &cfg, &r);
    fke_cnn_describe(&m.cnn, r.conv_path, sizeof r.conv_path);
    print_header(&o, &r);
    fke_optim opt = {.lr = cfg.lr, .momentum = cfg.momentum, .weight_decay = cfg.weight_decay};
    if ((st = time_training(&m, &bb, &opt, &r, &e))) goto done;
    if ((st = time_inference(&m, &bb, &r, &e))) goto done;
    finish(&m, !o.no_sgemm, &r);
    print_report(!o.no_sgemm, &r);
    if (o.json) st = write_json(o.json, &o, &r, &e);
done:
    if (st) fprintf(stderr, "fke bench: %s\n", e.msg);
    free(r.tt);
    free(r.ti);
    fke_batch_free(&bb);
    fke_model_free(&m);
    return st ? 1 : 0;
}
