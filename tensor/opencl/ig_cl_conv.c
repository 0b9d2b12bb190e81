/* OpenCL GEMM (clBLAST with offsets and transposed views) and conv2d forward/backward via im2col + one big GEMM per chunk. */
#include "ig_cl.h"
#include <stdlib.h>

/* Storage of a 2-D view for row-major clBLAST: op flag toggled for transpose views, leading dim. */
static enum ig_status gemm_operand(const struct ig_tensor *t, bool trans, const char *name, bool *flag, size_t *ld)
{
    int64_t r = t->shape[0], cdim = t->shape[1], s0 = t->stride[0], s1 = t->stride[1];
    if (s1 == 1 || cdim == 1) {            /* row-major rows of length cdim */
        *flag = trans;
        *ld = (size_t)(s0 > cdim ? s0 : (cdim > 0 ? cdim : 1));
        if (r == 1) *ld = (size_t)(cdim > 0 ? cdim : 1);
        return IG_OK;
    }
    if (s0 == 1 || r == 1) {               /* a transposed row-major [cdim, r] matrix */
        *flag = !trans;
        *ld = (size_t)(s1 > r ? s1 : (r > 0 ? r : 1));
        return IG_OK;
    }
    return ig_error(IG_ERR_LAYOUT, "gemm (opencl): %s has strides (%lld, %lld); one of them must be 1", name, (long long)s0, (long long)s1);
}

/* t0 C[M,N] (in/out), t1 A, t2 B */
enum ig_status ig_cl_op_gemm(struct ig_backend *be, const struct ig_op_call *c)
{
    const struct ig_tensor *C = c->t[0], *A = c->t[1], *B = c->t[2];
    const struct ig_gemm_params *p = &c->p.gemm;
    if (C->ndim != 2 || A->ndim != 2 || B->ndim != 2) return ig_error(IG_ERR_SHAPE, "gemm (opencl): operands must be 2-D");
    if (C->stride[1] != 1 && C->shape[1] > 1) return ig_error(IG_ERR_LAYOUT, "gemm (opencl): C must have unit column stride");
    size_t m = (size_t)C->shape[0], n = (size_t)C->shape[1];
    size_t k = (size_t)(p->trans_a ? A->shape[0] : A->shape[1]);
    bool ta = false, tb = false;
    size_t lda = 1, ldb = 1;
    IG_TRY(gemm_operand(A, p->trans_a, "A", &ta, &lda));
    IG_TRY(gemm_operand(B, p->trans_b, "B", &tb, &ldb));
    size_t ldc = n ? n : 1;
    if (C->shape[0] > 1 && C->stride[0] > (int64_t)ldc) ldc = (size_t)C->stride[0];
    return ig_cl_sgemm(be, ta, tb, m, n, k, p->alpha, ig_cl_mem(A), (size_t)A->offset, lda, ig_cl_mem(B),
                       (size_t)B->offset, ldb, p->beta, ig_cl_mem(C), (size_t)C->offset, ldc);
}

/* Conv geometry from x[N,C,H,W], w[O,C,KH,KW], y[N,O,Ho,Wo]. */
struct conv_geo {
    int64_t N, C, H, W, O, KH, KW, Ho, Wo, ckk, hw;
    int nb;            /* images per chunk */
};

static enum ig_status conv_geo_init(struct ig_backend *be, const struct ig_tensor *x, const struct ig_tensor *w,
                                    const struct ig_tensor *y, struct conv_geo *g)
{
    g->N = x->shape[0]; g->C = x->shape[1]; g->H = x->shape[2]; g->W = x->shape[3];
    g->O = w->shape[0]; g->KH = w->shape[2]; g->KW = w->shape[3];
    g->Ho = y->shape[2]; g->Wo = y->shape[3];
    g->ckk = g->C * g->KH * g->KW;
    g->hw = g->Ho * g->Wo;
    /* chunk so the column matrix stays under ~256 MiB and the device's largest allocation */
    size_t budget = ig_cl_of(be)->max_alloc;
    if (budget > ((size_t)256 << 20)) budget = (size_t)256 << 20;
    size_t per_image = (size_t)(g->ckk > g->O ? g->ckk : g->O) * (size_t)g->hw * sizeof(float);
    int64_t nb = per_image ? (int64_t)(budget / per_image) : g->N;
    if (nb < 1) nb = 1;
    int cap = be->opts.cl_conv_images;    /* option (IGRADV_CL_CONV_IMAGES): force small chunks */
    if (cap > 0 && nb > cap) nb = cap;
    if (nb > g->N) nb = g->N;
    if (per_image * (size_t)nb > ig_cl_of(be)->max_alloc)
        return ig_error(IG_ERR_OOM, "conv2d (opencl): one image needs %zu bytes of columns, device allows %zu", per_image, ig_cl_of(be)->max_alloc);
    g->nb = (int)nb;
    return IG_OK;
}

