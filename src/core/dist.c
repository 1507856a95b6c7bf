/* dist.c - see dist.h. The only file that includes mpi.h. */
#include "core/dist.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/version.h"

int fke_dist_launched(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", NULL};
    for (int i = 0; vars[i]; i++)
        if (getenv(vars[i])) return 1;
    return 0;
}

uint64_t fke_dist_hash(const void *p, size_t n, uint64_t h)
{
    const unsigned char *b = p;
    if (!h) h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

static fke_status mpi_fail(fke_err *e, int rc, const char *what)
{
    char s[MPI_MAX_ERROR_STRING] = "";
    int n = 0;
    MPI_Error_string(rc, s, &n);
    return fke_fail(e, FKE_ERR_IO, "MPI: %s failed (%s)", what, s);
}

fke_status fke_dist_init(fke_dist *d, fke_err *e)
{
    memset(d, 0, sizeof *d);
    d->size = d->local_size = 1;
    if (!fke_dist_launched()) return FKE_OK;
    int provided = 0, rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
    if (rc != MPI_SUCCESS) return mpi_fail(e, rc, "MPI_Init");
    d->active = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &d->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &d->size);
    MPI_Comm local;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &local) ==
        MPI_SUCCESS) {
        MPI_Comm_size(local, &d->local_size);
        MPI_Comm_free(&local);
    }
    /* every rank runs the same fke: version strings (commit included) */
    char mine[256], first[256];
    const char *v = getenv("FKE_DIST_VERSION");
    snprintf(mine, sizeof mine, "%s", v ? v : fke_version());
    memcpy(first, mine, sizeof first);
    MPI_Bcast(first, sizeof first, MPI_CHAR, 0, MPI_COMM_WORLD);
    int same = 0;
    FKE_TRY(fke_dist_same(d, fke_dist_hash(mine, strlen(mine), 0), &same, e));
    if (!same)
        return fke_fail(e, FKE_ERR_CONFIG,
                        "the %d ranks do not all run the same fke: rank 0 runs %s, rank %d runs "
                        "%s%s; install one build on every machine", d->size, first, d->rank,
                        mine, strcmp(first, mine) ? "" : " (another rank differs)");
    return FKE_OK;
}

fke_status fke_dist_sum_float(const fke_dist *d, float *buf, size_t n, fke_err *e)
{
    if (!d->active || d->size < 2) return FKE_OK;
    for (size_t off = 0; off < n;) { /* MPI counts are int */
        int k = n - off > (size_t)1 << 30 ? 1 << 30 : (int)(n - off);
        int rc = MPI_Allreduce(MPI_IN_PLACE, buf + off, k, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return mpi_fail(e, rc, "MPI_Allreduce of floats");
        off += (size_t)k;
    }
    return FKE_OK;
}

fke_status fke_dist_sum_double(const fke_dist *d, double *buf, size_t n, fke_err *e)
{
    if (!d->active || d->size < 2) return FKE_OK;
    for (size_t off = 0; off < n;) {
        int k = n - off > (size_t)1 << 30 ? 1 << 30 : (int)(n - off);
        int rc = MPI_Allreduce(MPI_IN_PLACE, buf + off, k, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return mpi_fail(e, rc, "MPI_Allreduce of doubles");
        off += (size_t)k;
    }
    return FKE_OK;
}

fke_status fke_dist_bcast(const fke_dist *d, void *buf, size_t bytes, int root, fke_err *e)
{
    if (!d->active || d->size < 2) return FKE_OK;
    for (size_t off = 0; off < bytes;) { /* MPI counts are int */
        int k = bytes - off > (size_t)1 << 30 ? 1 << 30 : (int)(bytes - off);
        int rc = MPI_Bcast((char *)buf + off, k, MPI_BYTE, root, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return mpi_fail(e, rc, "MPI_Bcast");
        off += (size_t)k;
    }
    return FKE_OK;
}

fke_status fke_dist_barrier(const fke_dist *d, fke_err *e)
{
    if (!d->active || d->size < 2) return FKE_OK;
    int rc = MPI_Barrier(MPI_COMM_WORLD);
    return rc == MPI_SUCCESS ? FKE_OK : mpi_fail(e, rc, "MPI_Barrier");
}

fke_status fke_dist_same(const fke_dist *d, uint64_t v, int *same, fke_err *e)
{
    *same = 1;
    if (!d->active || d->size < 2) return FKE_OK;
    /* max(v) and max(~v) = ~min(v): all equal iff max == min */
    uint64_t x[2] = {v, ~v};
    int rc = MPI_Allreduce(MPI_IN_PLACE, x, 2, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS) return mpi_fail(e, rc, "MPI_Allreduce of a checksum");
    *same = x[0] == ~x[1];
    return FKE_OK;
}

static fke_status reducer_sum(void *ctx, double *buf, int n, fke_err *e)
{
    return fke_dist_sum_double(ctx, buf, (size_t)n, e);
}

fke_reducer fke_dist_reducer(fke_dist *d) { return (fke_reducer){reducer_sum, d}; }

void fke_dist_abort(const fke_dist *d, int code, const char *msg)
{
    if (!d->active) return;
    fprintf(stderr, "fke: rank %d of %d: %s\n", d->rank, d->size, msg);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, code);
}

void fke_dist_finalize(fke_dist *d)
{
    if (d->active) MPI_Finalize();
    d->active = 0;
}
