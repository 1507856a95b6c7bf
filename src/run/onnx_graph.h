/* onnx_graph.h - an ONNX model built node by node and written as the
 * protobuf of onnx.proto. The messages are protobuf-c's, generated at build
 * time from the onnx.proto that Debian's python3-onnx installs (Makefile,
 * README "Using a trained model elsewhere"); this file is the only one that
 * sees them, so the exporter (export_onnx.c) speaks only of nodes, tensors
 * and names.
 *
 *   fke_onnx *g = fke_onnx_new(13);                     opset of the default domain
 *   fke_onnx_input(g, "image", FKE_ONNX_FLOAT, 4, (const long[]){-1, 3, 64, 64});
 *   const char *w = fke_onnx_init_float(g, "fc.weight", data, 2, dims);   borrowed data
 *   fke_onnx_node *n = fke_onnx_op(g, "Gemm", "y", 2, x, w);  (output name, inputs)
 *   fke_onnx_attr_int(g, n, "transB", 1);
 *   fke_onnx_output(g, "y", FKE_ONNX_FLOAT, 2, (const long[]){-1, 10});
 *   fke_onnx_meta(g, "fke.version", "0.1.0");
 *   st = fke_onnx_write(g, "m.onnx", "fke", "0.1.0", e);   atomic (core/file.h)
 *   fke_onnx_free(g);
 *
 * Every string and array passed in is copied into the graph's own memory,
 * except the data of fke_onnx_init_float, which is borrowed until the write
 * (the parameters of a loaded model); fke_onnx_alloc gives memory that lives
 * as long as the graph (reordered weights). A dimension of -1 is the batch
 * dimension, named "posts". An allocation failure is remembered and returned
 * by fke_onnx_write, so that the builder's calls need no checks. */
#ifndef FKE_ONNX_GRAPH_H
#define FKE_ONNX_GRAPH_H
#include <stdint.h>

#include "core/fke.h"

typedef struct fke_onnx fke_onnx;
typedef struct fke_onnx_node fke_onnx_node;

/* element types, as TensorProto.DataType numbers them */
enum { FKE_ONNX_FLOAT = 1, FKE_ONNX_INT32 = 6, FKE_ONNX_INT64 = 7, FKE_ONNX_BOOL = 9 };

fke_onnx *fke_onnx_new(int opset);
void fke_onnx_free(fke_onnx *g);
/* bytes that live as long as the graph (NULL when out of memory; remembered) */
void *fke_onnx_alloc(fke_onnx *g, size_t bytes);
/* a fresh value name, prefix + a number ("gemm_12"), owned by the graph */
const char *fke_onnx_name(fke_onnx *g, const char *prefix);

void fke_onnx_input(fke_onnx *g, const char *name, int elem, int ndim, const long *dims);
void fke_onnx_output(fke_onnx *g, const char *name, int elem, int ndim, const long *dims);
/* initializers; each returns its name. The float data is borrowed. */
const char *fke_onnx_init_float(fke_onnx *g, const char *name, const float *data, int ndim,
                                const long *dims);
const char *fke_onnx_init_int64(fke_onnx *g, const char *name, const int64_t *data, int ndim,
                                const long *dims);
/* A node of op with output `out` (NULL: a fresh name) and n inputs (an empty
 * string is an omitted optional input); the output's name is fke_onnx_out. */
fke_onnx_node *fke_onnx_op(fke_onnx *g, const char *op, const char *out, int n, ...);
/* the same with the inputs in an array (at most 64) */
fke_onnx_node *fke_onnx_opv(fke_onnx *g, const char *op, const char *out, int n,
                            const char *const *in);
/* a second, third ... output of a node (LSTM's Y_h) */
void fke_onnx_add_output(fke_onnx *g, fke_onnx_node *n, const char *out);
const char *fke_onnx_out(const fke_onnx_node *n, int i);
void fke_onnx_attr_int(fke_onnx *g, fke_onnx_node *n, const char *name, long v);
void fke_onnx_attr_float(fke_onnx *g, fke_onnx_node *n, const char *name, float v);
void fke_onnx_attr_ints(fke_onnx *g, fke_onnx_node *n, const char *name, int k, const long *v);
void fke_onnx_attr_string(fke_onnx *g, fke_onnx_node *n, const char *name, const char *v);
/* a metadata_props entry of the model */
void fke_onnx_meta(fke_onnx *g, const char *key, const char *value);
void fke_onnx_doc(fke_onnx *g, const char *doc);
/* what the graph holds: nodes, initializers and their bytes */
void fke_onnx_stats(const fke_onnx *g, long *nodes, long *inits, double *bytes);

/* Packs the model (IR version of the generated onnx.proto) and writes it
 * atomically to path; the message names path. */
fke_status fke_onnx_write(fke_onnx *g, const char *path, const char *graph_name,
                          const char *producer_version, fke_err *e);
#endif
