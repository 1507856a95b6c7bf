/* gc_transformer.c - gradient checks of the transformer operations:
 * LayerNorm, exact GELU, QuickGELU, multi-head attention over packed projections and
 * a whole pre-norm block (every one of its 12 parameters and its input), with
 * either activation. */
#include "gradcheck/gradcheck.h"
#include "nn/activation.h"
#include "nn/attention.h"
#include "nn/layernorm.h"
#include "nn/transformer.h"

/* ---- layernorm ------------------------------------------------------------ */
typedef struct {
    fke_tensor x, dx, gm, dgm, bt, dbt, mean, rstd, y, r;
} ln_ctx;

static fke_status ln_forward(fke_gc *g, void *p)
{
    ln_ctx *c = p;
    return fke_layernorm_forward(&g->err, &c->x, &c->gm, &c->bt, 1e-5, &c->mean, &c->rstd, &c->y);
}

static fke_status ln_backward(fke_gc *g, void *p)
{
    ln_ctx *c = p;
    return fke_layernorm_backward(&g->err, &c->x, &c->gm, &c->mean, &c->rstd, &c->r, &c->dx,
                                  &c->dgm, &c->dbt);
}

static int gc_layernorm(fke_gc *g)
{
    ln_ctx c;
    int N = 4, C = 7;
    fke_gc_output(g, &c.y, &c.r, 2, N, C);
    fke_gc_input(g, "x", &c.x, &c.dx, -2, 2, 2, N, C);
    fke_gc_input(g, "gamma", &c.gm, &c.dgm, 0.5, 1.5, 1, C);
    fke_gc_input(g, "beta", &c.bt, &c.dbt, -1, 1, 1, C);
    c.mean = fke_gc_tensor(g, 1, N);
    c.rstd = fke_gc_tensor(g, 1, N);
    return fke_gc_check(g, "layernorm", ln_forward, ln_backward, &c);
}

/* ---- gelu ----------------------------------------------------------------- */
typedef struct {
    fke_tensor x, dx, y, r;
} gelu_ctx;

static fke_status gelu_forward(fke_gc *g, void *p)
{
    gelu_ctx *c = p;
    return fke_gelu_forward(&g->err, &c->x, &c->y);
}

static fke_status gelu_backward(fke_gc *g, void *p)
{
    gelu_ctx *c = p;
    return fke_gelu_backward(&g->err, &c->x, &c->r, &c->dx);
}

static int gc_gelu(fke_gc *g)
{
    gelu_ctx c;
    fke_gc_output(g, &c.y, &c.r, 2, 5, 9);
    fke_gc_input(g, "x", &c.x, &c.dx, -3.5, 3.5, 2, 5, 9);
    return fke_gc_check(g, "gelu", gelu_forward, gelu_backward, &c);
}

/* ---- quick_gelu ----------------------------------------------------------- */
static fke_status qgelu_forward(fke_gc *g, void *p)
{
    gelu_ctx *c = p;
    return fke_quick_gelu_forward(&g->err, &c->x, &c->y);
}

static fke_status qgelu_backward(fke_gc *g, void *p)
{
    gelu_ctx *c = p;
    return fke_quick_gelu_backward(&g->err, &c->x, &c->r, &c->dx);
}

static int gc_quick_gelu(fke_gc *g)
{
    gelu_ctx c;
    fke_gc_output(g, &c.y, &c.r, 2, 5, 9);
    fke_gc_input(g, "x", &c.x, &c.dx, -3.5, 3.5, 2, 5, 9);
    return fke_gc_check(g, "quick_gelu", qgelu_forward, qgelu_backward, &c);
}

/* ---- attention ------------------------------------------------------------ */
typedef struct {
    int H;
    fke_tensor qkv, dqkv, att, y, r;
} att_ctx;

static fke_status att_forward(fke_gc *g, void *p)
{
    att_ctx *c = p;
    return fke_attention_forward(&g->err, &c->qkv, c->H, &c->att, &c->y);
}

