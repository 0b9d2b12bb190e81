/* Check suite: the active-learning state file: settings fingerprint, strict reader, checksum, validation of every field, cleanup of debris. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ig_al_internal.h"
#include "ig_test_util.h"

enum { NR = 40, NL0 = 20, NU0 = 20, K = 5, EPOCHS = 3, CH = 3, HW = 6, NCL = 3 };

static char dir[256], spath[300];
static uint8_t img[NR * CH * HW * HW];
static int32_t lab[NR];
static struct ig_dataset ds;
static int64_t li0[NL0], ui0[NU0];
static struct al_settings set;
static struct ig_backend *be;
static struct ig_model *model;
static struct ig_optim *opt;

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/ig-test-state-%ld", (long)getpid());
    mkdir(dir, 0755);
    snprintf(spath, sizeof spath, "%s/t.state.json", dir);
    for (int i = 0; i < NR; i++) lab[i] = i % NCL;
    for (size_t i = 0; i < sizeof img; i++) img[i] = (uint8_t)(i * 7);
    ds = (struct ig_dataset){.n = NR, .channels = CH, .height = HW, .width = HW, .images = img, .labels = lab, .num_classes = NCL};
    for (int i = 0; i < NL0; i++) li0[i] = (i * 7) % NL0;          /* a shuffled LI */
    for (int i = 0; i < NU0; i++) ui0[i] = NL0 + (i * 3) % NU0;
    ck_assert_int_eq(ig_backend_init_cpu(&be, 1), IG_OK);
    ck_assert_int_eq(ig_model_small_cnn(&model, be, CH, HW, HW, NCL, 3), IG_OK);
    ck_assert_int_eq(ig_optim_adam_new(&opt, model, ig_adam_params_default()), IG_OK);
    struct ig_al_params p = ig_al_params_default();
    p.method = IG_AL_METHOD_RND;
    p.k = K;
    p.al_epochs = EPOCHS;
    ig_al_settings_run(&set, &p, model, &ds, &ds, li0, NL0, ui0, NU0);
}

static void teardown(void)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
    ig_optim_free(opt);
    ig_model_free(model);
    ig_backend_free(be);
}

/* A valid state at AL epoch 1 of 3: LI = LI0 + 5 pool rows, NLI = the next 5, UI = the other 10. */
static struct al_state base_state(int64_t *li, int64_t *ui, int64_t *nli, struct ig_al_epoch_stats *ep)
{
    struct al_state s;
    memset(&s, 0, sizeof s);
    snprintf(s.method, sizeof s.method, "rnd");
    s.settings = set;
    s.fingerprint = ig_al_settings_fingerprint(&set);
    s.al_epochs = EPOCHS;
    s.epoch_done = 1;
    s.a0 = 0.25;
    s.a = NAN;
    memcpy(li, li0, sizeof li0);
    for (int i = 0; i < K; i++) li[NL0 + i] = ui0[i], nli[i] = ui0[K + i];
    for (int i = 0; i < NU0 - 2 * K; i++) ui[i] = ui0[2 * K + i];
    s.li = li, s.n_li = NL0 + K;
    s.nli = nli, s.n_nli = K;
    s.ui = ui, s.n_ui = NU0 - 2 * K;
    s.epochs = ep;
    for (int i = 0; i < 4; i++) s.model_rng.s[i] = 0x1234567890abcdefull + (uint64_t)i;
    snprintf(s.model_file, sizeof s.model_file, "t.e1.safetensors");
    return s;
}

static void save_model(const char *name, uint64_t fp, int epoch)
{
    char mp[400];
    snprintf(mp, sizeof mp, "%s/%s", dir, name);
    ck_assert_msg(ig_al_state_model_save(model, opt, mp, fp, epoch) == IG_OK, "%s", ig_last_error());
}

static const struct al_state_expect expect = {&set, "rnd", "t", NULL, NR, li0, ui0, NL0, NU0, K, EPOCHS};

/* Save s, load it back and check it against the run: returns the status, message in ig_last_error(). */
static enum ig_status roundtrip(const struct al_state *s)
{
    ck_assert_msg(ig_al_state_save(s, spath) == IG_OK, "%s", ig_last_error());
    struct al_state got;
    enum ig_status st = ig_al_state_load(&got, spath);
    struct al_state_expect x = expect;
    x.dir = dir;
    if (st == IG_OK) st = ig_al_state_check(&got, &x, spath);
    ig_al_state_free(&got);
    return st;
}

static void expect_refused(const struct al_state *s, const char *needle)
{
    enum ig_status st = roundtrip(s);
    ck_assert_msg(st == IG_ERR_FORMAT, "state with %s accepted (%d)", needle, st);
    ck_assert_msg(strstr(ig_last_error(), needle) != NULL, "message '%s' does not name %s", ig_last_error(), needle);
}

