/* Check suite for the tensor core: creation, views, transfers, buffer pool, backend selection, errors. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ig_config.h"
#include "ig_tensor.h"
#include "ig_test_util.h"

static struct ig_backend *be;

static void setup(void)
{
    ck_assert_int_eq(ig_backend_init_cpu(&be, 2), IG_OK);
}

static void teardown(void)
{
    ig_backend_free(be);
    be = NULL;
}

START_TEST(test_dtype_sizes)
{
    ck_assert_uint_eq(ig_dtype_size(IG_DTYPE_F32), 4);
    ck_assert_uint_eq(ig_dtype_size(IG_DTYPE_I32), 4);
    ck_assert_uint_eq(ig_dtype_size(IG_DTYPE_U8), 1);
    ck_assert_str_eq(ig_dtype_name(IG_DTYPE_U8), "u8");
    ck_assert_str_eq(ig_status_name(IG_ERR_SHAPE), "IG_ERR_SHAPE");
    ck_assert_str_eq(ig_status_name((enum ig_status)999), "IG_ERR_UNKNOWN");
}
END_TEST

START_TEST(test_roundtrip_and_strides)
{
    int64_t shape[3] = {2, 3, 5};
    float host[30], back[30];
    for (int i = 0; i < 30; i++) host[i] = (float)i * 0.5f - 3.0f;
    struct ig_tensor *t = ig_tensor_from_host(be, IG_DTYPE_F32, 3, shape, host);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(ig_tensor_numel(t), 30);
    ck_assert_int_eq(t->stride[0], 15);
    ck_assert_int_eq(t->stride[1], 5);
    ck_assert_int_eq(t->stride[2], 1);
    ck_assert(ig_tensor_is_contiguous(t));
    ck_assert_int_eq(ig_tensor_to_host(t, back, sizeof back), IG_OK);
    ck_assert_mem_eq(host, back, sizeof host);
    ck_assert_int_eq(ig_tensor_to_host(t, back, sizeof back - 4), IG_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(ig_last_error(), "bytes"));
    char buf[64];
    ck_assert_str_eq(ig_tensor_shape_str(t, buf, sizeof buf), "[2,3,5] f32");
    ig_tensor_free(t);
}
END_TEST

/* host[i] = i for the rows x cols elements, and an f32 tensor [rows, cols] holding them */
static struct ig_tensor *iota_2d(int64_t rows, int64_t cols, float *host)
{
    for (int64_t i = 0; i < rows * cols; i++) host[i] = (float)i;
    return ig_tensor_from_host(be, IG_DTYPE_F32, 2, (const int64_t[]){rows, cols}, host);
}

START_TEST(test_reshape)
{
    float host[24];
    struct ig_tensor *t = iota_2d(4, 6, host);
    int64_t s3[3] = {2, -1, 3};
    struct ig_tensor *r = ig_tensor_reshape(t, 3, s3);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->shape[1], 4);
    ck_assert_ptr_eq(r->buf, t->buf);  /* a view, no copy */
    float back[24];
    ck_assert_int_eq(ig_tensor_to_host(r, back, sizeof back), IG_OK);
    ck_assert_mem_eq(back, host, sizeof host);

    int64_t bad[2] = {5, 5};
    ck_assert_ptr_null(ig_tensor_reshape(t, 2, bad));
    ck_assert_ptr_nonnull(strstr(ig_last_error(), "24 elements"));
    int64_t two_infer[2] = {-1, -1};
    ck_assert_ptr_null(ig_tensor_reshape(t, 2, two_infer));
    int64_t inexact[2] = {-1, 5};
    ck_assert_ptr_null(ig_tensor_reshape(t, 2, inexact));

    struct ig_tensor *tr = ig_tensor_transpose(t, 0, 1);
    ck_assert(!ig_tensor_is_contiguous(tr));
    int64_t flat[1] = {24};
    ck_assert_ptr_null(ig_tensor_reshape(tr, 1, flat));
    ig_tensor_free(tr);
    ig_tensor_free(r);
    ig_tensor_free(t);   /* r was freed after t's last use; buffer released once */
}
END_TEST