static fke_status att_backward(fke_gc *g, void *p)
{
    att_ctx *c = p;
    return fke_attention_backward(&g->err, &c->qkv, c->H, &c->att, &c->r, &c->dqkv);
}

static int gc_attention(fke_gc *g)
{
    att_ctx c;
    int B = 2, T = 5, E = 6;
    c.H = 2;
    fke_gc_output(g, &c.y, &c.r, 3, B, T, E);
    fke_gc_input(g, "qkv", &c.qkv, &c.dqkv, -1.5, 1.5, 3, B, T, 3 * E);
    c.att = fke_gc_tensor(g, 4, B, c.H, T, T);
    return fke_gc_check(g, "attention", att_forward, att_backward, &c);
}

/* ---- a pre-norm block ----------------------------------------------------- */
typedef struct {
    fke_tblock_params P, dP;
    fke_tblock_cache k;
    fke_tensor x, dx, y, r;
} tb_ctx;

static fke_status tb_forward(fke_gc *g, void *p)
{
    tb_ctx *c = p;
    return fke_tblock_forward(&g->err, &c->P, &c->x, &c->k, &c->y);
}

static fke_status tb_backward(fke_gc *g, void *p)
{
    tb_ctx *c = p;
    return fke_tblock_backward(&g->err, &c->P, &c->x, &c->k, &c->r, &c->dx, &c->dP);
}

static int tblock_case(fke_gc *g, const char *name, int quick_gelu)
{
    static const char *names[FKE_TBLOCK_NPARAM] = {
        "ln_1.weight", "ln_1.bias", "in_proj_weight", "in_proj_bias", "out_proj.weight",
        "out_proj.bias", "ln_2.weight", "ln_2.bias", "c_fc.weight", "c_fc.bias",
        "c_proj.weight", "c_proj.bias"};
    tb_ctx c;
    int B = 2, T = 4, E = 6, H = 2, M = 8;
    fke_gc_output(g, &c.y, &c.r, 3, B, T, E);
    fke_gc_input(g, "x", &c.x, &c.dx, -1.5, 1.5, 3, B, T, E);
    fke_tensor *w = fke_tblock_param_list(&c.P), *dw = fke_tblock_param_list(&c.dP);
    int shape[FKE_TBLOCK_NPARAM][2] = {{E, 0}, {E, 0}, {3 * E, E}, {3 * E, 0}, {E, E}, {E, 0},
                                       {E, 0}, {E, 0}, {M, E},     {M, 0},     {E, M}, {E, 0}};
    for (int i = 0; i < FKE_TBLOCK_NPARAM; i++) {
        int gain = i == 0 || i == 6; /* LayerNorm weights near 1 */
        if (shape[i][1])
            fke_gc_input(g, names[i], &w[i], &dw[i], -0.6, 0.6, 2, shape[i][0], shape[i][1]);
        else
            fke_gc_input(g, names[i], &w[i], &dw[i], gain ? 0.5 : -0.5, gain ? 1.5 : 0.5, 1,
                         shape[i][0]);
    }
    if (fke_tblock_cache_alloc(&g->arena, &g->err, B, T, E, H, M, &c.k) != FKE_OK)
        c.x.data = NULL; /* reported as not allocated */
    c.k.quick_gelu = quick_gelu;
    return fke_gc_check(g, name, tb_forward, tb_backward, &c);
}

static int gc_tblock(fke_gc *g) { return tblock_case(g, "transformer_block", 0); }
static int gc_tblock_qgelu(fke_gc *g) { return tblock_case(g, "tblock_quick_gelu", 1); }

const fke_gc_case fke_gc_transformer_cases[] = {{"layernorm", gc_layernorm},
                                                {"gelu", gc_gelu},
                                                {"quick_gelu", gc_quick_gelu},
                                                {"attention", gc_attention},
                                                {"transformer_block", gc_tblock},
                                                {"tblock_quick_gelu", gc_tblock_qgelu},
                                                {0, 0}};