/* The window arguments im2col and col2im take after (buffers, n0, nb): C, H, W, KH, KW, strides, pads, Ho, Wo */
static void arg_window(struct ig_cl_launch *L, const struct conv_geo *g, const struct ig_conv2d_params *p)
{
    const int64_t v[] = {g->C, g->H, g->W, g->KH, g->KW, p->stride_h, p->stride_w, p->pad_h, p->pad_w, g->Ho, g->Wo};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) ig_cl_arg_i(L, v[i]);
}

/* t = 0 (an empty reduction) */
static enum ig_status zero_out(struct ig_backend *be, const struct ig_tensor *t)
{
    float z = 0.0f;
    return ig_cl_fill(be, ig_cl_mem(t), 4, (size_t)t->offset, (size_t)ig_tensor_numel(t), &z);
}

/* The two scratch buffers of a chunked conv: col [ckk, nb*hw] and tmp [O, nb*hw] */
static enum ig_status conv_scratch(struct ig_backend *be, const struct conv_geo *g, cl_mem *col, cl_mem *tmp)
{
    *col = ig_cl_scratch(be, IG_CL_SCRATCH_COL, (size_t)(g->ckk * g->nb * g->hw) * sizeof(float));
    if (!*col) return IG_ERR_OOM;
    *tmp = ig_cl_scratch(be, IG_CL_SCRATCH_TMP, (size_t)(g->O * g->nb * g->hw) * sizeof(float));
    return *tmp ? IG_OK : IG_ERR_OOM;
}

/* col[ckk, nb*hw] = im2col of images n0..n0+nb-1 */
static enum ig_status im2col(struct ig_backend *be, cl_mem col, const struct ig_tensor *x, const struct conv_geo *g,
                             const struct ig_conv2d_params *p, int64_t n0, int64_t nb)
{
    struct ig_cl_launch L = ig_cl_begin(be, IG_CLK_im2col);
    ig_cl_arg_buf(&L, col);
    ig_cl_arg_t(&L, x);
    ig_cl_arg_i(&L, n0);
    ig_cl_arg_i(&L, nb);
    arg_window(&L, g, p);
    return ig_cl_run3(&L, g->Wo, g->Ho, g->ckk);
}

/* t[O, nb*hw] = dy[n0.., O, hw] */
static enum ig_status to_ocols(struct ig_backend *be, cl_mem t, const struct ig_tensor *dy, const struct conv_geo *g,
                               int64_t n0, int64_t nb)
{
    struct ig_cl_launch L = ig_cl_begin(be, IG_CLK_nchw_to_ocols);
    ig_cl_arg_buf(&L, t);
    ig_cl_arg_t(&L, dy);
    ig_cl_arg_i(&L, n0);
    ig_cl_arg_i(&L, nb);
    ig_cl_arg_i(&L, g->O);
    ig_cl_arg_i(&L, g->hw);
    return ig_cl_run3(&L, g->hw, g->O, nb);
}

static enum ig_status need4(const struct ig_op_call *c, int nslots)
{
    for (int i = 0; i < nslots; i++)
        if (c->t[i] && !ig_tensor_is_contiguous(c->t[i]))
            return ig_error(IG_ERR_LAYOUT, "%s (opencl): tensor slot %d must be contiguous", ig_op_name(c->op), i);
    return IG_OK;
}

