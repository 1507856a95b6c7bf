/* onnx_graph.c - see onnx_graph.h. The protobuf-c messages are built in the
 * graph's own memory (a chain of blocks freed at once), packed into one
 * buffer and written with core/file.h's atomic write. */
#include "run/onnx_graph.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "onnx.pb-c.h"

typedef struct blk {
    struct blk *next;
    max_align_t data[];
} blk;

/* a growable array of message pointers */
typedef struct {
    void **v;
    size_t n, cap;
} vec;

struct fke_onnx_node {
    Onnx__NodeProto p;
    vec attr;
};

struct fke_onnx {
    blk *mem;
    int oom, opset;
    long counter;
    vec nodes, inits, inputs, outputs, meta;
    const char *doc;
};

static void push(fke_onnx *g, vec *v, void *x)
{
    if (!x) return;
    if (v->n == v->cap) {
        size_t cap = v->cap ? 2 * v->cap : 16;
        void **nv = realloc(v->v, cap * sizeof *nv);
        if (!nv) {
            g->oom = 1;
            return;
        }
        v->v = nv;
        v->cap = cap;
    }
    v->v[v->n++] = x;
}

void *fke_onnx_alloc(fke_onnx *g, size_t bytes)
{
    blk *b = malloc(sizeof *b + (bytes ? bytes : 1));
    if (!b) {
        g->oom = 1;
        return NULL;
    }
    b->next = g->mem;
    g->mem = b;
    memset(b->data, 0, bytes);
    return b->data;
}

static char *dup(fke_onnx *g, const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = fke_onnx_alloc(g, n);
    if (d) memcpy(d, s, n);
    return d;
}

fke_onnx *fke_onnx_new(int opset)
{
    fke_onnx *g = calloc(1, sizeof *g);
    if (g) g->opset = opset;
    return g;
}

void fke_onnx_free(fke_onnx *g)
{
    if (!g) return;
    /* the nodes live in the blocks: their attribute arrays go first */
    for (size_t i = 0; i < g->nodes.n; i++) free(((fke_onnx_node *)g->nodes.v[i])->attr.v);
    while (g->mem) {
        blk *n = g->mem->next;
        free(g->mem);
        g->mem = n;
    }
    free(g->nodes.v);
    free(g->inits.v);
    free(g->inputs.v);
    free(g->outputs.v);
    free(g->meta.v);
    free(g);
}

const char *fke_onnx_name(fke_onnx *g, const char *prefix)
{
    char n[128];
    snprintf(n, sizeof n, "%s_%ld", prefix, ++g->counter);
    return dup(g, n);
}

static Onnx__ValueInfoProto *value_info(fke_onnx *g, const char *name, int elem, int ndim,
                                        const long *dims)
{
    Onnx__ValueInfoProto *vi = fke_onnx_alloc(g, sizeof *vi);
    Onnx__TypeProto *tp = fke_onnx_alloc(g, sizeof *tp);
    Onnx__TypeProto__Tensor *tt = fke_onnx_alloc(g, sizeof *tt);
    Onnx__TensorShapeProto *sh = fke_onnx_alloc(g, sizeof *sh);
    Onnx__TensorShapeProto__Dimension **dv = fke_onnx_alloc(g, ndim * sizeof *dv);
    if (!vi || !tp || !tt || !sh || !dv) return NULL;
    onnx__value_info_proto__init(vi);
    onnx__type_proto__init(tp);
    onnx__type_proto__tensor__init(tt);
    onnx__tensor_shape_proto__init(sh);
    for (int i = 0; i < ndim; i++) {
        Onnx__TensorShapeProto__Dimension *d = fke_onnx_alloc(g, sizeof *d);
        if (!d) return NULL;
        onnx__tensor_shape_proto__dimension__init(d);
        if (dims[i] < 0) {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d->dim_param = dup(g, "posts");
        } else {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d->dim_value = dims[i];
        }
        dv[i] = d;
    }
    sh->n_dim = (size_t)ndim;
    sh->dim = dv;
    tt->has_elem_type = 1;
    tt->elem_type = elem;
    tt->shape = sh;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    vi->name = dup(g, name);
    vi->type = tp;
    return vi;
}

void fke_onnx_input(fke_onnx *g, const char *name, int elem, int ndim, const long *dims)
{
    push(g, &g->inputs, value_info(g, name, elem, ndim, dims));
}

void fke_onnx_output(fke_onnx *g, const char *name, int elem, int ndim, const long *dims)
{
    push(g, &g->outputs, value_info(g, name, elem, ndim, dims));
}

