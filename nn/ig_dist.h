/* igradv dist: the process group of a job (MPI ranks, or this process alone): rank, size, sums, broadcast, messages, and the data-parallel gradient reduction. */
#ifndef IG_DIST_H
#define IG_DIST_H
/*
 * Overview
 *   One struct ig_dist per process. Built with MPI (meson feature `mpi`) and started by a
 *   launcher (mpirun, srun: OMPI_COMM_WORLD_SIZE / PMI_SIZE / PMIX_RANK in the environment)
 *   it wraps MPI_COMM_WORLD; otherwise it is one process of rank 0 and size 1 and every
 *   collective is a no-op. Every function accepts d == NULL as that single process, so
 *   callers never test for MPI.
 *
 *   Data parallelism (ig_dist_dp_*): every rank holds the same model and optimiser; each
 *   minibatch of n rows is cut into size contiguous blocks (ig_dist_range), rank r trains
 *   on its block with the mean loss over its n_r rows, and before every optimiser step the
 *   hook sums (n_r / n) g_r over the ranks with one allreduce of a flat f32 buffer (by
 *   default in buckets overlapped with the backward pass, ig_dist_dp_set_overlap), so
 *   every rank applies the same Adam step to the same gradient (1/n) Σ ∇L. Batch norm
 *   uses per-rank batch statistics (PyTorch DDP's default); the running mean / variance
 *   travel in the same buffer and are averaged, so the buffers stay identical on every
 *   rank. A minibatch with fewer rows than ranks is computed whole by every rank (no
 *   reduction needed: all ranks hold the same result).
 *
 * Example
 *   struct ig_dist *d; ig_dist_init(&d, &argc, &argv);
 *   int64_t lo, hi; ig_dist_range(d, n, &lo, &hi);       // this rank's block of 0..n-1
 *   ... out[lo..hi) computed here ...
 *   ig_dist_gather_f64(d, out, n, lo, hi);               // every rank holds all of out
 *   ig_dist_finalize(d);
 */
#include <stdbool.h>
#include <stdint.h>
#include "ig_util.h"

struct ig_dist;
struct ig_optim;
struct ig_model;

/* True when the library was built with MPI. */
bool ig_dist_compiled(void);
/* The process group: MPI_COMM_WORLD when built with MPI and started by a launcher, else
 * one process. *out is never NULL on success. */
enum ig_status ig_dist_init(struct ig_dist **out, int *argc, char ***argv);
/* MPI_Finalize (when initialised here) and free; NULL is fine. */
void ig_dist_finalize(struct ig_dist *d);
/* Abort every rank with exit status code (MPI_Abort; without MPI: exit). */
void ig_dist_abort(struct ig_dist *d, int code);

int ig_dist_rank(const struct ig_dist *d);         /* 0 .. size-1 */
int ig_dist_size(const struct ig_dist *d);
/* Ranks on this node (OMPI_COMM_WORLD_LOCAL_SIZE / SLURM_NTASKS_PER_NODE; 1 if unknown). */
int ig_dist_local_size(const struct ig_dist *d);
/* CPU threads a rank may use without oversubscribing the node: the CPUs of its binding
 * (affinity mask) when it is bound to fewer than the node's online cores, else
 * node cores / ranks on the node, at least 1. *cores, *bound (may be NULL): node cores
 * and the CPUs of the rank's affinity mask. */
int ig_dist_threads_hint(const struct ig_dist *d, int *cores, int *bound);

/* In-place sums over the ranks (every rank receives the result). n >= 0. */
enum ig_status ig_dist_sum_f32(struct ig_dist *d, float *buf, int64_t n);
enum ig_status ig_dist_sum_f64(struct ig_dist *d, double *buf, int64_t n);
/* buf[0..bytes) of rank root to every rank. */
enum ig_status ig_dist_bcast(struct ig_dist *d, void *buf, int64_t bytes, int root);
enum ig_status ig_dist_barrier(struct ig_dist *d);
/* Point-to-point messages of bytes (blocking). recv: src -1 = any rank; *from (may be
 * NULL) receives the sender. Without MPI both fail with IG_ERR_STATE. */