START_TEST(test_slice_shares_buffer)
{
    float host[15];
    struct ig_tensor *t = iota_2d(5, 3, host);
    struct ig_tensor *s = ig_tensor_slice(t, 1, 3);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(s->shape[0], 3);
    ck_assert_int_eq(s->offset, 3);
    float back[9];
    ck_assert_int_eq(ig_tensor_to_host(s, back, sizeof back), IG_OK);
    for (int i = 0; i < 9; i++) ck_assert_float_eq(back[i], (float)(i + 3));
    /* writing through the view is visible in the parent */
    float ones[9];
    for (int i = 0; i < 9; i++) ones[i] = 1.0f;
    ck_assert_int_eq(ig_tensor_from_host_into(s, ones, sizeof ones), IG_OK);
    float all[15];
    ck_assert_int_eq(ig_tensor_to_host(t, all, sizeof all), IG_OK);
    ck_assert_float_eq(all[2], 2.0f);
    ck_assert_float_eq(all[3], 1.0f);
    ck_assert_float_eq(all[11], 1.0f);
    ck_assert_float_eq(all[12], 12.0f);
    /* the view keeps the buffer alive after the parent handle is gone */
    ig_tensor_free(t);
    ck_assert_int_eq(ig_tensor_to_host(s, back, sizeof back), IG_OK);
    ck_assert_float_eq(back[0], 1.0f);
    ck_assert_ptr_null(ig_tensor_slice(s, 2, 2));
    ck_assert_ptr_nonnull(strstr(ig_last_error(), "outside"));
    ck_assert_ptr_null(ig_tensor_slice(s, -1, 1));
    ig_tensor_free(s);
}
END_TEST

START_TEST(test_transpose_contiguous)
{
    float host[12];
    struct ig_tensor *t = iota_2d(3, 4, host);
    struct ig_tensor *tr = ig_tensor_transpose(t, 0, 1);
    ck_assert_int_eq(tr->shape[0], 4);
    ck_assert_int_eq(tr->stride[0], 1);
    float back[12];
    ck_assert_int_eq(ig_tensor_to_host(tr, back, sizeof back), IG_OK); /* strided read */
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 3; c++) ck_assert_float_eq(back[r * 3 + c], host[c * 4 + r]);
    struct ig_tensor *c = ig_tensor_contiguous(tr);
    ck_assert_ptr_nonnull(c);
    ck_assert(ig_tensor_is_contiguous(c));
    float back2[12];
    ck_assert_int_eq(ig_tensor_to_host(c, back2, sizeof back2), IG_OK);
    ck_assert_mem_eq(back, back2, sizeof back);
    ck_assert_ptr_null(ig_tensor_transpose(t, 0, 2));
    ig_tensor_free(c);
    ig_tensor_free(tr);
    ig_tensor_free(t);
}
END_TEST

START_TEST(test_gemm_transpose_views)
{
    /* c = a^T b with a given as a transpose view: must equal the naive product. */
    int64_t sa[2] = {5, 3}, sb[2] = {5, 4}, sc[2] = {3, 4};
    float a[15], b[20], c[12], ref[12];
    ig_test_fill_uniform(a, 15, 1, -1, 1);
    ig_test_fill_uniform(b, 20, 2, -1, 1);
    struct ig_tensor *ta = ig_tensor_from_host(be, IG_DTYPE_F32, 2, sa, a);
    struct ig_tensor *tb = ig_tensor_from_host(be, IG_DTYPE_F32, 2, sb, b);
    struct ig_tensor *tc = ig_tensor_new(be, IG_DTYPE_F32, 2, sc);
    struct ig_tensor *at = ig_tensor_transpose(ta, 0, 1);  /* [3,5] view */
    ck_assert_int_eq(ig_gemm(tc, at, tb, ig_gemm_params_default()), IG_OK);
    ck_assert_int_eq(ig_tensor_to_host(tc, c, sizeof c), IG_OK);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 4; j++) {
            double s = 0;
            for (int k = 0; k < 5; k++) s += (double)a[k * 3 + i] * b[k * 4 + j];
            ref[i * 4 + j] = (float)s;
        }
    ck_assert_double_le(ig_test_close_ratio(c, ref, 12, 1e-5, 1e-6), 1.0);
    /* shape mismatch is an error, not a crash */
    ck_assert_int_eq(ig_gemm(tc, ta, tb, ig_gemm_params_default()), IG_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(ig_last_error(), "gemm"));
    ig_tensor_free(at);
    ig_tensor_free(ta);
    ig_tensor_free(tb);
    ig_tensor_free(tc);
}
END_TEST

