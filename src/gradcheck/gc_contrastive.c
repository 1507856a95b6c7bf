/* gc_contrastive.c - gradient checks of the contrastive head: L2
 * normalisation, the similarity matrix with its temperature, the symmetric
 * InfoNCE loss, and the three chained as CLIP's loss is (two towers'
 * embeddings to one scalar). */
#include "gradcheck/gradcheck.h"
#include "nn/contrastive.h"

/* ---- l2norm --------------------------------------------------------------- */
typedef struct {
    fke_tensor x, dx, norm, y, r;
} l2_ctx;

static fke_status l2_forward(fke_gc *g, void *p)
{
    l2_ctx *c = p;
    return fke_l2norm_forward(&g->err, &c->x, &c->norm, &c->y);
}

static fke_status l2_backward(fke_gc *g, void *p)
{
    l2_ctx *c = p;
    return fke_l2norm_backward(&g->err, &c->y, &c->norm, &c->r, &c->dx);
}

static int gc_l2norm(fke_gc *g)
{
    l2_ctx c;
    fke_gc_output(g, &c.y, &c.r, 2, 4, 6);
    fke_gc_input(g, "x", &c.x, &c.dx, -1, 1, 2, 4, 6);
    c.norm = fke_gc_tensor(g, 1, 4);
    return fke_gc_check(g, "l2norm", l2_forward, l2_backward, &c);
}

/* ---- similarity ----------------------------------------------------------- */
typedef struct {
    fke_tensor a, da, b, db, t, dt, y, r;
} sim_ctx;

static fke_status sim_forward(fke_gc *g, void *p)
{
    sim_ctx *c = p;
    return fke_similarity_forward(&g->err, &c->a, &c->b, &c->t, &c->y);
}

static fke_status sim_backward(fke_gc *g, void *p)
{
    sim_ctx *c = p;
    return fke_similarity_backward(&g->err, &c->a, &c->b, &c->t, &c->y, &c->r, &c->da, &c->db,
                                   &c->dt);
}

static int gc_similarity(fke_gc *g)
{
    sim_ctx c;
    int N = 4, M = 5, D = 3;
    fke_gc_output(g, &c.y, &c.r, 2, N, M);
    fke_gc_input(g, "a", &c.a, &c.da, -1, 1, 2, N, D);
    fke_gc_input(g, "b", &c.b, &c.db, -1, 1, 2, M, D);
    fke_gc_input(g, "logit_scale", &c.t, &c.dt, 0, 1.5, 1, 1);
    return fke_gc_check(g, "similarity", sim_forward, sim_backward, &c);
}

/* ---- infonce, alone and after the head ------------------------------------ */
typedef struct {
    int chained;
    fke_tensor z, dz;                        /* logits (N, N) */
    fke_tensor a, da, b, db, t, dt;          /* chained: the towers' outputs */
    fke_tensor na, nb, ua, ub, dua, dub;     /* norms, normalised, their gradients */
    double r;
} nce_ctx;

static fke_status nce_loss(fke_gc *g, void *p, double *L)
{
    nce_ctx *c = p;
    double l;
    if (c->chained) {
        FKE_TRY(fke_l2norm_forward(&g->err, &c->a, &c->na, &c->ua));
        FKE_TRY(fke_l2norm_forward(&g->err, &c->b, &c->nb, &c->ub));
        FKE_TRY(fke_similarity_forward(&g->err, &c->ua, &c->ub, &c->t, &c->z));
    }
    FKE_TRY(fke_infonce_forward(&g->err, &c->z, &l, NULL));
    *L = l * c->r;
    return FKE_OK;
}