enum ig_status ig_dist_send(struct ig_dist *d, int dest, int tag, const void *buf, int64_t bytes);
enum ig_status ig_dist_recv(struct ig_dist *d, int src, int tag, void *buf, int64_t bytes, int *from);

/* This rank's contiguous block [lo, hi) of 0..n-1 (sizes differ by at most one). When
 * n < size (a block would be empty) every rank gets the whole range [0, n). */
void ig_dist_range(const struct ig_dist *d, int64_t n, int64_t *lo, int64_t *hi);
/* After each rank filled buf[lo, hi) (from ig_dist_range): zero the rest and sum, so every
 * rank holds buf[0, n). Nothing to do when [lo, hi) is the whole range. */
enum ig_status ig_dist_gather_f64(struct ig_dist *d, double *buf, int64_t n, int64_t lo, int64_t hi);
enum ig_status ig_dist_gather_f32(struct ig_dist *d, float *buf, int64_t n, int64_t lo, int64_t hi);

/* ---------------------------------------------------------------- work queue
 * Units 0..n-1 handed out dynamically: a counter on rank 0 that every rank (rank 0 too)
 * advances with an atomic fetch-and-add (MPI one-sided), so a rank that finishes early
 * takes the next unit and no rank waits for a dispatcher. new and free are collective. */
struct ig_dist_queue;
enum ig_status ig_dist_queue_new(struct ig_dist_queue **out, struct ig_dist *d, int64_t n);
/* The next unit for this rank, or -1 when all are handed out. */
enum ig_status ig_dist_queue_next(struct ig_dist_queue *q, int64_t *unit);
/* Collective; waits for every rank (a barrier), NULL is fine. */
void ig_dist_queue_free(struct ig_dist_queue *q);

/* ---------------------------------------------------------------- data parallelism */

/* Install the gradient reduction on o (an optimiser of m) for d's ranks: o's grad hook and
 * the gradient hook of every parameter of m (ig_param_set_grad_hook; replaced); a group of
 * one rank installs nothing. */
enum ig_status ig_dist_dp_attach(struct ig_dist *d, struct ig_optim *o, struct ig_model *m);
/* The block [lo, hi) of a minibatch of n rows this rank trains on in the next step (the
 * hook weights its gradient by (hi - lo) / n). */
void ig_dist_dp_batch(struct ig_dist *d, int64_t n, int64_t *lo, int64_t *hi);
/* Overlap the reduction with the backward pass (default on): each parameter's gradient is
 * packed as soon as the backward has finished it (ig_param_set_grad_hook, autograd), and a
 * bucket of parameters (reverse layer order, about 1 MiB, a contiguous slice of the same flat
 * buffer) starts its MPI_Iallreduce when its last gradient is final; the sums progress
 * (MPI_Test) while the earlier layers' backward runs, and the optimiser hook waits for all of
 * them. The buffer and its sums are the blocking path's, element by element, so the result is
 * the same (bit for bit on 2 ranks, tests/test_mpi_dp.c). It allows one backward per optimiser
 * step: a second one before the step fails with IG_ERR_STATE (turn overlap off to accumulate
 * gradients). Off: one blocking MPI_Allreduce of the whole buffer in the optimiser hook. */
void ig_dist_dp_set_overlap(struct ig_dist *d, bool on);
bool ig_dist_dp_overlap(const struct ig_dist *d);
/* Gradient reductions so far: count, floats per reduction, seconds inside the transport
 * (blocking: the allreduce; overlapped: starting the sums, progressing them and the final
 * wait), buckets started, and of those the ones started during a backward pass. */
struct ig_dist_dp_stats { int64_t reductions, floats; double seconds; int64_t buckets, early; };
struct ig_dist_dp_stats ig_dist_dp_stats(const struct ig_dist *d);
#endif /* IG_DIST_H */
