/* cnn.h - the image trunk shared by whole images and garment crops:
 * fke-small's 3 x [conv3x3 -> batch-norm -> ReLU -> max-pool 2] + global
 * average pool, or fke-paper's ResNet-18 trunk (torchvision's layout and
 * parameter names, no fc) + global average pool.
 *
 * The trunk is a short program of steps over activation slots (conv+bn(+relu),
 * max-pool, residual add+relu, global average pool); the forward runs it and
 * records what backward needs on a tape whose tensors come from the step
 * arena, the backward runs it in reverse. One trunk, several tapes: the
 * whole images and the crops are two forwards with two tapes.
 *
 * Memory (fke_cnn_plan_memory, made by fke_cnn_build): the tape keeps what
 * the backward reads and no more. Every conv+bn keeps its conv output (batch
 * norm's input); a ReLU'd output read only by the next conv lives in a
 * scratch buffer the tape shares and is rebuilt from that conv output in the
 * backward (fke_batchnorm_act_apply, the same bits); a residual add + ReLU
 * writes over its conv's batch-normed output, and a downsample's output,
 * read only by the add, lives in the scratch. The backward takes its
 * gradients from a pool over the arena's top, gives each back after its last
 * reader and everything at its end, and writes a conv's gradient over the
 * one it came from where the batch norm allows it. Same results, bit for
 * bit, as keeping every activation (fke_cnn_plan_memory(c, 0), tests).
 *
 *   fke_cnn_build(&cnn, &P, e, kind, in_ch, chans, lr_mult);   before finalize
 *   fke_cnn_init_weights(&cnn, &P, &rng);                      after finalize
 *   fke_cnn_forward(&cnn, &P, &arena, e, &x, train, &tape, &feat);  x (N, C, S, S) -> feat (N, F)
 *   fke_cnn_backward(&cnn, &P, &arena, e, &tape, &dfeat, dx_or_NULL);  adds into P.g */
#ifndef FKE_CNN_H
#define FKE_CNN_H
#include "core/config.h"
#include "core/fke.h"
#include "nn/params.h"

#define FKE_CNN_MAXSTEP 48
#define FKE_CNN_MAXSLOT 48

typedef enum { FKE_CNN_CONVBN, FKE_CNN_MAXPOOL, FKE_CNN_ADDRELU, FKE_CNN_GAP } fke_cnn_op;

/* Where a conv+bn step's output lives in the forward (fke_cnn_plan_memory). */
typedef enum {
    FKE_CNN_KEEP,    /* its own buffer on the tape */
    FKE_CNN_REBUILD, /* the scratch; rebuilt from the conv output in the backward */
    FKE_CNN_SCRATCH  /* the scratch; only the forward reads it (batch norm, no ReLU, into an add) */
} fke_cnn_mem;

typedef struct {
    fke_cnn_op op;
    int in, in2, out;          /* slots (in2: the shortcut of ADDRELU) */
    int conv, bn[4];           /* CONVBN: weight, gamma, beta, running mean, running var */
    int bn_crop[2];            /* CONVBN: running mean, var of the crop pass (nstats = 2) */
    int k, stride, pad, relu;  /* CONVBN / MAXPOOL geometry; relu after bn */
    int cin, cout;             /* CONVBN: channels in and out */
} fke_cnn_step;

typedef struct {
    int in_ch, out_dim, nstep, nslot, nstats;
    int bf16; /* convolutions with bf16 operands (fke_cnn_set_precision, after build) */
    fke_cnn_step step[FKE_CNN_MAXSTEP];
    signed char mem[FKE_CNN_MAXSTEP];  /* CONVBN: an fke_cnn_mem */
    signed char over[FKE_CNN_MAXSTEP]; /* ADDRELU: 1 writes over in, 2 over in2, 0 a new buffer */
    /* NULL, or batch norm's statistics in training over every process
     * (config sync_bn: nn/batchnorm.h, fke_batchnorm_forward_sync); the
     * caller sets it, borrowed */
    const fke_reducer *sync;
} fke_cnn;

typedef struct {
    int train;
    fke_tensor slot[FKE_CNN_MAXSLOT];     /* activations; slot 0 is the input */
    fke_tensor conv_out[FKE_CNN_MAXSTEP]; /* CONVBN: the conv output (bn input) */
    fke_tensor mean[FKE_CNN_MAXSTEP], istd[FKE_CNN_MAXSTEP];
    fke_tensor padded[FKE_CNN_MAXSTEP];   /* MAXPOOL with pad: zero-padded input */
    int32_t *argmax[FKE_CNN_MAXSTEP];
    uint8_t *pool_idx[FKE_CNN_MAXSTEP];   /* CONVBN that ran the next step's 2x2 pool:
                                             its codes (N, O, Ho/2, Wo/2); else NULL */
    fke_tensor fold[FKE_CNN_MAXSTEP];     /* CONVBN with mem REBUILD: (2, O), the batch
                                             norm's a, bias (fke_batchnorm_act_apply) */
    fke_real *scratch;                    /* the outputs of mem REBUILD and SCRATCH */
    size_t scratch_bytes;
} fke_cnn_tape;

/* Adds the trunk's tensors to P (names "cnn.body.0.weight", ... for small;
 * "cnn.conv1.weight", "cnn.layer1.0.bn1.running_mean", ... for ResNet-18).
 * chans: the 3 channel counts of the small CNN, or chans[0] = ResNet width
 * (64 in torchvision). */
fke_status fke_cnn_build(fke_cnn *c, fke_params *P, fke_err *e, fke_cnn_kind kind, int in_ch,
                         const int *chans, float lr_mult, int nstats);
/* The memory plan of the steps (c->mem, c->over; see the top): save 1 is
 * what fke_cnn_build sets, save 0 keeps every activation on the tape (the
 * reference the tests compare the plan against, bit for bit). */
void fke_cnn_plan_memory(fke_cnn *c, int save);
/* PyTorch's default initialisation (kaiming-uniform convolutions for the small
 * CNN, kaiming-normal fan-out for ResNet-18; bn gamma 1, beta 0, var 1). */
void fke_cnn_init_weights(const fke_cnn *c, fke_params *P, fke_rng *rng);
/* x (N, in_ch, S, S) -> feat (N, out_dim), both caller-owned; the tape's
 * tensors come from the arena. stats: which running statistics (0, or 1 for
 * the crop set of a trunk with nstats = 2). */
fke_status fke_cnn_forward(const fke_cnn *c, fke_params *P, fke_arena *a, fke_err *e,
                           const fke_tensor *x, int train, int stats, fke_cnn_tape *t,
                           fke_tensor *feat);
/* dfeat (N, out_dim); adds the parameter gradients into P->g and, when dx is
 * given, the input gradient into dx (N, in_ch, S, S). Its own gradients come
 * from the arena's top and are all given back: a->used is the same after as
 * before (a->peak keeps the high-water mark, so the planning step sizes it). */
fke_status fke_cnn_backward(const fke_cnn *c, fke_params *P, fke_arena *a, fke_err *e,
                            fke_cnn_tape *t, const fke_tensor *dfeat, fke_tensor *dx);
/* Config key precision: bf16 operands for the convolutions (c->bf16), or an
 * error naming the key on a CPU without AVX512-BF16. */
fke_status fke_cnn_set_precision(fke_cnn *c, fke_precision p, fke_err *e);
/* One line for run headers: the convolution algorithms (how many layers go
 * Winograd F(2x2, 3x3), the rest im2col; nn/conv2d.h), GEMM and fusions. */
void fke_cnn_describe(const fke_cnn *c, char *buf, size_t len);
#endif