START_TEST(test_pool_reuses_buffers)
{
    int64_t shape[2] = {64, 1000};
    size_t in_use0, pooled0, in_use, pooled;
    ig_backend_memory(be, &in_use0, &pooled0);
    struct ig_tensor *t = ig_tensor_new(be, IG_DTYPE_F32, 2, shape);
    void *mem = t->buf;
    ig_backend_memory(be, &in_use, &pooled);
    ck_assert_uint_ge(in_use, in_use0 + 64 * 1000 * 4);
    ig_tensor_free(t);
    ig_backend_memory(be, &in_use, &pooled);
    ck_assert_uint_eq(in_use, in_use0);
    ck_assert_uint_ge(pooled, pooled0 + 64 * 1000 * 4);
    /* same size again: the pooled buffer comes back */
    t = ig_tensor_new(be, IG_DTYPE_F32, 2, shape);
    ck_assert_ptr_eq((void *)t->buf, mem);
    ig_tensor_free(t);
    ig_backend_trim(be);
    ig_backend_memory(be, &in_use, &pooled);
    ck_assert_uint_eq(pooled, 0);
}
END_TEST

START_TEST(test_bad_arguments)
{
    int64_t shape[2] = {2, 2}, neg[2] = {2, -3}, five[5] = {1, 1, 1, 1, 1};
    ck_assert_ptr_null(ig_tensor_new(NULL, IG_DTYPE_F32, 2, shape));
    ck_assert_ptr_nonnull(strstr(ig_last_error(), "backend is NULL"));
    ck_assert_ptr_null(ig_tensor_new(be, IG_DTYPE_F32, 2, neg));
    ck_assert_ptr_nonnull(strstr(ig_last_error(), "negative"));
    ck_assert_ptr_null(ig_tensor_new(be, IG_DTYPE_F32, 5, five));
    ck_assert_ptr_null(ig_tensor_new(be, (enum ig_dtype)42, 2, shape));
    ck_assert_ptr_null(ig_tensor_new(be, IG_DTYPE_F32, 2, NULL));
    ck_assert_ptr_null(ig_tensor_from_host(be, IG_DTYPE_F32, 2, shape, NULL));
    ck_assert_ptr_null(ig_tensor_view(NULL));
    ck_assert_ptr_null(ig_tensor_slice(NULL, 0, 1));
    ck_assert_int_eq(ig_tensor_to_host(NULL, shape, 4), IG_ERR_INVALID_ARG);
    ck_assert_int_eq(ig_fill(NULL, 1.0f), IG_ERR_INVALID_ARG);
    ig_tensor_free(NULL);  /* allowed */

    struct ig_tensor *f = ig_tensor_zeros(be, IG_DTYPE_F32, 2, shape);
    struct ig_tensor *i = ig_tensor_zeros(be, IG_DTYPE_I32, 2, shape);
    ck_assert_int_eq(ig_tensor_copy(f, i), IG_ERR_DTYPE);
    ck_assert_int_eq(ig_add(f, f, i), IG_ERR_DTYPE);
    ck_assert_ptr_nonnull(strstr(ig_last_error(), "i32"));
    ig_tensor_free(f);
    ig_tensor_free(i);
}
END_TEST

