/* dist.h - data-parallel training across processes over MPI (OpenMPI): the
 * one module that includes mpi.h. Everything else sees an fke_dist context
 * and the sums below.
 *
 * A program started without a launcher (no OMPI_COMM_WORLD_SIZE, PMIX_RANK or
 * PMI_RANK in the environment) never calls MPI_Init: it runs as rank 0 of 1
 * with active = 0, needs no MPI runtime (no daemon, no hostfile), and every
 * call below is a no-op that succeeds. Under mpirun, fke_dist_init calls
 * MPI_Init and checks that every rank runs the same fke (fke_version(), its
 * commit included): a mismatch is an error on every rank naming both.
 *
 *   fke_dist d;
 *   if (fke_dist_init(&d, &e) != FKE_OK) ...      (collective)
 *   fke_dist_sum_float(&d, grad, n, &e);           every rank gets the sum
 *   ...
 *   on an error on one rank: fke_dist_abort(&d, msg)   ends every rank
 *   fke_dist_finalize(&d);
 *
 * Sums are MPI_Allreduce(MPI_SUM): every rank receives the same bits (one
 * result computed and distributed), which the trainer checks with
 * fke_dist_same (config dist_check). MPI's errors are fatal (OpenMPI's
 * default, MPI_ERRORS_ARE_FATAL): a rank that dies or a broken link ends the
 * whole job with mpirun's message rather than a hang.
 *
 * Test hook: FKE_DIST_VERSION in the environment replaces this rank's version
 * string in the init check (tests/test_mpi.sh mixes "versions" with it). */
#ifndef FKE_DIST_H
#define FKE_DIST_H
#include <stddef.h>
#include <stdint.h>

#include "core/fke.h"

typedef struct {
    int active;      /* 1: started by a launcher, MPI_Init was called */
    int rank, size;  /* 0 and 1 when not active */
    int local_size;  /* ranks on this machine (1 when not active) */
} fke_dist;

/* Whether the environment names an MPI launcher (mpirun/srun/hydra). */
int fke_dist_launched(void);
/* Not launched: d = {0, 0, 1, 1}, FKE_OK. Launched: MPI_Init (threads
 * funneled) and the version check. */
fke_status fke_dist_init(fke_dist *d, fke_err *e);
/* In-place sums over all ranks (no-ops when not active or size 1). */
fke_status fke_dist_sum_float(const fke_dist *d, float *buf, size_t n, fke_err *e);
fke_status fke_dist_sum_double(const fke_dist *d, double *buf, size_t n, fke_err *e);
/* buf[0..bytes) of rank root to every rank. */
fke_status fke_dist_bcast(const fke_dist *d, void *buf, size_t bytes, int root, fke_err *e);
fke_status fke_dist_barrier(const fke_dist *d, fke_err *e);
/* *same = 1 when every rank passed the same v (collective). */
fke_status fke_dist_same(const fke_dist *d, uint64_t v, int *same, fke_err *e);
/* The reducer (core/fke.h) over d: sums of doubles over every rank. */
fke_reducer fke_dist_reducer(fke_dist *d);
/* Prints "fke: rank R of N: msg" on stderr and ends every rank of the job
 * (MPI_Abort, exit status code). Not active: prints nothing and returns. */
void fke_dist_abort(const fke_dist *d, int code, const char *msg);
void fke_dist_finalize(fke_dist *d);
/* FNV-1a over n bytes (parameter checksums, version hashes). */
uint64_t fke_dist_hash(const void *p, size_t n, uint64_t h);
#endif
