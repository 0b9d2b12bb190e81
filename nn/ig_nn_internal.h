/* Private nn structures shared by the optimiser and checkpoint code. */
#ifndef IG_NN_INTERNAL_H
#define IG_NN_INTERNAL_H
#include "ig_nn.h"

struct ig_optim_state {
    struct ig_var *param;
    struct ig_tensor *m;        /* Adam exp_avg / SGD momentum_buffer (NULL until first step) */
    struct ig_tensor *v;        /* Adam exp_avg_sq */
    int64_t steps;              /* updates of this parameter */
};

struct ig_optim {
    enum ig_optim_kind kind;
    struct ig_model *model;
    struct ig_adam_params adam;
    struct ig_sgd_params sgd;
    int n;
    struct ig_optim_state *state;   /* one per model parameter, same order */
    int64_t steps;                  /* ig_optim_step calls */
    ig_optim_grad_fn grad_hook;     /* before every step (NULL: none) */
    void *grad_user;
};

/* Allocate (zeroed) every state tensor, e.g. before loading saved state. */
enum ig_status ig_optim_state_alloc(struct ig_optim *o);
#endif