START_TEST(test_valid_state_roundtrips)
{
    int64_t li[NR], ui[NR], nli[K];
    struct ig_al_epoch_stats ep[EPOCHS] = {{.train_s = 1, .score_s = 2, .fit_s = 3, .predict_s = 4, .select_s = 5, .total_s = 6, .test_acc = NAN}};
    struct al_state s = base_state(li, ui, nli, ep);
    save_model("t.e1.safetensors", s.fingerprint, 1);
    ck_assert_msg(roundtrip(&s) == IG_OK, "%s", ig_last_error());
    struct al_state got;
    ck_assert_int_eq(ig_al_state_load(&got, spath), IG_OK);
    ck_assert_int_eq(got.n_ui, NU0 - 2 * K);
    ck_assert_int_eq(got.ui[0], ui0[2 * K]);
    ck_assert_uint_eq(got.model_rng.s[3], 0x1234567890abcdefull + 3);
    ck_assert_double_eq(got.epochs[0].total_s, 6);
    ck_assert(isnan(got.epochs[0].test_acc) && isnan(got.a));
    ck_assert_str_eq(ig_al_settings_get(&got.settings, "test_size"), "40");
    ig_al_state_free(&got);
    /* a finished run: no model, LI holds everything selected */
    s.done = true, s.epoch_done = EPOCHS, s.a = 0.5, s.model_file[0] = '\0';
    for (int i = 0; i < 4 * K; i++) li[NL0 + i] = ui0[i];
    s.n_li = NL0 + 4 * K, s.n_nli = 0, s.n_ui = 0;
    ck_assert_msg(roundtrip(&s) == IG_OK, "%s", ig_last_error());
}
END_TEST

START_TEST(test_each_damaged_field_is_named)
{
    int64_t li[NR], ui[NR], nli[K];
    struct ig_al_epoch_stats ep[EPOCHS] = {{0}};
    struct al_state b = base_state(li, ui, nli, ep), s;
    save_model("t.e1.safetensors", b.fingerprint, 1);
    /* the heap-buffer overflow of the issue: LI rows moved into UI (more UI than the pool) */
    int64_t moved[NR];
    memcpy(moved, li + 1, (size_t)(b.n_li - 1) * sizeof *li);
    memcpy(moved + b.n_li - 1, ui, (size_t)b.n_ui * sizeof *ui);
    s = b, s.n_li = 1, s.ui = moved, s.n_ui = b.n_li - 1 + b.n_ui;
    expect_refused(&s, "\"li\" has 1 rows, expected 25");
    int64_t big_ui[NR];
    memcpy(big_ui, ui, (size_t)b.n_ui * sizeof *ui);
    memcpy(big_ui + b.n_ui, li + NL0, K * sizeof *li);
    s = b, s.n_li = NL0, s.ui = big_ui, s.n_ui = b.n_ui + K, s.epoch_done = 1;
    expect_refused(&s, "\"li\" has 20 rows");
    li[0] = 99999999, s = b;
    expect_refused(&s, "\"li\"[0] = 99999999 is not a row");
    li[0] = li0[0], nli[0] = NR, s = b;
    expect_refused(&s, "\"nli\"[0] = 40 is not a row");
    nli[0] = ui0[K], s = b, s.done = true;
    expect_refused(&s, "\"done\" is true but \"epoch_done\" 1");
    s = b, s.epoch_done = 0;
    expect_refused(&s, "\"li\" has 25 rows, expected 20 at epoch_done 0");
    s = b;
    snprintf(s.model_file, sizeof s.model_file, "t.e0.safetensors");
    save_model("t.e0.safetensors", b.fingerprint, 0);
    expect_refused(&s, "\"model_file\" is 't.e0.safetensors', expected 't.e1.safetensors'");
    ui[0] = li[0], s = b;
    expect_refused(&s, "appears twice");
    ui[0] = nli[0], s = b;
    expect_refused(&s, "\"nli\"[0]");
    ui[0] = ui0[2 * K], li[NL0] = li0[3], s = b;
    expect_refused(&s, "\"li\"[20]");
    li[NL0] = ui0[0], li[1] = li0[2], li[2] = li0[1], s = b;
    expect_refused(&s, "\"li\"[1]");
    li[1] = li0[1], li[2] = li0[2], s = b, s.a0 = 2;
    expect_refused(&s, "\"a0\"");
    s = b, s.a = 0.5;
    expect_refused(&s, "\"a\" must be null");
    s = b;
    snprintf(s.method, sizeof s.method, "ds");
    expect_refused(&s, "\"method\" is 'ds'");
    s = b;
    snprintf(s.settings.val[0], sizeof s.settings.val[0], "0.0.1");
    s.fingerprint = ig_al_settings_fingerprint(&s.settings);
    expect_refused(&s, "igradv_version (stored 0.0.1, now");
    s = b, s.al_epochs = EPOCHS + 1;
    expect_refused(&s, "\"al_epochs\" is 4");
    /* the model file: its own fingerprint, and its bytes as the state saw them */
    save_model("t.e1.safetensors", 0x77, 1);
    s = b;
    expect_refused(&s, "has fingerprint 0000000000000077 epoch 1 in its metadata");
    save_model("t.e1.safetensors", b.fingerprint, 1);
    s = b;
    ck_assert_msg(roundtrip(&s) == IG_OK, "%s", ig_last_error());
    char op[400];
    snprintf(op, sizeof op, "%s/t.e1.safetensors.optim", dir);
    FILE *f = fopen(op, "ab");
    fputc(' ', f);
    fclose(f);
    struct al_state got;
    struct al_state_expect x = expect;
    x.dir = dir;
    ck_assert_int_eq(ig_al_state_load(&got, spath), IG_OK);
    ck_assert_int_eq(ig_al_state_check(&got, &x, spath), IG_ERR_FORMAT);
    ck_assert_msg(strstr(ig_last_error(), "\"optim_hash\"") != NULL, "%s", ig_last_error());
    ig_al_state_free(&got);
}
END_TEST