static Onnx__TensorProto *tensor(fke_onnx *g, const char *name, int elem, const void *data,
                                 size_t bytes, int ndim, const long *dims)
{
    Onnx__TensorProto *t = fke_onnx_alloc(g, sizeof *t);
    int64_t *d = fke_onnx_alloc(g, (ndim ? ndim : 1) * sizeof *d);
    if (!t || !d) return NULL;
    onnx__tensor_proto__init(t);
    for (int i = 0; i < ndim; i++) d[i] = dims[i];
    t->n_dims = (size_t)ndim;
    t->dims = d;
    t->has_data_type = 1;
    t->data_type = elem;
    t->name = dup(g, name);
    t->has_raw_data = 1; /* little-endian bytes, as onnx.proto asks */
    t->raw_data.len = bytes;
    t->raw_data.data = (uint8_t *)data;
    return t;
}

static size_t numel(int ndim, const long *dims)
{
    size_t n = 1;
    for (int i = 0; i < ndim; i++) n *= (size_t)dims[i];
    return n;
}

const char *fke_onnx_init_float(fke_onnx *g, const char *name, const float *data, int ndim,
                                const long *dims)
{
    Onnx__TensorProto *t =
        tensor(g, name, FKE_ONNX_FLOAT, data, numel(ndim, dims) * sizeof(float), ndim, dims);
    push(g, &g->inits, t);
    return t ? t->name : name;
}

const char *fke_onnx_init_int64(fke_onnx *g, const char *name, const int64_t *data, int ndim,
                                const long *dims)
{
    size_t bytes = numel(ndim, dims) * sizeof(int64_t);
    void *copy = fke_onnx_alloc(g, bytes);
    if (copy && data) memcpy(copy, data, bytes);
    Onnx__TensorProto *t = tensor(g, name, FKE_ONNX_INT64, copy, bytes, ndim, dims);
    push(g, &g->inits, t);
    return t ? t->name : name;
}

fke_onnx_node *fke_onnx_opv(fke_onnx *g, const char *op, const char *out, int n,
                            const char *const *inputs)
{
    fke_onnx_node *nd = fke_onnx_alloc(g, sizeof *nd);
    char **in = fke_onnx_alloc(g, (n ? n : 1) * sizeof *in);
    char **o = fke_onnx_alloc(g, sizeof *o);
    if (!nd || !in || !o) { /* a node that is never written: the write fails on g->oom */
        static fke_onnx_node dummy;
        return &dummy;
    }
    onnx__node_proto__init(&nd->p);
    for (int i = 0; i < n; i++) in[i] = dup(g, inputs[i] ? inputs[i] : "");
    char lower[64];
    size_t k = 0;
    for (; op[k] && k + 1 < sizeof lower; k++)
        lower[k] = (char)(op[k] >= 'A' && op[k] <= 'Z' ? op[k] - 'A' + 'a' : op[k]);
    lower[k] = 0;
    o[0] = out ? dup(g, out) : (char *)fke_onnx_name(g, lower);
    nd->p.n_input = (size_t)n;
    nd->p.input = in;
    nd->p.n_output = 1;
    nd->p.output = o;
    nd->p.op_type = dup(g, op);
    nd->p.name = dup(g, o[0] ? o[0] : op);
    push(g, &g->nodes, nd);
    return nd;
}

fke_onnx_node *fke_onnx_op(fke_onnx *g, const char *op, const char *out, int n, ...)
{
    const char *in[64];
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n && i < 64; i++) in[i] = va_arg(ap, const char *);
    va_end(ap);
    return fke_onnx_opv(g, op, out, n < 64 ? n : 64, in);
}

void fke_onnx_add_output(fke_onnx *g, fke_onnx_node *n, const char *out)
{
    if (!n->p.output) return;
    char **o = fke_onnx_alloc(g, (n->p.n_output + 1) * sizeof *o);
    if (!o) return;
    memcpy(o, n->p.output, n->p.n_output * sizeof *o);
    o[n->p.n_output] = dup(g, out);
    n->p.output = o;
    n->p.n_output++;
}

const char *fke_onnx_out(const fke_onnx_node *n, int i)
{
    return n->p.output && (size_t)i < n->p.n_output ? n->p.output[i] : "";
}

static Onnx__AttributeProto *attr(fke_onnx *g, fke_onnx_node *n, const char *name,
                                  Onnx__AttributeProto__AttributeType type)
{
    if (!n->p.output) return NULL; /* the dummy node of an allocation failure */
    Onnx__AttributeProto *a = fke_onnx_alloc(g, sizeof *a);
    if (!a) return NULL;
    onnx__attribute_proto__init(a);
    a->name = dup(g, name);
    a->has_type = 1;
    a->type = type;
    push(g, &n->attr, a);
    n->p.n_attribute = n->attr.n;
    n->p.attribute = (Onnx__AttributeProto **)n->attr.v;
    return a;
}

