/* igradv-model: info, eval (accuracy, per-class accuracy, confusion matrix) and predict (probabilities to .npy) for a saved model, the architecture read from its metadata. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ig_cli.h"
#include "ig_data.h"
#include "ig_npy.h"
#include "ig_nn.h"
#include "ig_safetensors.h"

static const char *prog = "igradv-model";

static void usage(FILE *f)
{
    fprintf(f,
            "usage: %s info MODEL\n"
            "       %s eval MODEL --data DIR [options]\n"
            "       %s predict MODEL --data DIR --out FILE.npy [options]\n"
            "A model written by lal_cifar (DIR/model-<method>-s<seed>.safetensors) or train_cifar --save: the\n"
            "architecture, input shape, classes and input transform come from its metadata.\n"
            "  info     architecture, parameter count, tensors and every metadata entry\n"
            "  eval     accuracy, per-class accuracy and the confusion matrix (rows: true class) on a dataset\n"
            "  predict  softmax probabilities [n, classes] as float32 .npy\n"
            "options:\n"
            "  --data DIR        CIFAR-10 binary dir, or the Fashion-MNIST dir with --dataset fmnist\n"
            "  --dataset D       cifar10 | fmnist (default: the model's, else cifar10)\n"
            "  --split S         test | train (default test)\n"
            "  --n N             first N images of the split (default all)\n"
            "  --batch N         evaluation batch (default 256)\n"
            "  --out FILE        predict: the .npy file to write\n"
            "  --device D, --threads T   as for lal_cifar\n"
            "Exit status: 0 done, 1 runtime failure, 2 bad flag, file or data.\n",
            prog, prog, prog);
}

struct opts {
    const char *cmd, *model, *data, *dataset, *split, *out, *device;
    int64_t n, batch, threads;
};

/* What the metadata says about the model (defaults for files without it: CIFAR-10 shape). */
struct model_meta {
    char arch[32], dataset[16];
    int ch, h, w, classes;
    float mean, std;
};

static int parse(int argc, char **argv, struct opts *o)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? IG_CLI_EXIT_USAGE : 0;
    }
    static const char *const cmds[] = {"info", "eval", "predict"};
    if (!ig_cli_is_one_of(argv[1], cmds, 3)) return ig_cli_expected(prog, "command", "info, eval or predict", argv[1]);
    o->cmd = argv[1];
    if (argc < 3 || argv[2][0] == '-') return ig_cli_usage_error(prog, "%s needs a MODEL file", o->cmd);
    o->model = argv[2];
    static const char *const flags[] = {"--data", "--dataset", "--split", "--n", "--batch", "--out", "--device", "--threads"};
    for (int i = 3; i < argc; i++) {
        const char *a = argv[i];
        if (!ig_cli_is_one_of(a, flags, 8)) return ig_cli_usage_error(prog, "unknown option '%s'", a);
        if (i + 1 >= argc) return ig_cli_usage_error(prog, "option %s needs a value", a);
        const char *v = argv[++i];
        if (!strcmp(a, "--data")) o->data = v;
        else if (!strcmp(a, "--out")) o->out = v;
        else if (!strcmp(a, "--device")) o->device = v;
        else if (!strcmp(a, "--dataset")) {
            if (strcmp(v, "cifar10") && strcmp(v, "fmnist")) return ig_cli_expected(prog, a, "cifar10 or fmnist", v);
            o->dataset = v;
        } else if (!strcmp(a, "--split")) {
            if (strcmp(v, "test") && strcmp(v, "train")) return ig_cli_expected(prog, a, "test or train", v);
            o->split = v;
        } else if (!strcmp(a, "--n") && !ig_cli_parse_i64(v, 1, 1000000000, &o->n))
            return ig_cli_expected(prog, a, "an integer >= 1", v);
        else if (!strcmp(a, "--batch") && !ig_cli_parse_i64(v, 1, 65536, &o->batch))
            return ig_cli_expected(prog, a, "an integer in 1..65536", v);
        else if (!strcmp(a, "--threads") && !ig_cli_parse_i64(v, 1, 1024, &o->threads))
            return ig_cli_expected(prog, a, "an integer in 1..1024", v);
    }
    if (strcmp(o->cmd, "info") && !o->data) return ig_cli_usage_error(prog, "%s needs --data DIR", o->cmd);
    if (!strcmp(o->cmd, "predict") && !o->out) return ig_cli_usage_error(prog, "predict needs --out FILE.npy");
    return -1;
}

