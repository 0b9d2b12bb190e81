/* nn optimisers: Adam and SGD with momentum (torch.optim semantics) over a model's trainable parameters, via the fused step kernels. */
#include "ig_nn.h"
#include "ig_util.h"
#include "ig_nn_internal.h"
#include <stdlib.h>

enum ig_status ig_optim_new_common(struct ig_optim **out, struct ig_model *m, enum ig_optim_kind kind);
enum ig_status ig_optim_new_common(struct ig_optim **out, struct ig_model *m, enum ig_optim_kind kind)
{
    if (!out) return ig_error(IG_ERR_INVALID_ARG, "optimiser: out is NULL");
    *out = NULL;
    if (!m) return ig_error(IG_ERR_INVALID_ARG, "optimiser: model is NULL");
    struct ig_optim *o = calloc(1, sizeof *o);
    if (!o) return ig_error(IG_ERR_OOM, "optimiser: out of host memory");
    o->kind = kind;
    o->model = m;
    o->n = m->n_params;
    o->state = calloc((size_t)(o->n ? o->n : 1), sizeof *o->state);
    if (!o->state) {
        free(o);
        return ig_error(IG_ERR_OOM, "optimiser: out of host memory");
    }
    for (int i = 0; i < o->n; i++) o->state[i].param = m->params[i].var;
    *out = o;
    return IG_OK;
}

enum ig_status ig_optim_adam_new(struct ig_optim **out, struct ig_model *m, struct ig_adam_params p)
{
    if (!(p.lr >= 0.0f) || !(p.beta1 >= 0.0f && p.beta1 < 1.0f) || !(p.beta2 >= 0.0f && p.beta2 < 1.0f) || !(p.eps >= 0.0f)
        || !(p.weight_decay >= 0.0f))
        return ig_error(IG_ERR_INVALID_ARG, "Adam: invalid hyper-parameters (lr %g, betas %g %g, eps %g, weight_decay %g)",
                        (double)p.lr, (double)p.beta1, (double)p.beta2, (double)p.eps, (double)p.weight_decay);
    IG_TRY(ig_optim_new_common(out, m, IG_OPTIM_ADAM));
    (*out)->adam = p;
    (*out)->adam.step = 0;
    return IG_OK;
}

enum ig_status ig_optim_sgd_new(struct ig_optim **out, struct ig_model *m, struct ig_sgd_params p)
{
    if (!(p.lr >= 0.0f) || !(p.momentum >= 0.0f) || !(p.weight_decay >= 0.0f) || (p.nesterov && (p.momentum <= 0.0f || p.dampening != 0.0f)))
        return ig_error(IG_ERR_INVALID_ARG, "SGD: invalid hyper-parameters (lr %g, momentum %g, dampening %g, weight_decay %g%s)",
                        (double)p.lr, (double)p.momentum, (double)p.dampening, (double)p.weight_decay,
                        p.nesterov ? ", nesterov needs momentum > 0 and dampening 0" : "");
    IG_TRY(ig_optim_new_common(out, m, IG_OPTIM_SGD));
    (*out)->sgd = p;
    return IG_OK;
}

void ig_optim_free(struct ig_optim *o)
{
    if (!o) return;
    for (int i = 0; i < o->n; i++) {
        ig_tensor_free(o->state[i].m);
        ig_tensor_free(o->state[i].v);
    }
    free(o->state);
    free(o);
}

enum ig_optim_kind ig_optim_kind(const struct ig_optim *o) { return o->kind; }
int64_t ig_optim_steps(const struct ig_optim *o) { return o ? o->steps : 0; }

void ig_optim_set_lr(struct ig_optim *o, float lr)
{
    if (!o) return;
    if (o->kind == IG_OPTIM_ADAM) o->adam.lr = lr;
    else o->sgd.lr = lr;
}

float ig_optim_lr(const struct ig_optim *o) { return !o ? 0.0f : o->kind == IG_OPTIM_ADAM ? o->adam.lr : o->sgd.lr; }

void ig_optim_zero_grad(struct ig_optim *o)
{
    for (int i = 0; o && i < o->n; i++) ig_param_zero_grad(o->state[i].param);
}

/* Zeroed state tensor shaped like the parameter. */
static enum ig_status state_tensor(struct ig_tensor **slot, const struct ig_tensor *like)
{
    if (*slot) return IG_OK;
    *slot = ig_tensor_zeros(like->backend, IG_DTYPE_F32, like->ndim, like->shape);
    return *slot ? IG_OK : IG_ERR_OOM;
}

enum ig_status ig_optim_state_alloc(struct ig_optim *o);
enum ig_status ig_optim_state_alloc(struct ig_optim *o)
{
    for (int i = 0; i < o->n; i++) {
        struct ig_optim_state *st = &o->state[i];
        const struct ig_tensor *pv = ig_var_value(st->param);
        IG_TRY(state_tensor(&st->m, pv));
        if (o->kind == IG_OPTIM_ADAM) IG_TRY(state_tensor(&st->v, pv));
    }
    return IG_OK;
}

enum ig_status ig_optim_step(struct ig_optim *o)
{
    if (!o) return ig_error(IG_ERR_INVALID_ARG, "ig_optim_step: optimiser is NULL");
    if (o->kind == IG_OPTIM_ADAM) {
        struct ig_adam_params p = o->adam;
        for (int i = 0; i < o->n; i++) {
            struct ig_optim_state *st = &o->state[i];
            if (!ig_var_requires_grad(st->param) || !ig_param_has_grad(st->param)) continue;
            struct ig_tensor *pv = ig_var_value(st->param);
            IG_TRY(state_tensor(&st->m, pv));
            IG_TRY(state_tensor(&st->v, pv));
            st->steps++;            /* torch keeps one step count per parameter */
            p.step = st->steps;
            enum ig_status s = ig_adam_step(pv, ig_var_grad(st->param), st->m, st->v, p);
            if (s != IG_OK) return ig_error_prefix(s, "Adam step of %s", o->model->params[i].name);
        }
    } else {
        for (int i = 0; i < o->n; i++) {
            struct ig_optim_state *st = &o->state[i];
            if (!ig_var_requires_grad(st->param) || !ig_param_has_grad(st->param)) continue;
            struct ig_tensor *pv = ig_var_value(st->param);
            struct ig_sgd_params p = o->sgd;
            if (p.momentum != 0.0f) IG_TRY(state_tensor(&st->m, pv));
            p.first_step = st->steps == 0;
            st->steps++;
            enum ig_status s = ig_sgd_step(pv, ig_var_grad(st->param), p.momentum != 0.0f ? st->m : NULL, p);
            if (s != IG_OK) return ig_error_prefix(s, "SGD step of %s", o->model->params[i].name);
        }
    }
    o->steps++;
    return IG_OK;
}
