/* The small active-learning run shared by the AL loop tests (test_al_engine, test_mpi_dp): seconds per method. */
#ifndef IG_TEST_AL_H
#define IG_TEST_AL_H
#include "ig_al.h"

/* k 12, 2 AL epochs x 2 training epochs, batch 16, lr 3e-3, small regressors, seed 9. */
static inline struct ig_al_params ig_test_al_params(enum ig_al_method method, int threads)
{
    struct ig_al_params p = ig_al_params_default();
    p.method = method;
    p.k = 12;
    p.al_epochs = 2;
    p.train_epochs = 2;
    p.batch_size = 16;
    p.eval_batch = 32;
    p.lr = 3e-3f;
    p.gbr_estimators = 20;
    p.rf_estimators = 10;
    p.seed = 9;
    p.n_threads = threads;
    return p;
}
#endif