static int read_meta(const char *path, struct model_meta *mm, bool print)
{
    struct ig_safetensors *st;
    if (ig_safetensors_open(&st, path) != IG_OK) {
        fprintf(stderr, "%s: %s\n", prog, ig_last_error());
        return IG_CLI_EXIT_USAGE;
    }
    const char *arch = ig_safetensors_meta(st, "igradv_arch"), *in = ig_safetensors_meta(st, "igradv_input");
    const char *cl = ig_safetensors_meta(st, "igradv_classes"), *ds = ig_safetensors_meta(st, "igradv_dataset");
    const char *mean = ig_safetensors_meta(st, "igradv_norm_mean"), *sd = ig_safetensors_meta(st, "igradv_norm_std");
    *mm = (struct model_meta){.ch = 3, .h = 32, .w = 32, .classes = 10, .mean = 0.5f, .std = 0.5f};
    snprintf(mm->arch, sizeof mm->arch, "%s", arch ? arch : "");
    snprintf(mm->dataset, sizeof mm->dataset, "%s", ds ? ds : "cifar10");
    int bad = (in && sscanf(in, "%dx%dx%d", &mm->ch, &mm->h, &mm->w) != 3) || (cl && sscanf(cl, "%d", &mm->classes) != 1) ||
              (mean && sscanf(mean, "%f", &mm->mean) != 1) || (sd && sscanf(sd, "%f", &mm->std) != 1) || !(mm->std > 0);
    if (print) {
        printf("file %s\narch %s\ninput %dx%dx%d%s\nclasses %d\ntensors %d\nmetadata:\n", path, mm->arch, mm->ch, mm->h, mm->w,
               in ? "" : " (no igradv_input: CIFAR-10 assumed)", mm->classes, ig_safetensors_count(st));
        for (int i = 0; i < ig_safetensors_meta_count(st); i++) {
            const char *k, *v;
            ig_safetensors_meta_at(st, i, &k, &v);
            printf("  %s = %s\n", k, v);
        }
    }
    ig_safetensors_close(st);
    if (strcmp(mm->arch, "paper") && strcmp(mm->arch, "small"))
        return ig_cli_usage_error(prog, "%s: metadata igradv_arch is '%s', expected paper or small", path, mm->arch);
    if (bad) return ig_cli_usage_error(prog, "%s: malformed igradv_input/classes/norm metadata", path);
    return -1;
}

static int load_model(const struct opts *o, const struct model_meta *mm, struct ig_backend *be, struct ig_model **m)
{
    enum ig_status s = !strcmp(mm->arch, "paper") ? ig_model_paper_cnn(m, be, mm->ch, mm->h, mm->w, mm->classes, 0)
                                                 : ig_model_small_cnn(m, be, mm->ch, mm->h, mm->w, mm->classes, 0);
    if (s == IG_OK) s = ig_model_load(*m, NULL, o->model, NULL);
    if (s != IG_OK) {
        fprintf(stderr, "%s: %s: %s\n", prog, o->model, ig_last_error());
        return IG_CLI_EXIT_USAGE;
    }
    return -1;
}

static int load_data(const struct opts *o, const struct model_meta *mm, struct ig_dataset *ds)
{
    const char *name = o->dataset ? o->dataset : mm->dataset;
    enum ig_data_split split = o->split && !strcmp(o->split, "train") ? IG_DATA_TRAIN : IG_DATA_TEST;
    enum ig_status s = !strcmp(name, "fmnist") ? ig_fmnist_load(ds, o->data, split, o->n) : ig_cifar10_load(ds, o->data, split, o->n);
    if (s != IG_OK) {
        fprintf(stderr, "%s: --data %s: %s\n", prog, o->data, ig_last_error());
        return IG_CLI_EXIT_USAGE;
    }
    if (ds->channels != mm->ch || ds->height != mm->h || ds->width != mm->w || ds->num_classes != mm->classes)
        return ig_cli_usage_error(prog, "--data %s: images %dx%dx%d with %d classes, the model expects %dx%dx%d with %d", o->data,
                                  ds->channels, ds->height, ds->width, ds->num_classes, mm->ch, mm->h, mm->w, mm->classes);
    return -1;
}

