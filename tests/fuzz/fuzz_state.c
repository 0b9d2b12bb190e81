/* libFuzzer target: the active-learning state reader and its validation against a fixed run, then what a resume does with it (copy the index sets into the run's buffers, touch every row). */
#include "fuzz_util.h"
#include "ig_al_internal.h"
#include <math.h>
#include <string.h>

enum { NR = 40, NL0 = 20, NU0 = 20, K = 5, EPOCHS = 3, FEAT = 108 };

static uint8_t img[NR * FEAT];
static int32_t lab[NR];
static int64_t li0[NL0], ui0[NU0];
static struct al_settings set;
static struct al_state_expect x;

/* The run and the model files the seeds name (t.e0 / t.e1 in the fuzz folder). */
static void init_run(void)
{
    struct ig_backend *be;
    struct ig_model *m;
    struct ig_optim *opt;
    for (int i = 0; i < NR; i++) lab[i] = i % 3;
    for (int i = 0; i < NL0; i++) li0[i] = i;
    for (int i = 0; i < NU0; i++) ui0[i] = NL0 + i;
    struct ig_dataset ds = {.n = NR, .channels = 3, .height = 6, .width = 6, .images = img, .labels = lab, .num_classes = 3};
    if (ig_backend_init_cpu(&be, 1) != IG_OK || ig_model_small_cnn(&m, be, 3, 6, 6, 3, 1) != IG_OK ||
        ig_optim_adam_new(&opt, m, ig_adam_params_default()) != IG_OK)
        abort();
    struct ig_al_params p = ig_al_params_default();
    p.method = IG_AL_METHOD_RND, p.k = K, p.al_epochs = EPOCHS;
    ig_al_settings_run(&set, &p, m, &ds, &ds, li0, NL0, ui0, NU0);
    x = (struct al_state_expect){&set, "rnd", "t", fuzz_dir(), NR, li0, ui0, NL0, NU0, K, EPOCHS};
    char mp[256];
    for (int e = 0; e < 2; e++) {
        snprintf(mp, sizeof mp, "%s/t.e%d.safetensors", fuzz_dir(), e);
        if (ig_al_state_model_save(m, opt, mp, ig_al_settings_fingerprint(&set), e) != IG_OK) abort();
    }
    ig_optim_free(opt);
    ig_model_free(m);
    ig_backend_free(be);
    const char *seeds = getenv("IGRADV_FUZZ_WRITE_SEEDS");   /* regenerate tests/fuzz/state/ */
    if (seeds) {
        int64_t li[NL0 + NU0], ui[NU0], nli[K];
        struct ig_al_epoch_stats ep[EPOCHS] = {{.train_s = 1, .total_s = 6, .test_acc = 0.5, .n_labeled = 25, .score_mean = 0.125}};
        for (int e = 0; e <= 1; e++) {
            struct al_state s = {.settings = set, .epoch_done = e, .a0 = 0.25, .a = NAN, .al_epochs = EPOCHS, .epochs = ep};
            snprintf(s.method, sizeof s.method, "rnd");
            snprintf(s.model_file, sizeof s.model_file, "t.e%d.safetensors", e);
            memcpy(li, li0, sizeof li0);
            for (int i = 0; i < e * K; i++) li[NL0 + i] = ui0[i];
            for (int i = 0; i < K; i++) nli[i] = ui0[e * K + i];
            for (int i = 0; i < NU0 - (e + 1) * K; i++) ui[i] = ui0[(e + 1) * K + i];
            s.li = li, s.n_li = NL0 + e * K, s.nli = nli, s.n_nli = K, s.ui = ui, s.n_ui = NU0 - (e + 1) * K;
            char sp[256], out[512], cmd[1200];
            snprintf(sp, sizeof sp, "%s/t.state.json", fuzz_dir());
            if (ig_al_state_save(&s, sp) != IG_OK) abort();
            snprintf(out, sizeof out, "%s/epoch%d.json", seeds, e);
            snprintf(cmd, sizeof cmd, "cp %s %s", sp, out);
            if (system(cmd) != 0) abort();
        }
        exit(0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    if (!x.settings) init_run();
    struct al_state st;
    if (ig_al_state_load_mem(&st, (const char *)d, n, "fuzz.state.json") != IG_OK) return 0;
    if (ig_al_state_check(&st, &x, "fuzz.state.json") == IG_OK) {
        /* what ig_al_resume and the AL epochs then do with the sets */
        int64_t *li = malloc((NL0 + NU0) * sizeof *li), *ui = malloc(NU0 * sizeof *ui), *nli = malloc(K * sizeof *nli);
        memcpy(li, st.li, (size_t)st.n_li * sizeof *li);
        memcpy(ui, st.ui, (size_t)st.n_ui * sizeof *ui);
        memcpy(nli, st.nli, (size_t)st.n_nli * sizeof *nli);
        volatile uint8_t sink = 0;
        for (int64_t i = 0; i < st.n_li; i++) sink ^= img[li[i] * FEAT + FEAT - 1];
        for (int64_t i = 0; i < st.n_ui; i++) sink ^= img[ui[i] * FEAT + FEAT - 1];
        for (int64_t i = 0; i < st.n_nli; i++) sink ^= img[nli[i] * FEAT + FEAT - 1];
        (void)sink;
        free(li), free(ui), free(nli);
    }
    ig_al_state_free(&st);
    return 0;
}