/* Replace the first occurrence of from by to in the state file text and load + check it. */
static enum ig_status edit_and_load(const char *from, const char *to)
{
    size_t n;
    FILE *f = fopen(spath, "rb");
    char buf[1 << 16];
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *at = strstr(buf, from);
    ck_assert_msg(at != NULL, "'%s' not in the state file", from);
    char out[1 << 16];
    snprintf(out, sizeof out, "%.*s%s%s", (int)(at - buf), buf, to, at + strlen(from));
    struct al_state got;
    enum ig_status st = ig_al_state_load_mem(&got, out, strlen(out), spath);
    struct al_state_expect x = expect;
    x.dir = dir;
    if (st == IG_OK) st = ig_al_state_check(&got, &x, spath);
    ig_al_state_free(&got);
    return st;
}

START_TEST(test_text_edits_and_checksum)
{
    int64_t li[NR], ui[NR], nli[K];
    struct ig_al_epoch_stats ep[EPOCHS] = {{0}};
    struct al_state s = base_state(li, ui, nli, ep);
    save_model("t.e1.safetensors", s.fingerprint, 1);
    ck_assert_msg(roundtrip(&s) == IG_OK, "%s", ig_last_error());
    ck_assert_int_eq(edit_and_load("\"1234567890abcdef\"", "\"zz\""), IG_ERR_FORMAT);
    ck_assert_msg(strstr(ig_last_error(), "\"model_rng\" must be a string of 16 hex digits") != NULL, "%s", ig_last_error());
    ck_assert_int_eq(edit_and_load("\"1234567890abcdef\"", "\"1234567890abcdefzz\""), IG_ERR_FORMAT);
    ck_assert_int_eq(edit_and_load("\"a0\":0.25", "\"a0\":0.5"), IG_ERR_FORMAT);
    ck_assert_msg(strstr(ig_last_error(), "\"checksum\" does not match") != NULL, "%s", ig_last_error());
    ck_assert_int_eq(edit_and_load("\"epoch_done\":1", "\"epoch_done\":7"), IG_ERR_FORMAT);
    ck_assert_msg(strstr(ig_last_error(), "\"epoch_done\" must be an integer in 0..3") != NULL, "%s", ig_last_error());
    ck_assert_int_eq(edit_and_load("\"done\":false", "\"done\":0"), IG_ERR_FORMAT);
    ck_assert_msg(strstr(ig_last_error(), "\"done\" must be true or false") != NULL, "%s", ig_last_error());
    ck_assert_int_eq(edit_and_load("\"format\"", "\"format\":1,\"format\""), IG_ERR_FORMAT);
    ck_assert_int_eq(edit_and_load("{", "["), IG_ERR_FORMAT);
}
END_TEST

static bool exists(const char *name)
{
    char p[400];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return access(p, F_OK) == 0;
}