static fke_status nce_grad(fke_gc *g, void *p)
{
    nce_ctx *c = p;
    double l;
    if (!c->chained) return fke_infonce_backward(&g->err, &c->z, c->r, &c->dz);
    FKE_TRY(nce_loss(g, c, &l));
    for (size_t i = 0; i < fke_numel(&c->dz); i++) c->dz.data[i] = 0;
    for (size_t i = 0; i < fke_numel(&c->dua); i++) c->dua.data[i] = c->dub.data[i] = 0;
    FKE_TRY(fke_infonce_backward(&g->err, &c->z, c->r, &c->dz));
    FKE_TRY(fke_similarity_backward(&g->err, &c->ua, &c->ub, &c->t, &c->z, &c->dz, &c->dua,
                                    &c->dub, &c->dt));
    FKE_TRY(fke_l2norm_backward(&g->err, &c->ua, &c->na, &c->dua, &c->da));
    return fke_l2norm_backward(&g->err, &c->ub, &c->nb, &c->dub, &c->db);
}

static int gc_infonce(fke_gc *g)
{
    nce_ctx c;
    c.chained = 0;
    fke_gc_input(g, "logits", &c.z, &c.dz, -3, 3, 2, 5, 5);
    c.r = 0.5 + fke_rng_uniform(&g->rng);
    return fke_gc_run(g, "infonce", nce_loss, nce_grad, &c) ? 0 : 1;
}

static int gc_clip_head(fke_gc *g)
{
    nce_ctx c;
    int N = 5, D = 4;
    c.chained = 1;
    fke_gc_input(g, "img_emb", &c.a, &c.da, -1, 1, 2, N, D);
    fke_gc_input(g, "txt_emb", &c.b, &c.db, -1, 1, 2, N, D);
    fke_gc_input(g, "logit_scale", &c.t, &c.dt, 0.5, 1.5, 1, 1);
    c.z = fke_gc_tensor(g, 2, N, N);
    c.dz = fke_gc_tensor(g, 2, N, N);
    c.na = fke_gc_tensor(g, 1, N);
    c.nb = fke_gc_tensor(g, 1, N);
    c.ua = fke_gc_tensor(g, 2, N, D);
    c.ub = fke_gc_tensor(g, 2, N, D);
    c.dua = fke_gc_tensor(g, 2, N, D);
    c.dub = fke_gc_tensor(g, 2, N, D);
    c.r = 0.5 + fke_rng_uniform(&g->rng);
    if (!c.z.data || !c.dz.data || !c.na.data || !c.nb.data || !c.ua.data || !c.ub.data ||
        !c.dua.data || !c.dub.data)
        c.a.data = NULL; /* reported as not allocated */
    return fke_gc_run(g, "clip_head", nce_loss, nce_grad, &c) ? 0 : 1;
}

/* ---- milmax: 7 instance rows (one skipped) into 3 posts -------------------- */
typedef struct {
    fke_tensor x, dx, y, r;
    int32_t owner[7], arg[3 * 4];
} mil_ctx;

static fke_status mil_forward(fke_gc *g, void *p)
{
    mil_ctx *c = p;
    return fke_milmax_forward(&g->err, &c->x, c->owner, &c->y, c->arg);
}

static fke_status mil_backward(fke_gc *g, void *p)
{
    mil_ctx *c = p;
    return fke_milmax_backward(&g->err, c->arg, &c->r, &c->dx);
}

static int gc_milmax(fke_gc *g)
{
    mil_ctx c;
    static const int32_t owner[7] = {0, 1, 2, 0, 0, -1, 2};
    for (int i = 0; i < 7; i++) c.owner[i] = owner[i];
    fke_gc_output(g, &c.y, &c.r, 2, 3, 4);
    fke_gc_input(g, "x", &c.x, &c.dx, -2, 2, 2, 7, 4); /* distinct values: no ties */
    return fke_gc_check(g, "milmax", mil_forward, mil_backward, &c);
}

const fke_gc_case fke_gc_contrastive_cases[] = {{"l2norm", gc_l2norm},
                                                {"similarity", gc_similarity},
                                                {"infonce", gc_infonce},
                                                {"clip_head", gc_clip_head},
                                                {"milmax", gc_milmax},
                                                {0, 0}};
