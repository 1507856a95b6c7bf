/* gc_text.c - gradient checks of the text operations: embedding and the
 * TextCNN convolution banks (odd sizes, docs/model.md's widths 2..5). */
#include "nn/embedding.h"
#include "gradcheck/gradcheck.h"
#include "nn/textcnn.h"

#include <math.h>

/* ---- embedding --------------------------------------------------------- */
typedef struct {
    int N, L;
    int32_t *ids;
    fke_tensor table, dtable, out, r;
} emb_ctx;

static fke_status emb_forward(fke_gc *g, void *p)
{
    emb_ctx *c = p;
    return fke_embedding_forward(&g->err, c->ids, c->N, c->L, &c->table, &c->out);
}

static fke_status emb_backward(fke_gc *g, void *p)
{
    emb_ctx *c = p;
    return fke_embedding_backward(&g->err, c->ids, c->N, c->L, &c->r, &c->dtable);
}

static int gc_embedding(fke_gc *g)
{
    emb_ctx c;
    int V = 6, D = 5;
    c.N = 3;
    c.L = 7; /* 21 ids over 6 rows: repeats are certain, so the scatter-add is tested */
    c.ids = fke_arena_alloc(&g->arena, &g->err, sizeof(int32_t) * c.N * c.L);
    fke_gc_output(g, &c.out, &c.r, 3, c.N, c.L, D);
    fke_gc_input(g, "table", &c.table, &c.dtable, -1, 1, 2, V, D);
    for (int i = 0; c.ids && i < c.N * c.L; i++) c.ids[i] = (int32_t)fke_rng_below(&g->rng, V);
    if (!c.ids) c.table.data = NULL; /* reported by fke_gc_check as not allocated */
    return fke_gc_check(g, "embedding", emb_forward, emb_backward, &c);
}

/* ---- textcnn ------------------------------------------------------------ */
#define NW 4
typedef struct {
    fke_tensor x, dx, W[NW], dW[NW], b[NW], db[NW], y, r;
    int32_t *arg;
} tc_ctx;

static fke_status tc_forward(fke_gc *g, void *p)
{
    tc_ctx *c = p;
    return fke_textcnn_forward(&g->err, &c->x, NW, c->W, c->b, &c->y, c->arg, &g->arena);
}

static fke_status tc_backward(fke_gc *g, void *p)
{
    tc_ctx *c = p;
    return fke_textcnn_backward(&g->err, &c->x, NW, c->W, &c->y, c->arg, &c->r, &c->dx, c->dW,
                                c->db);
}

/* 1 if some output's maximum pre-activation lies within margin of 0 (the
 * ReLU kink) or of the runner-up position (a max-over-time tie). Computed
 * here by a separate naive loop, not by the op. */
static int near_kink(const tc_ctx *c, double margin)
{
    int N = c->x.shape[0], L = c->x.shape[1], D = c->x.shape[2];
    for (int k = 0; k < NW; k++) {
        int Co = c->W[k].shape[0], w = c->W[k].shape[2];
        for (int n = 0; n < N; n++)
            for (int o = 0; o < Co; o++) {
                double best = -INFINITY, second = -INFINITY;
                for (int t = 0; t + w <= L; t++) {
                    double a = c->b[k].data[o];
                    for (int d = 0; d < D; d++)
                        for (int j = 0; j < w; j++)
                            a += c->W[k].data[((size_t)o * D + d) * w + j] *
                                 c->x.data[((size_t)n * L + t + j) * D + d];
                    if (a > best) {
                        second = best;
                        best = a;
                    } else if (a > second) {
                        second = a;
                    }
                }
                if (fabs(best) < margin || best - second < margin) return 1;
            }
    }
    return 0;
}

static int gc_textcnn(fke_gc *g)
{
    tc_ctx c;
    static const char *wn[NW] = {"W2", "W3", "W4", "W5"}, *bn[NW] = {"b2", "b3", "b4", "b5"};
    int N = 3, L = 7, D = 5, Co = 4;
    fke_gc_output(g, &c.y, &c.r, 2, N, NW * Co);
    c.arg = fke_arena_alloc(&g->arena, &g->err, sizeof(int32_t) * N * NW * Co);
    fke_gc_input_zero(g, "x", &c.x, &c.dx, 3, N, L, D);
    for (int k = 0; k < NW; k++) {
        fke_gc_input_zero(g, wn[k], &c.W[k], &c.dW[k], 3, Co, D, 2 + k);
        fke_gc_input_zero(g, bn[k], &c.b[k], &c.db[k], 1, Co);
    }
    int ok = c.arg && c.r.data && c.db[NW - 1].data;
    /* re-draw until every output is at least 1e-3 away from a kink or a tie
     * (the finite-difference step is 1e-6); biases centred a little below 0
     * so that some outputs are cut by the ReLU */
    for (int tries = 0; ok; tries++) {
        fke_gc_fill_uniform(g, &c.x, -1, 1);
        for (int k = 0; k < NW; k++) {
            fke_gc_fill_uniform(g, &c.W[k], -0.5, 0.5);
            fke_gc_fill_uniform(g, &c.b[k], -1.5, 0.5);
        }
        if (!near_kink(&c, 1e-3)) break;
        if (tries == 1000) ok = 0;
    }
    return fke_gc_check(g, "textcnn", tc_forward, tc_backward, &c);
}

const fke_gc_case fke_gc_text_cases[] = {
    {"embedding", gc_embedding}, {"textcnn", gc_textcnn}, {0, 0}};
