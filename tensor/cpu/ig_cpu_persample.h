/* CPU fast path of the per-sample gradient engine: per-instance conv weight gradients dotted with reference vectors, and their squared norms. */
#ifndef IG_CPU_PERSAMPLE_H
#define IG_CPU_PERSAMPLE_H
#include "ig_tensor.h"

#define IG_CPU_PERSAMPLE_MAX_REFS 2

/* Per-sample terms of a conv layer y = conv(x, w) + b on the CPU backend. x [N,C,H,W] and
 * dy = dL/dy [N,O,Ho,Wo] contiguous; per instance n, with col_n the im2col of x_n [K,P]
 * (K = C KH KW from the layer's weight w [O,C,KH,KW], P = Ho Wo), dW_n[O,K] = dy_n[O,P] col_n^T and, when has_bias, db_n = Σ_p dy_n:
 *     acc_dot[r][n] += ⟨dW_n, refw[r]⟩ + ⟨db_n, refb[r]⟩     r < n_refs (refb[r] NULL: no bias term)
 *     acc_sq[n]     += ‖dW_n‖² + ‖db_n‖²
 * refw[r] [O,C,KH,KW] (contiguous), refb[r] [O]. With n_refs == 0 the weight norm comes from
 * the ghost norm ⟨col_n^T col_n, dy_n^T dy_n⟩ when P (K + O) < K O (cheaper), else from dW_n.
 * One OpenMP loop over instances, single-threaded sgemm inside; sums in double.
 * IG_ERR_BACKEND when a tensor is not on a CPU backend (callers use their generic path). */
enum ig_status ig_cpu_persample_conv(struct ig_backend *be, const struct ig_tensor *x, const struct ig_tensor *dy,
                                     const struct ig_tensor *w, struct ig_conv2d_params p, bool has_bias, int n_refs,
                                     const struct ig_tensor *const *refw, const struct ig_tensor *const *refb,
                                     double *const *acc_dot, double *acc_sq);
/* The ghost norm is used for this geometry (exposed for tests and the bench). */
bool ig_cpu_persample_uses_ghost(int64_t K, int64_t O, int64_t P);
#endif