/* Contiguous slots and the geometry of a conv call whose x, w and y (or their gradients) sit in slots xi, wi, yi */
static enum ig_status conv_setup(struct ig_backend *be, const struct ig_op_call *c, int nslots, int xi, int wi, int yi,
                                 struct conv_geo *g)
{
    IG_TRY(need4(c, nslots));
    *g = (struct conv_geo){0};
    return conv_geo_init(be, c->t[xi], c->t[wi], c->t[yi], g);
}

/* images in the chunk starting at n0 */
static int64_t chunk_images(const struct conv_geo *g, int64_t n0) { return g->N - n0 < g->nb ? g->N - n0 : g->nb; }

/* The work on the images [n0, n0 + nb) of a conv call, with the scratch col and tmp (see conv_scratch) */
typedef enum ig_status (*conv_chunk_fn)(struct ig_backend *be, const struct ig_op_call *c, const struct conv_geo *g,
                                        cl_mem col, cl_mem tmp, int64_t n0, int64_t nb);

/* Runs chunk over all N images, g->nb at a time */
static enum ig_status for_chunks(struct ig_backend *be, const struct ig_op_call *c, const struct conv_geo *g,
                                 conv_chunk_fn chunk)
{
    cl_mem col, tmp;
    IG_TRY(conv_scratch(be, g, &col, &tmp));
    for (int64_t n0 = 0; n0 < g->N; n0 += g->nb) IG_TRY(chunk(be, c, g, col, tmp, n0, chunk_images(g, n0)));
    return IG_OK;
}

/* y chunk: tmp[O, cols] = w[O, ckk] col[ckk, cols], then scattered to y (+ bias) */
static enum ig_status fwd_chunk(struct ig_backend *be, const struct ig_op_call *c, const struct conv_geo *g, cl_mem col,
                                cl_mem tmp, int64_t n0, int64_t nb)
{
    const struct ig_tensor *y = c->t[0], *x = c->t[1], *w = c->t[2], *b = c->t[3];
    size_t cols = (size_t)(nb * g->hw);
    IG_TRY(im2col(be, col, x, g, &c->p.conv, n0, nb));
    IG_TRY(ig_cl_sgemm(be, false, false, (size_t)g->O, cols, (size_t)g->ckk, 1.0f, ig_cl_mem(w), (size_t)w->offset,
                       (size_t)g->ckk, col, 0, cols, 0.0f, tmp, 0, cols));
    struct ig_cl_launch L = ig_cl_begin(be, IG_CLK_ocols_to_nchw);
    ig_cl_arg_t(&L, y);
    ig_cl_arg_buf(&L, tmp);
    ig_cl_arg_t(&L, b);
    ig_cl_arg_i(&L, b != NULL);
    ig_cl_arg_i(&L, n0);
    ig_cl_arg_i(&L, nb);
    ig_cl_arg_i(&L, g->O);
    ig_cl_arg_i(&L, g->hw);
    return ig_cl_run3(&L, g->hw, g->O, nb);
}

/* dx chunk: col[ckk, cols] = w[O, ckk]^T tmp[O, cols] (tmp = dy), then col2im into dx */
static enum ig_status bwd_data_chunk(struct ig_backend *be, const struct ig_op_call *c, const struct conv_geo *g,
                                     cl_mem col, cl_mem tmp, int64_t n0, int64_t nb)
{
    const struct ig_tensor *dx = c->t[0], *dy = c->t[1], *w = c->t[2];
    size_t cols = (size_t)(nb * g->hw);
    IG_TRY(to_ocols(be, tmp, dy, g, n0, nb));
    IG_TRY(ig_cl_sgemm(be, true, false, (size_t)g->ckk, cols, (size_t)g->O, 1.0f, ig_cl_mem(w), (size_t)w->offset,
                       (size_t)g->ckk, tmp, 0, cols, 0.0f, col, 0, cols));
    struct ig_cl_launch L = ig_cl_begin(be, IG_CLK_col2im);
    ig_cl_arg_t(&L, dx);
    ig_cl_arg_buf(&L, col);
    ig_cl_arg_i(&L, n0);
    ig_cl_arg_i(&L, nb);
    arg_window(&L, g, &c->p.conv);
    return ig_cl_run3(&L, g->W, g->H, g->C);
}

