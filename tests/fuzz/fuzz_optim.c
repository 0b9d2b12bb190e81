/* libFuzzer target: the .optim reader: the input is the optimiser file of a fixed small model's checkpoint. */
#include "fuzz_util.h"
#include "ig_nn.h"
#include <string.h>

static struct ig_backend *be;
static struct ig_model *m;
static struct ig_optim *opt;
static char model_path[256];

/* One training step, then the model and its .optim into dir (the optim and safetensors corpora). */
static void write_seeds(const char *dir)
{
    int64_t xs[4] = {2, 3, 6, 6}, ys[1] = {2};
    float xh[2 * 108];
    int32_t yh[2] = {0, 2};
    for (int i = 0; i < 2 * 108; i++) xh[i] = (float)(i % 7) / 7.0f;
    struct ig_tensor *xt = ig_tensor_from_host(be, IG_DTYPE_F32, 4, xs, xh), *yt = ig_tensor_from_host(be, IG_DTYPE_I32, 1, ys, yh);
    struct ig_graph *g;
    char p[512];
    snprintf(p, sizeof p, "%s/m.safetensors", dir);
    if (!xt || !yt || ig_graph_new(be, &g) != IG_OK || ig_model_train_step(m, opt, g, xt, yt, NULL, NULL) != IG_OK ||
        ig_model_save(m, opt, p) != IG_OK)
        abort();
    exit(0);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    if (!be) {
        if (ig_backend_init_cpu(&be, 1) != IG_OK || ig_model_small_cnn(&m, be, 3, 6, 6, 3, 1) != IG_OK ||
            ig_optim_adam_new(&opt, m, ig_adam_params_default()) != IG_OK)
            abort();
        snprintf(model_path, sizeof model_path, "%s/m.safetensors", fuzz_dir());
        if (ig_model_save(m, NULL, model_path) != IG_OK) abort();
        const char *seeds = getenv("IGRADV_FUZZ_WRITE_SEEDS");   /* <dir>: a trained model's files as seeds */
        if (seeds) write_seeds(seeds);
    }
    fuzz_file("m.safetensors.optim", d, n);
    bool loaded = false;
    if (ig_model_load(m, opt, model_path, &loaded) == IG_OK && loaded && ig_optim_steps(opt) < 0) abort();
    return 0;
}