START_TEST(test_fill_and_zeros_all_dtypes)
{
    int64_t shape[1] = {7};
    struct ig_tensor *u = ig_tensor_new(be, IG_DTYPE_U8, 1, shape);
    struct ig_tensor *i = ig_tensor_zeros(be, IG_DTYPE_I32, 1, shape);
    ck_assert_int_eq(ig_fill(u, 200.0f), IG_OK);
    uint8_t ub[7];
    int32_t ib[7];
    ck_assert_int_eq(ig_tensor_to_host(u, ub, sizeof ub), IG_OK);
    ck_assert_int_eq(ig_tensor_to_host(i, ib, sizeof ib), IG_OK);
    for (int k = 0; k < 7; k++) {
        ck_assert_uint_eq(ub[k], 200);
        ck_assert_int_eq(ib[k], 0);
    }
    ig_tensor_free(u);
    ig_tensor_free(i);
}
END_TEST

static char logged[512];
static void capture(enum ig_log_level level, const char *msg, void *user)
{
    (void)level;
    (void)user;
    snprintf(logged, sizeof logged, "%s", msg);
}

START_TEST(test_backend_selection)
{
    struct ig_backend *b2 = NULL;
    ck_assert_int_eq(ig_backend_init("tpu", &b2), IG_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(ig_last_error(), "tpu"));
    ck_assert_ptr_null(b2);
    ck_assert_int_eq(ig_backend_init(NULL, &b2), IG_ERR_INVALID_ARG);
    ck_assert_int_eq(ig_backend_init("cpu", NULL), IG_ERR_INVALID_ARG);

    ig_log_set_handler(capture, NULL);
    setenv("IGRADV_DEVICE", "cpu", 1);
    logged[0] = '\0';
    ck_assert_int_eq(ig_backend_init_best(&b2), IG_OK);
    ck_assert_int_eq(ig_backend_kind(b2), IG_BACKEND_CPU);
    ck_assert_ptr_nonnull(strstr(logged, "IGRADV_DEVICE=cpu"));   /* one line says why */
    ig_backend_free(b2);

    setenv("IGRADV_DEVICE", "gpu-please", 1);
    ck_assert_int_ne(ig_backend_init_best(&b2), IG_OK);
    ck_assert_ptr_nonnull(strstr(ig_last_error(), "IGRADV_DEVICE=gpu-please"));
    unsetenv("IGRADV_DEVICE");
    ig_log_set_handler(NULL, NULL);
#if !IG_HAVE_OPENCL
    ck_assert_int_eq(ig_backend_init("opencl", &b2), IG_ERR_UNSUPPORTED);
    char list[256];
    ck_assert_int_eq(ig_backend_list_devices(list, sizeof list), IG_ERR_UNSUPPORTED);
#endif
}
END_TEST

START_TEST(test_op_names_and_profile)
{
    ck_assert_str_eq(ig_op_name(IG_OP_CONV2D_FWD), "conv2d_fwd");
    ck_assert_str_eq(ig_op_name(IG_OP_COUNT), "?");
    int64_t shape[1] = {100};
    struct ig_tensor *t = ig_tensor_new(be, IG_DTYPE_F32, 1, shape);
    ig_backend_profile_enable(be, true);
    ck_assert_int_eq(ig_fill(t, 1.0f), IG_OK);
    ck_assert_int_eq(ig_fill(t, 2.0f), IG_OK);
    double secs[IG_OP_COUNT];
    int64_t calls[IG_OP_COUNT];
    ig_backend_profile_read(be, secs, calls);
    ck_assert_int_eq(calls[IG_OP_FILL], 2);
    ck_assert_int_eq(calls[IG_OP_GEMM], 0);
    ck_assert_double_ge(secs[IG_OP_FILL], 0.0);
    ig_backend_profile_reset(be);
    ig_backend_profile_read(be, secs, calls);
    ck_assert_int_eq(calls[IG_OP_FILL], 0);
    ig_tensor_free(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tensor");
    TCase *tc = IG_TEST_CASE(s, "core", 0, test_dtype_sizes, test_roundtrip_and_strides, test_reshape,
                                           test_slice_shares_buffer, test_transpose_contiguous,
                                           test_gemm_transpose_views, test_pool_reuses_buffers, test_bad_arguments,
                                           test_fill_and_zeros_all_dtypes, test_backend_selection,
                                           test_op_names_and_profile);
    tcase_add_checked_fixture(tc, setup, teardown);
    return ig_test_run(s);
}
