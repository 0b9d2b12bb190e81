/* The small active-learning runs shared by the AL loop tests (test_al, test_al_engine, test_mpi_dp): seconds per method. */
#ifndef IG_TEST_AL_H
#define IG_TEST_AL_H
#include "ig_al.h"

/* What differs between the tests' small runs */
struct ig_test_al_size {
    int k, train_epochs, gbr_estimators;
    float lr;
};

/* The defaults with 2 AL epochs, batch 16 (eval 32), 10 forest trees and the sizes z. */
static inline struct ig_al_params ig_test_al_sized(enum ig_al_method method, struct ig_test_al_size z)
{
    struct ig_al_params p = ig_al_params_default();
    p.method = method;
    p.k = z.k, p.train_epochs = z.train_epochs, p.gbr_estimators = z.gbr_estimators, p.lr = z.lr;
    p.al_epochs = 2;
    p.batch_size = 16;
    p.eval_batch = 32;
    p.rf_estimators = 10;
    return p;
}

/* k 12, 2 AL epochs x 2 training epochs, batch 16, lr 3e-3, small regressors, seed 9. */
static inline struct ig_al_params ig_test_al_params(enum ig_al_method method, int threads)
{
    struct ig_al_params p =
        ig_test_al_sized(method, (struct ig_test_al_size){.k = 12, .train_epochs = 2, .gbr_estimators = 20, .lr = 3e-3f});
    p.seed = 9;
    p.n_threads = threads;
    return p;
}
#endif
