/* dist module as one process (every build, MPI or not): ranges, gathers, the work queue, thread shares, and the data-parallel hook's absence for one rank. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ig_dist.h"
#include "ig_nn.h"
#include "ig_test_util.h"

START_TEST(test_alone_is_rank0_of_1)
{
    struct ig_dist *d = NULL;
    int argc = 1;
    char *args[] = {"test_dist", NULL}, **argv = args;
    static const char *const launcher[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "PMI_RANK"};
    for (int i = 0; i < 4; i++) unsetenv(launcher[i]);   /* not started by a launcher: one process */
    ck_assert_int_eq(ig_dist_init(&d, &argc, &argv), IG_OK);
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(ig_dist_rank(d), 0);
    ck_assert_int_eq(ig_dist_size(d), 1);
    ck_assert_int_eq(ig_dist_rank(NULL), 0);
    ck_assert_int_eq(ig_dist_size(NULL), 1);
    double v[3] = {1, 2, 3};
    ck_assert_int_eq(ig_dist_sum_f64(d, v, 3), IG_OK);
    ck_assert(v[0] == 1 && v[1] == 2 && v[2] == 3);   /* a sum over one rank is the value */
    ck_assert_int_eq(ig_dist_sum_f64(d, v, -1), IG_ERR_INVALID_ARG);
    ck_assert_int_eq(ig_dist_bcast(d, v, 8, 0), IG_OK);
    ck_assert_int_eq(ig_dist_bcast(d, v, 8, 1), IG_ERR_INVALID_ARG);
    ck_assert_int_eq(ig_dist_barrier(d), IG_OK);
    ck_assert_int_eq(ig_dist_send(d, 0, 0, v, 8), IG_ERR_STATE);
    ck_assert_int_eq(ig_dist_recv(d, -1, 0, v, 8, NULL), IG_ERR_STATE);
    ck_assert_int_eq(ig_dist_init(NULL, &argc, &argv), IG_ERR_INVALID_ARG);
    ck_assert(ig_dist_dp_overlap(d));   /* the default; alone there is nothing to overlap */
    ig_dist_dp_set_overlap(d, false);
    ck_assert(!ig_dist_dp_overlap(d));
    ck_assert(!ig_dist_dp_overlap(NULL));
    ig_dist_dp_set_overlap(NULL, true);
    ig_dist_finalize(d);
    ig_dist_finalize(NULL);
}
END_TEST

START_TEST(test_range_and_gather_alone)
{
    int64_t lo, hi;
    ig_dist_range(NULL, 11, &lo, &hi);
    ck_assert(lo == 0 && hi == 11);
    ig_dist_dp_batch(NULL, 32, &lo, &hi);
    ck_assert(lo == 0 && hi == 32);
    double buf[4] = {4, 3, 2, 1};
    ck_assert_int_eq(ig_dist_gather_f64(NULL, buf, 4, 0, 4), IG_OK);
    ck_assert(buf[0] == 4 && buf[3] == 1);
    /* a partial block (as another rank would hold) keeps only its part */
    ck_assert_int_eq(ig_dist_gather_f64(NULL, buf, 4, 1, 3), IG_OK);
    ck_assert(buf[0] == 0 && buf[1] == 3 && buf[2] == 2 && buf[3] == 0);
    float f[3] = {1, 2, 3};
    ck_assert_int_eq(ig_dist_gather_f32(NULL, f, 3, 2, 3), IG_OK);
    ck_assert(f[0] == 0 && f[1] == 0 && f[2] == 3);
}
END_TEST

START_TEST(test_queue_alone_and_threads)
{
    struct ig_dist_queue *q = NULL;
    ck_assert_int_eq(ig_dist_queue_new(&q, NULL, 2), IG_OK);
    int64_t u;
    for (int64_t i = 0; i < 3; i++) {
        ck_assert_int_eq(ig_dist_queue_next(q, &u), IG_OK);
        ck_assert_int_eq(u, i < 2 ? i : -1);
    }
    ck_assert_int_eq(ig_dist_queue_next(NULL, &u), IG_ERR_INVALID_ARG);
    ig_dist_queue_free(q);
    ck_assert_int_eq(ig_dist_queue_new(&q, NULL, -3), IG_ERR_INVALID_ARG);
    int cores = 0, bound = 0, t = ig_dist_threads_hint(NULL, &cores, &bound);
    ck_assert_int_eq(cores, (int)sysconf(_SC_NPROCESSORS_ONLN));
    ck_assert(bound >= 1 && bound <= cores);
    ck_assert_int_eq(t, bound < cores ? bound : cores);   /* one rank: its binding, else the node */
    setenv("OMPI_COMM_WORLD_LOCAL_SIZE", "64", 1);          /* more ranks than cores: still >= 1 */
    ck_assert_int_ge(ig_dist_threads_hint(NULL, NULL, NULL), 1);
    unsetenv("OMPI_COMM_WORLD_LOCAL_SIZE");
}
END_TEST

/* One rank installs no reduction: a step is the plain step. */
START_TEST(test_dp_attach_alone_is_plain)
{
    struct ig_backend *be = NULL;
    ck_assert_int_eq(ig_backend_init_cpu(&be, 1), IG_OK);
    struct ig_model *m = NULL;
    struct ig_optim *o = NULL;
    ck_assert_int_eq(ig_model_mlp(&m, be, 4, 3, 2, 1), IG_OK);
    ck_assert_int_eq(ig_optim_adam_new(&o, m, ig_adam_params_default()), IG_OK);
    ck_assert_int_eq(ig_dist_dp_attach(NULL, o, m), IG_OK);
    ck_assert_int_eq(ig_dist_dp_attach(NULL, NULL, m), IG_ERR_INVALID_ARG);
    ck_assert_int_eq(ig_dist_dp_stats(NULL).reductions, 0);
    ig_optim_free(o);
    ig_model_free(m);
    ig_backend_free(be);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dist");
    TCase *tc = tcase_create("alone");
    tcase_add_test(tc, test_alone_is_rank0_of_1);
    tcase_add_test(tc, test_range_and_gather_alone);
    tcase_add_test(tc, test_queue_alone_and_threads);
    tcase_add_test(tc, test_dp_attach_alone_is_plain);
    suite_add_tcase(s, tc);
    return ig_test_run(s);
}