/* t0 y[N,O,Ho,Wo], t1 x[N,C,H,W], t2 w[O,C,KH,KW], t3 b[O] or NULL */
enum ig_status ig_cl_op_conv2d_fwd(struct ig_backend *be, const struct ig_op_call *c)
{
    struct conv_geo g;
    IG_TRY(conv_setup(be, c, 4, 1, 2, 0, &g));
    const struct ig_tensor *y = c->t[0], *b = c->t[3];
    if (g.N == 0 || g.hw == 0 || g.O == 0) return IG_OK;
    if (g.ckk == 0) {
        IG_TRY(zero_out(be, y));
        if (!b) return IG_OK;
        struct ig_op_call bc = {.op = IG_OP_BIAS_ADD, .t = {c->t[0], c->t[3]}};
        return ig_cl_op_bias_add(be, &bc);
    }
    return for_chunks(be, c, &g, fwd_chunk);
}

/* t0 dx[N,C,H,W], t1 dy[N,O,Ho,Wo], t2 w[O,C,KH,KW] */
enum ig_status ig_cl_op_conv2d_bwd_data(struct ig_backend *be, const struct ig_op_call *c)
{
    struct conv_geo g;
    IG_TRY(conv_setup(be, c, 3, 0, 2, 1, &g));
    const struct ig_tensor *dx = c->t[0];
    if (g.N == 0) return IG_OK;
    if (g.hw == 0 || g.O == 0 || g.ckk == 0) return zero_out(be, dx);
    return for_chunks(be, c, &g, bwd_data_chunk);
}

/* dw[O, ckk] = beta dw + tmp[O, cols] col[ckk, cols]^T. The output is small and K = cols long, which
 * leaves most of a GPU idle (and runs clBLAST's slow path on PoCL), so K is split into S slices computed
 * as one strided-batched GEMM into partial results, then summed; a tail of cols % S columns goes
 * through one more GEMM. The cl_splitk option (IGRADV_CL_SPLITK: columns per slice, default 1024; 0 = off) tunes it. */
static enum ig_status weight_grad_gemm(struct ig_backend *be, const struct conv_geo *g, cl_mem tmp, cl_mem col, size_t cols,
                                       const struct ig_tensor *dw, float beta)
{
    size_t O = (size_t)g->O, ckk = (size_t)g->ckk, outn = O * ckk;
    size_t per = (size_t)be->opts.cl_splitk;
    size_t S = per ? cols / per : 1;
    if (S > 64) S = 64;
    while (S > 1 && S * outn * sizeof(float) > ((size_t)64 << 20)) S--;  /* partials under 64 MiB */
    if (S < 2)
        return ig_cl_sgemm(be, false, true, O, ckk, cols, 1.0f, tmp, 0, cols, col, 0, cols, beta, ig_cl_mem(dw),
                           (size_t)dw->offset, ckk);
    size_t ks = cols / S, tail = cols - S * ks;
    cl_mem part = ig_cl_scratch(be, IG_CL_SCRATCH_PART, S * outn * sizeof(float));
    if (!part) return IG_ERR_OOM;
    IG_TRY(ig_cl_sgemm_batched(be, false, true, O, ckk, ks, 1.0f, tmp, 0, cols, ks, col, 0, cols, ks, 0.0f, part, 0, ckk,
                               outn, S));
    struct ig_cl_launch L = ig_cl_begin(be, IG_CLK_sum_parts);
    ig_cl_arg_t(&L, dw);
    ig_cl_arg_buf(&L, part);
    ig_cl_arg_i(&L, (int64_t)S);
    ig_cl_arg_i(&L, (int64_t)outn);
    ig_cl_arg_f(&L, beta);
    IG_TRY(ig_cl_run(&L, (int64_t)outn, 0));
    if (tail == 0) return IG_OK;
    return ig_cl_sgemm(be, false, true, O, ckk, tail, 1.0f, tmp, S * ks, cols, col, S * ks, cols, 1.0f, ig_cl_mem(dw),
                       (size_t)dw->offset, ckk);
}