START_TEST(test_clean_removes_only_debris)
{
    const char *debris[] = {"t.e0.safetensors", "t.e0.safetensors.optim", "t.e12.safetensors", ".t.state.json.igtmp.123.4",
                            ".t.e1.safetensors.optim.igtmp.9.0"};
    const char *keep[] = {"t.e1.safetensors", "t.e1.safetensors.optim", "t.state.json", "t.e1x.safetensors",
                          "tt.e0.safetensors", "t.e0.safetensors.bak", ".t.state.json.igtmp.x", "notes.txt",
                          /* other runs' temporaries: another MPI rank may be writing them into this folder */
                          ".u.state.json.igtmp.5.1", ".tt.e0.safetensors.igtmp.1.1"};
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < (pass ? sizeof keep / sizeof *keep : sizeof debris / sizeof *debris); i++) {
            char p[400];
            snprintf(p, sizeof p, "%s/%s", dir, pass ? keep[i] : debris[i]);
            FILE *f = fopen(p, "w");
            ck_assert_ptr_nonnull(f);
            fclose(f);
        }
    ck_assert_int_eq(ig_al_state_clean(dir, "t", "t.e1.safetensors"), IG_OK);
    for (size_t i = 0; i < sizeof debris / sizeof *debris; i++) ck_assert_msg(!exists(debris[i]), "%s left", debris[i]);
    for (size_t i = 0; i < sizeof keep / sizeof *keep; i++) ck_assert_msg(exists(keep[i]), "%s removed", keep[i]);
    ck_assert_int_eq(ig_al_state_clean(dir, "t", ""), IG_OK);
    ck_assert(!exists("t.e1.safetensors") && !exists("t.e1.safetensors.optim") && exists("t.state.json"));
}
END_TEST

START_TEST(test_settings_and_init_sidecar)
{
    struct ig_al_params p = ig_al_params_default();
    p.method = IG_AL_METHOD_RND, p.k = K, p.al_epochs = EPOCHS;
    struct al_settings other;
    ig_al_settings_run(&other, &p, model, &ds, &ds, li0, NL0, ui0, NU0);
    ck_assert_uint_eq(ig_al_settings_fingerprint(&other), ig_al_settings_fingerprint(&set));
    /* one test image changed: the test-set hash, and only it, differs */
    img[sizeof img - 1] ^= 1;
    ig_al_settings_run(&other, &p, model, &ds, &ds, li0, NL0, ui0, NU0);
    img[sizeof img - 1] ^= 1;
    ck_assert_uint_ne(ig_al_settings_fingerprint(&other), ig_al_settings_fingerprint(&set));
    ck_assert_int_eq(ig_al_settings_compare(&other, &set, "x"), IG_ERR_FORMAT);
    ck_assert_msg(strstr(ig_last_error(), "data_test (stored") != NULL, "%s", ig_last_error());
    ck_assert_msg(strstr(ig_last_error(), "data_ui") != NULL, "%s", ig_last_error());   /* pool rows include the last one */
    ck_assert_msg(strstr(ig_last_error(), "k (") == NULL, "%s", ig_last_error());
    /* a test set of another size */
    struct ig_dataset small = ds;
    small.n = NR - 1;
    ig_al_settings_run(&other, &p, model, &ds, &small, li0, NL0, ui0, NU0);
    ck_assert_int_eq(ig_al_settings_compare(&other, &set, "x"), IG_ERR_FORMAT);
    ck_assert_msg(strstr(ig_last_error(), "test_size (stored 40, now 39)") != NULL, "%s", ig_last_error());
    /* line-1 sidecar: accepted only with the same settings and the same model files */
    char mp[400], meta[420];
    snprintf(mp, sizeof mp, "%s/init.safetensors", dir);
    snprintf(meta, sizeof meta, "%s.json", mp);
    ck_assert_int_eq(ig_model_save(model, opt, mp), IG_OK);
    ck_assert_msg(ig_al_init_meta_save(meta, mp, &set, 0.3, 1.5) == IG_OK, "%s", ig_last_error());
    double a0 = 0, ts = 0;
    ck_assert(ig_al_init_meta_load(meta, mp, &set, &a0, &ts));
    ck_assert_double_eq(a0, 0.3);
    ck_assert_double_eq(ts, 1.5);
    ck_assert(!ig_al_init_meta_load(meta, mp, &other, &a0, &ts));
    FILE *f = fopen(mp, "ab");
    fputc(0, f);
    fclose(f);
    ck_assert(!ig_al_init_meta_load(meta, mp, &set, &a0, &ts));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("state");
    TCase *tc = IG_TEST_CASE(s, "state", 0, test_valid_state_roundtrips, test_each_damaged_field_is_named,
                                            test_text_edits_and_checksum, test_clean_removes_only_debris,
                                            test_settings_and_init_sidecar);
    tcase_add_checked_fixture(tc, setup, teardown);
    return ig_test_run(s);
}