static void print_eval(const struct ig_dataset *ds, const int32_t *pred)
{
    int k = ds->num_classes;
    int64_t *conf = calloc((size_t)(k * k), sizeof *conf), correct = 0;
    if (!conf) return;
    for (int64_t i = 0; i < ds->n; i++) {
        conf[ds->labels[i] * k + pred[i]]++;
        correct += pred[i] == ds->labels[i];
    }
    printf("images %lld\naccuracy %.4f\nper-class accuracy:\n", (long long)ds->n, (double)correct / (double)ds->n);
    for (int c = 0; c < k; c++) {
        int64_t row = 0;
        for (int j = 0; j < k; j++) row += conf[c * k + j];
        if (row) printf("  %2d %-12s %.4f (%lld images)\n", c, ds->class_names[c], (double)conf[c * k + c] / (double)row, (long long)row);
        else printf("  %2d %-12s -      (no images)\n", c, ds->class_names[c]);
    }
    printf("confusion matrix (rows: true class, columns: predicted):\n");
    for (int c = 0; c < k; c++) {
        for (int j = 0; j < k; j++) printf("%s%6lld", j ? " " : "  ", (long long)conf[c * k + j]);
        printf("\n");
    }
    free(conf);
}

static int run(const struct opts *o, const struct model_meta *mm, struct ig_backend *be)
{
    struct ig_model *m = NULL;
    struct ig_dataset ds = {0};
    int rc = load_model(o, mm, be, &m);
    if (rc < 0 && strcmp(o->cmd, "info")) rc = load_data(o, mm, &ds);
    if (rc < 0 && !strcmp(o->cmd, "info")) printf("parameters %lld\n", (long long)ig_model_num_params(m));
    if (rc < 0 && strcmp(o->cmd, "info")) {
        struct ig_norm_params norm;
        for (int c = 0; c < 4; c++) norm.mean[c] = mm->mean, norm.std[c] = mm->std;
        bool eval = !strcmp(o->cmd, "eval");
        int32_t *pred = malloc((size_t)ds.n * sizeof *pred);
        float *probs = eval ? NULL : malloc((size_t)(ds.n * mm->classes) * sizeof *probs);
        struct ig_predict_out out = {probs, pred, NULL};
        enum ig_status s = (!pred || (!eval && !probs)) ? ig_error(IG_ERR_OOM, "out of memory")
                                                       : ig_model_predict(m, &ds, NULL, ds.n, o->batch, norm, &out);
        if (s == IG_OK && eval) print_eval(&ds, pred);
        int64_t shape[2] = {ds.n, mm->classes};
        if (s == IG_OK && !eval && (s = ig_npy_write(o->out, IG_NPY_F32, 2, shape, probs)) == IG_OK)
            printf("wrote %s: float32 [%lld, %d] probabilities\n", o->out, (long long)ds.n, mm->classes);
        if (s != IG_OK) fprintf(stderr, "%s: %s\n", prog, ig_last_error());
        rc = s == IG_OK ? 0 : s == IG_ERR_IO ? IG_CLI_EXIT_USAGE : 1;
        free(pred);
        free(probs);
    }
    ig_model_free(m);
    ig_dataset_free(&ds);
    return rc < 0 ? 0 : rc;
}

int main(int argc, char **argv)
{
    struct opts o = {.batch = 256};
    int rc = parse(argc, argv, &o);
    if (rc >= 0) return rc;
    struct model_meta mm;
    rc = read_meta(o.model, &mm, !strcmp(o.cmd, "info"));
    if (rc >= 0) return rc;
    struct ig_backend *be = NULL;
    if (ig_cli_backend_init(o.device, o.threads, &be) != IG_OK) {
        fprintf(stderr, "%s: --device: %s\n", prog, ig_last_error());
        return IG_CLI_EXIT_USAGE;
    }
    rc = run(&o, &mm, be);
    ig_backend_free(be);
    return rc;
}