/* dw chunk: dw = (n0 == 0 ? 0 : dw) + dy_chunk[O, cols] col[ckk, cols]^T */
static enum ig_status bwd_weight_chunk(struct ig_backend *be, const struct ig_op_call *c, const struct conv_geo *g,
                                       cl_mem col, cl_mem tmp, int64_t n0, int64_t nb)
{
    const struct ig_tensor *dw = c->t[0], *dy = c->t[1], *x = c->t[2];
    IG_TRY(im2col(be, col, x, g, &c->p.conv, n0, nb));
    IG_TRY(to_ocols(be, tmp, dy, g, n0, nb));
    return weight_grad_gemm(be, g, tmp, col, (size_t)(nb * g->hw), dw, n0 == 0 ? 0.0f : 1.0f);
}

/* t0 dw[O,C,KH,KW], t1 dy[N,O,Ho,Wo], t2 x[N,C,H,W] */
enum ig_status ig_cl_op_conv2d_bwd_weight(struct ig_backend *be, const struct ig_op_call *c)
{
    struct conv_geo g;
    IG_TRY(conv_setup(be, c, 3, 2, 0, 1, &g));
    const struct ig_tensor *dw = c->t[0];
    if (g.O == 0 || g.ckk == 0) return IG_OK;
    if (g.N == 0 || g.hw == 0) return zero_out(be, dw);
    return for_chunks(be, c, &g, bwd_weight_chunk);
}

/* Per-sample dw chunk: dw_n[O, ckk] = dy_n[O, hw] col_n[ckk, hw]^T for the nb images, one strided-batched GEMM
 * (col holds image i's columns at i*hw; dy_n is contiguous) */
static enum ig_status bwd_weight_persample_chunk(struct ig_backend *be, const struct ig_op_call *c,
                                                 const struct conv_geo *g, cl_mem col, cl_mem tmp, int64_t n0, int64_t nb)
{
    (void)tmp;
    const struct ig_tensor *dw = c->t[0], *dy = c->t[1], *x = c->t[2];
    size_t O = (size_t)g->O, ckk = (size_t)g->ckk, hw = (size_t)g->hw, cols = (size_t)nb * hw;
    IG_TRY(im2col(be, col, x, g, &c->p.conv, n0, nb));
    return ig_cl_sgemm_batched(be, false, true, O, ckk, hw, 1.0f, ig_cl_mem(dy), (size_t)dy->offset + (size_t)n0 * O * hw,
                               hw, O * hw, col, 0, cols, hw, 0.0f, ig_cl_mem(dw),
                               (size_t)dw->offset + (size_t)n0 * O * ckk, ckk, O * ckk, (size_t)nb);
}

/* t0 dw[N*O,C,KH,KW], t1 dy[N,O,Ho,Wo], t2 x[N,C,H,W] */
enum ig_status ig_cl_op_conv2d_bwd_weight_persample(struct ig_backend *be, const struct ig_op_call *c)
{
    struct ig_tensor w1 = *c->t[0];   /* one instance's [O,C,KH,KW] for the geometry */
    w1.shape[0] = c->t[1]->shape[1];
    IG_TRY(need4(c, 3));
    struct conv_geo g = {0};
    IG_TRY(conv_geo_init(be, c->t[2], &w1, c->t[1], &g));
    const struct ig_tensor *dw = c->t[0];
    if (g.N == 0 || g.O == 0 || g.ckk == 0) return IG_OK;
    if (g.hw == 0) return zero_out(be, dw);
    return for_chunks(be, c, &g, bwd_weight_persample_chunk);
}

/* t0 db[O], t1 dy[N,O,Ho,Wo] */
enum ig_status ig_cl_op_conv2d_bwd_bias(struct ig_backend *be, const struct ig_op_call *c)
{
    IG_TRY(need4(c, 2));
    const struct ig_tensor *db = c->t[0], *dy = c->t[1];
    int64_t N = dy->shape[0], O = dy->shape[1], hw = dy->shape[2] * dy->shape[3];
    struct ig_cl_launch L = ig_cl_begin(be, IG_CLK_channel_sum);
    ig_cl_arg_t(&L, db);
    ig_cl_arg_t(&L, dy);
    ig_cl_arg_i(&L, N);
    ig_cl_arg_i(&L, O);
    ig_cl_arg_i(&L, hw);
    return ig_cl_run_groups(&L, O);
}
