/* Finite-difference gradient check: central differences of a random projection of the output, accumulated in double. */
#include "ig_ag_internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct ig_gradcheck_params ig_gradcheck_params_default(void)
{
    struct ig_gradcheck_params p = {1e-2, 2e-2, 2e-3, 64, 12345};
    return p;
}

/* L = sum r * out, in double. */
static enum ig_status eval_projection(struct ig_graph *g, ig_gradcheck_fn fn, void *user, struct ig_var *const *inputs,
                                      const float *r, int64_t n_out, float *host, double *L)
{
    ig_graph_reset(g);
    struct ig_var *out = fn(g, inputs, user);
    if (!out) return ig_graph_status(g) != IG_OK ? ig_graph_status(g) : IG_ERR_INTERNAL;
    if (ig_tensor_numel(out->value) != n_out) return ig_error(IG_ERR_SHAPE, "gradcheck: output size changed between runs");
    IG_TRY(ig_tensor_to_host(out->value, host, (size_t)n_out * sizeof(float)));
    double s = 0.0;
    for (int64_t i = 0; i < n_out; i++) s += (double)r[i] * (double)host[i];
    *L = s;
    return IG_OK;
}

enum ig_status ig_gradcheck(struct ig_backend *be, ig_gradcheck_fn fn, void *user, int n_inputs,
                            struct ig_var *const *inputs, struct ig_gradcheck_params p, double *worst)
{
    if (!be || !fn || n_inputs < 1 || !inputs) return ig_error(IG_ERR_INVALID_ARG, "ig_gradcheck: bad arguments");
    for (int i = 0; i < n_inputs; i++)
        if (!inputs[i] || !inputs[i]->is_param || inputs[i]->value->dtype != IG_DTYPE_F32)
            return ig_error(IG_ERR_INVALID_ARG, "ig_gradcheck: input %d must be an f32 parameter (ig_param_new)", i);
    struct ig_graph *g;
    IG_TRY(ig_graph_new(be, &g));
    enum ig_status s = IG_OK;
    float *r = NULL, *outh = NULL, *x = NULL, *ana = NULL;
    struct ig_tensor *seed = NULL;
    double w = 0.0;

    /* analytic: backward of sum(r * out) = backward seeded with r */
    struct ig_var *out = fn(g, inputs, user);
    if (!out) {
        s = ig_graph_status(g) != IG_OK ? ig_graph_status(g) : IG_ERR_INTERNAL;
        goto done;
    }
    int64_t n_out = ig_tensor_numel(out->value);
    r = malloc((size_t)n_out * sizeof *r);
    outh = malloc((size_t)n_out * sizeof *outh);
    if (!r || !outh) {
        s = ig_error(IG_ERR_OOM, "gradcheck: out of memory");
        goto done;
    }
    for (int64_t i = 0; i < n_out; i++) r[i] = 2.0f * ig_hash_uniform(p.seed, (uint64_t)i) - 1.0f;
    seed = ig_tensor_from_host(be, IG_DTYPE_F32, out->value->ndim, out->value->shape, r);
    if (!seed) {
        s = IG_ERR_OOM;
        goto done;
    }
    for (int i = 0; i < n_inputs; i++) ig_param_zero_grad(inputs[i]);
    if ((s = ig_graph_backward_seed(g, out, seed)) != IG_OK) goto done;
    ig_graph_set_grad_enabled(g, false);   /* the perturbed runs only need values */

    for (int k = 0; k < n_inputs && s == IG_OK; k++) {
        struct ig_var *in = inputs[k];
        int64_t n = ig_tensor_numel(in->value);
        size_t bytes = (size_t)n * sizeof(float);
        x = malloc(bytes);
        ana = malloc(bytes);
        if (!x || !ana) {
            s = ig_error(IG_ERR_OOM, "gradcheck: out of memory");
            break;
        }
        struct ig_tensor *gr = ig_var_grad(in);
        if (!gr) {
            s = IG_ERR_INTERNAL;
            break;
        }
        if ((s = ig_tensor_to_host(gr, ana, bytes)) != IG_OK) break;
        if ((s = ig_tensor_to_host(in->value, x, bytes)) != IG_OK) break;
        int64_t checks = (p.max_checks <= 0 || p.max_checks >= n) ? n : p.max_checks;
        for (int64_t c = 0; c < checks; c++) {
            int64_t j = checks == n ? c : (c * n) / checks + (c * 7919) % (n / checks > 0 ? n / checks : 1);
            if (j >= n) j = n - 1;
            float x0 = x[j];
            float xp = (float)(x0 + p.eps), xm = (float)(x0 - p.eps);
            double Lp, Lm;
            x[j] = xp;
            if ((s = ig_tensor_from_host_into(in->value, x, bytes)) != IG_OK) break;
            if ((s = eval_projection(g, fn, user, inputs, r, n_out, outh, &Lp)) != IG_OK) break;
            x[j] = xm;
            if ((s = ig_tensor_from_host_into(in->value, x, bytes)) != IG_OK) break;
            if ((s = eval_projection(g, fn, user, inputs, r, n_out, outh, &Lm)) != IG_OK) break;
            x[j] = x0;
            if ((s = ig_tensor_from_host_into(in->value, x, bytes)) != IG_OK) break;
            double num = (Lp - Lm) / ((double)xp - (double)xm);
            double err = fabs(num - (double)ana[j]) / (p.atol + p.rtol * fabs(num));
            if (err > w) w = err;
            if (err > 1.0 && s == IG_OK) {
                s = ig_error(IG_ERR_INTERNAL, "gradcheck: input %d element %lld: numeric %.6g vs analytic %.6g",
                             k, (long long)j, num, (double)ana[j]);
                break;
            }
        }
        free(x);
        free(ana);
        x = ana = NULL;
    }
done:
    if (worst) *worst = w;
    free(x);
    free(ana);
    free(r);
    free(outh);
    ig_tensor_free(seed);
    ig_graph_free(g);
    return s;
}