void fke_onnx_attr_int(fke_onnx *g, fke_onnx_node *n, const char *name, long v)
{
    Onnx__AttributeProto *a = attr(g, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    if (!a) return;
    a->has_i = 1;
    a->i = v;
}

void fke_onnx_attr_float(fke_onnx *g, fke_onnx_node *n, const char *name, float v)
{
    Onnx__AttributeProto *a = attr(g, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    if (!a) return;
    a->has_f = 1;
    a->f = v;
}

void fke_onnx_attr_ints(fke_onnx *g, fke_onnx_node *n, const char *name, int k, const long *v)
{
    Onnx__AttributeProto *a = attr(g, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    int64_t *d = fke_onnx_alloc(g, (k ? k : 1) * sizeof *d);
    if (!a || !d) return;
    for (int i = 0; i < k; i++) d[i] = v[i];
    a->n_ints = (size_t)k;
    a->ints = d;
}

void fke_onnx_attr_string(fke_onnx *g, fke_onnx_node *n, const char *name, const char *v)
{
    Onnx__AttributeProto *a = attr(g, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    char *s = dup(g, v);
    if (!a || !s) return;
    a->has_s = 1;
    a->s.len = strlen(s);
    a->s.data = (uint8_t *)s;
}

void fke_onnx_meta(fke_onnx *g, const char *key, const char *value)
{
    Onnx__StringStringEntryProto *m = fke_onnx_alloc(g, sizeof *m);
    if (!m) return;
    onnx__string_string_entry_proto__init(m);
    m->key = dup(g, key);
    m->value = dup(g, value);
    push(g, &g->meta, m);
}

void fke_onnx_doc(fke_onnx *g, const char *doc) { g->doc = dup(g, doc); }

void fke_onnx_stats(const fke_onnx *g, long *nodes, long *inits, double *bytes)
{
    *nodes = (long)g->nodes.n;
    *inits = (long)g->inits.n;
    *bytes = 0;
    for (size_t i = 0; i < g->inits.n; i++)
        *bytes += (double)((Onnx__TensorProto *)g->inits.v[i])->raw_data.len;
}

fke_status fke_onnx_write(fke_onnx *g, const char *path, const char *graph_name,
                          const char *producer_version, fke_err *e)
{
    Onnx__ModelProto model;
    Onnx__GraphProto graph;
    Onnx__OperatorSetIdProto opset, *opsets[1] = {&opset};
    onnx__model_proto__init(&model);
    onnx__graph_proto__init(&graph);
    onnx__operator_set_id_proto__init(&opset);
    opset.domain = "";
    opset.has_version = 1;
    opset.version = g->opset;
    graph.name = (char *)graph_name;
    graph.n_node = g->nodes.n;
    Onnx__NodeProto **nodes = fke_onnx_alloc(g, (g->nodes.n + 1) * sizeof *nodes);
    if (nodes)
        for (size_t i = 0; i < g->nodes.n; i++) nodes[i] = &((fke_onnx_node *)g->nodes.v[i])->p;
    graph.node = nodes;
    graph.n_initializer = g->inits.n;
    graph.initializer = (Onnx__TensorProto **)g->inits.v;
    graph.n_input = g->inputs.n;
    graph.input = (Onnx__ValueInfoProto **)g->inputs.v;
    graph.n_output = g->outputs.n;
    graph.output = (Onnx__ValueInfoProto **)g->outputs.v;
    model.has_ir_version = 1;
    model.ir_version = 7; /* ONNX 1.8 and later read it; opset 13 needs IR 7 */
    model.n_opset_import = 1;
    model.opset_import = opsets;
    model.producer_name = "fke";
    model.producer_version = (char *)producer_version;
    model.doc_string = (char *)g->doc;
    model.graph = &graph;
    model.n_metadata_props = g->meta.n;
    model.metadata_props = (Onnx__StringStringEntryProto **)g->meta.v;
    if (g->oom) return fke_fail(e, FKE_ERR_NOMEM, "%s: out of memory while building the model", path);
    size_t n = onnx__model_proto__get_packed_size(&model);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) return fke_fail(e, FKE_ERR_NOMEM, "%s: out of memory (%zu bytes)", path, n);
    size_t w = onnx__model_proto__pack(&model, buf);
    fke_atomic a;
    fke_status st = fke_atomic_open(&a, path, e);
    if (st == FKE_OK) {
        if (w != n || fwrite(buf, 1, n, a.f) != n) {
            fke_atomic_abort(&a);
            st = fke_fail(e, FKE_ERR_IO, "%s: cannot write the ONNX model", path);
        } else {
            st = fke_atomic_commit(&a, "ONNX model", e);
        }
    }
    free(buf);
    return st;
}
