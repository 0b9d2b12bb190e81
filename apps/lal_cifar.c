/* lal_cifar: LAL-IGradV (DS, LD, RDS, RLD) and the Rnd / LCS baselines on CIFAR-10 or Fashion-MNIST over a grid of fractions x seeds x k x methods; `lal_cifar report DIR` rebuilds the reports. */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ig_al.h"
#include "ig_cli.h"
#include "ig_data.h"
#include "ig_nn.h"
#include "lal_grid.h"
#include "lal_report.h"
#include "lal_study.h"

static const char *prog = "lal_cifar";

/* The study preset's seeds 1..STUDY_SEEDS (sized by measurement, README "The study"). */
#define STUDY_SEEDS 5
#define STUDY_SEEDS_TEXT "seeds 1-5"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: %s [options]\n"
            "       %s report DIR [--no-plots]   (rebuild the reports of DIR without training)\n"
            "Active learning with LAL-IGradV (Flesca et al.): for every unlabeled fraction and seed, split the\n"
            "training subset into LI and UI, train the CNN on LI (A0, shared by every k and method), then for\n"
            "every k spend k labels per AL epoch with each method and report the final test accuracy A.\n\n"
            "  --preset P          quick | study | paper: set the defaults below first (flags override it)\n"
            "                      quick: small CNN, 10000 train / 2000 test images, UI 50%%, k 200,\n"
            "                             3 AL epochs, 2 train epochs, lr 1e-3 (a few minutes on 2 cores)\n"
            "                      paper: paper CNN, 50000 / 10000 images, k 500, 10 AL epochs,\n"
            "                             10 train epochs, lr 1e-4 (METHOD.md)\n"
            "                      study: small CNN, 20000 train / all 10000 test images, UI 10%%,50%%,90%%,\n"
            "                             k 500, 5 AL epochs, 2 train epochs, lr 1e-3, every method,\n"
            "                             " STUDY_SEEDS_TEXT " (about two hours on 2 cores; README)\n"
            "  --data DIR          CIFAR-10 binary dir (cifar-10-batches-bin or its parent; default\n"
            "                      data/cifar-10-batches-bin) or the Fashion-MNIST dir with --dataset fmnist\n"
            "                      (default %s)\n"
            "  --dataset D         cifar10 | fmnist (default cifar10; features: 3072 / 784 pixel bytes)\n"
            "  --methods LIST      comma list of ds,ld,rds,rld,rnd,lcs (default all six)\n"
            "  --unlabeled-frac F  comma list of |UI| as a fraction of the training subset, each in (0,1)\n"
            "                      (default 0.5)\n"
            "  --train-subset N    first N training images (default all)\n"
            "  --test-size N       first N test images (default all)\n"
            "  --k N               comma list of labels per AL epoch (default 500)\n"
            "  --al-epochs N       active-learning epochs (default 10)\n"
            "  --train-epochs N    training epochs at line 1, line 5 and the final retraining (default 10)\n"
            "  --batch N           training minibatch (default 32)\n"
            "  --lr LR             Adam learning rate (default 1e-4)\n"
            "  --wd WD             Adam weight decay (default 5e-4)\n"
            "  --reference R       full | running | nli: reference gradient δ (default full)\n"
            "  --compare-running   with --reference running: also score with full, report Spearman\n"
            "  --arch A            paper | small (default paper)\n"
            "  --seeds LIST        comma list of seeds (default 1); each seed: its own split and init\n"
            "  --shard I/N         run only block I (0-based) of N of the ordered run list (job arrays)\n"
            "  --device D          cpu | opencl | opencl:P:D (default: IGRADV_DEVICE, else best)\n"
            "  --threads T         CPU threads (default: OpenMP default)\n"
            "  --track-accuracy    also evaluate the test set after every AL epoch\n"
            "  --out DIR           output directory (default runs/lal): run-<method>-f<frac>-k<k>-s<seed>.json,\n"
            "                      scores/<run>/al<i>-ep<j>.npy, summary.csv, results.csv, results.md,\n"
            "                      figures/, ckpt/ (shared line-1 models, per-epoch checkpoints)\n"
            "  --resume            continue interrupted runs from DIR/ckpt (finished runs are reused, so a\n"
            "                      grid can be extended by more seeds, fractions, k or methods)\n"
            "  --no-plots          do not draw the figures at the end\n"
            "  --quiet             only one line per run on stderr\n"
            "  --help              this text\n"
            "Ctrl-C stops at the next AL-epoch checkpoint; rerun with --resume to continue.\n"
            "Exit status: 0 done, 1 runtime failure, 2 bad flag, file or data, 130 interrupted.\n",
            prog, prog, IG_FMNIST_DEFAULT_DIR);
}

struct options {
    const char *data, *dataset, *arch, *device, *out;
    struct lal_grid grid;            /* fractions, k, seeds, methods */
    int shard_i, shard_n;
    double lr, wd;
    int64_t train_subset, test_size, al_epochs, train_epochs, batch, threads;
    enum ig_al_reference reference;
    bool compare_running, resume, quiet, track, no_plots;
    const char *preset;
};

static int bad(const char *opt, const char *what, const char *got) { return ig_cli_expected(prog, opt, what, got); }

static void apply_preset(struct options *o, const char *preset)
{
    o->preset = preset;
    if (!strcmp(preset, "quick") || !strcmp(preset, "study")) {
        o->arch = "small";
        o->train_subset = 10000;
        o->test_size = 2000;
        o->grid.n_fracs = o->grid.n_ks = 1;
        o->grid.fracs[0] = 0.5;
        o->grid.ks[0] = 200;
        o->al_epochs = 3;
        o->train_epochs = 2;
        o->batch = 32;
        o->lr = 1e-3;
        o->wd = 5e-4;
    } else {
        o->arch = "paper";
        o->train_subset = 0;
        o->test_size = 0;
        o->grid.ks[0] = 500;
        o->grid.n_ks = 1;
        o->al_epochs = 10;
        o->train_epochs = 10;
        o->batch = 32;
        o->lr = 1e-4;
        o->wd = 5e-4;
    }
    if (!strcmp(preset, "study")) {
        o->train_subset = 20000;
        o->test_size = 0;
        o->grid = lal_grid_default();
        o->grid.n_fracs = 3;
        o->grid.fracs[0] = 0.1, o->grid.fracs[1] = 0.5, o->grid.fracs[2] = 0.9;
        o->grid.n_seeds = STUDY_SEEDS;
        for (int s = 0; s < STUDY_SEEDS; s++) o->grid.seeds[s] = (uint64_t)s + 1;
        o->al_epochs = 5;
    }
}

/* A grid flag with its value (lal_grid.h); -1: done, -2: not one of them, else exit status. */
static int parse_grid_value(struct options *o, const char *a, const char *v)
{
    if (!strcmp(a, "--methods")) return lal_grid_parse_methods(&o->grid, prog, v);
    if (!strcmp(a, "--seeds")) return lal_grid_parse_seeds(&o->grid, prog, v);
    if (!strcmp(a, "--unlabeled-frac")) return lal_grid_parse_fracs(&o->grid, prog, v);
    if (!strcmp(a, "--k")) return lal_grid_parse_ks(&o->grid, prog, v);
    if (!strcmp(a, "--shard")) return lal_grid_parse_shard(prog, v, &o->shard_i, &o->shard_n);
    return -2;
}

/* Returns -1 to continue, else an exit status. */
static int parse_args(int argc, char **argv, struct options *o)
{
    /* the preset first, so explicit flags override it wherever they stand */
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--preset")) {
            const char *v = i + 1 < argc ? argv[i + 1] : "";
            if (strcmp(v, "quick") && strcmp(v, "study") && strcmp(v, "paper")) return bad("--preset", "quick, study or paper", v);
            apply_preset(o, argv[i + 1]);
        }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--resume")) { o->resume = true; continue; }
        if (!strcmp(a, "--quiet")) { o->quiet = true; continue; }
        if (!strcmp(a, "--compare-running")) { o->compare_running = true; continue; }
        if (!strcmp(a, "--track-accuracy")) { o->track = true; continue; }
        if (!strcmp(a, "--no-plots")) { o->no_plots = true; continue; }
        static const char *const with_value[] = {"--preset", "--data", "--dataset", "--methods", "--unlabeled-frac",
                                                 "--train-subset", "--test-size", "--k", "--al-epochs", "--train-epochs",
                                                 "--batch", "--lr", "--wd", "--reference", "--arch", "--seeds",
                                                 "--device", "--threads", "--out", "--shard"};
        if (!ig_cli_is_one_of(a, with_value, sizeof with_value / sizeof *with_value))
            return ig_cli_usage_error(prog, "unknown option '%s'", a);
        if (i + 1 >= argc) return ig_cli_usage_error(prog, "option %s needs a value", a);
        const char *v = argv[++i];
        int rc = parse_grid_value(o, a, v);
        if (rc >= -1) {
            if (rc >= 0) return rc;
            continue;
        }
        rc = -1;
        if (!strcmp(a, "--preset")) continue;
        else if (!strcmp(a, "--data")) o->data = v;
        else if (!strcmp(a, "--out")) o->out = v;
        else if (!strcmp(a, "--device")) o->device = v;
        else if (!strcmp(a, "--dataset")) {
            if (strcmp(v, "cifar10") && strcmp(v, "fmnist")) return bad(a, "cifar10 or fmnist", v);
            o->dataset = v;
        } else if (!strcmp(a, "--arch")) {
            if (strcmp(v, "paper") && strcmp(v, "small")) return bad(a, "paper or small", v);
            o->arch = v;
        } else if (!strcmp(a, "--reference")) {
            if (!ig_al_reference_parse(v, &o->reference)) return bad(a, "full, running or nli", v);
        } else if (!strcmp(a, "--train-subset")) {
            if (!ig_cli_parse_i64(v, 2, 1000000000, &o->train_subset)) return bad(a, "an integer >= 2", v);
        } else if (!strcmp(a, "--test-size")) {
            if (!ig_cli_parse_i64(v, 1, 1000000000, &o->test_size)) return bad(a, "an integer >= 1", v);
        } else if (!strcmp(a, "--al-epochs")) {
            if (!ig_cli_parse_i64(v, 0, 100000, &o->al_epochs)) return bad(a, "an integer >= 0", v);
        } else if (!strcmp(a, "--train-epochs")) {
            if (!ig_cli_parse_i64(v, 1, 100000, &o->train_epochs)) return bad(a, "an integer >= 1", v);
        } else if (!strcmp(a, "--batch")) {
            if (!ig_cli_parse_i64(v, 1, 65536, &o->batch)) return bad(a, "an integer in 1..65536", v);
        } else if (!strcmp(a, "--threads")) {
            if (!ig_cli_parse_i64(v, 1, 1024, &o->threads)) return bad(a, "an integer in 1..1024", v);
        } else if (!strcmp(a, "--lr")) {
            if (!ig_cli_parse_f(v, 1e-12, 10.0, &o->lr)) return bad(a, "a number in (0, 10]", v);
        } else if (!strcmp(a, "--wd")) {
            if (!ig_cli_parse_f(v, 0.0, 10.0, &o->wd)) return bad(a, "a number in [0, 10]", v);
        }
        if (rc >= 0) return rc;
    }
    if (o->compare_running && o->reference != IG_AL_REF_RUNNING) {
        fprintf(stderr, "%s: --compare-running needs --reference running\n", prog);
        return IG_CLI_EXIT_USAGE;
    }
    return -1;
}

static int make_dir(const char *d)
{
    if (mkdir(d, 0755) == 0 || errno == EEXIST) {
        struct stat st;
        if (stat(d, &st) == 0 && S_ISDIR(st.st_mode)) return 0;
    }
    /* one level of parents (runs/quick) */
    char parent[4096];
    snprintf(parent, sizeof parent, "%s", d);
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent) {
        *slash = 0;
        if (mkdir(parent, 0755) != 0 && errno != EEXIST) return -1;
        if (mkdir(d, 0755) == 0 || errno == EEXIST) return 0;
    }
    return -1;
}

/* The grid of o on the loaded data and the backend. */
static int run_grid(const struct options *o, const struct ig_dataset *train, const struct ig_dataset *test,
                    struct ig_backend *be)
{
    struct lal_study st = {.prog = prog, .out = o->out, .dataset = o->dataset, .arch = o->arch, .preset = o->preset,
                           .base = ig_al_params_default(), .grid = o->grid, .shard_i = o->shard_i,
                           .shard_n = o->shard_n ? o->shard_n : 1, .resume = o->resume, .quiet = o->quiet,
                           .plots = !o->no_plots, .be = be, .train = train, .test = test};
    struct ig_al_params *p = &st.base;
    p->reference = o->reference;
    p->compare_running = o->compare_running;
    p->al_epochs = (int)o->al_epochs;
    p->train_epochs = (int)o->train_epochs;
    p->batch_size = o->batch;
    p->lr = (float)o->lr;
    p->weight_decay = (float)o->wd;
    p->n_threads = (int)o->threads;
    p->track_accuracy = o->track;
    return lal_study_run(&st);
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "report")) return lal_report_command(prog, argc - 1, argv + 1);
    struct options o = {.data = NULL, .dataset = "cifar10", .arch = "paper", .out = "runs/lal", .lr = 1e-4, .wd = 5e-4,
                        .al_epochs = 10, .train_epochs = 10, .batch = 32, .grid = lal_grid_default(),
                        .reference = IG_AL_REF_FULL};
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0) return rc;
    bool fmnist = !strcmp(o.dataset, "fmnist");
    if (!o.data) o.data = fmnist ? IG_FMNIST_DEFAULT_DIR : "data/cifar-10-batches-bin";

    /* data first: a bad --data is a usage error (exit 2) before any device work */
    struct ig_dataset train = {0}, test = {0};
    enum ig_status s;
    if (fmnist) {
        s = ig_fmnist_load(&train, o.data, IG_DATA_TRAIN, o.train_subset);
        if (s == IG_OK) s = ig_fmnist_load(&test, o.data, IG_DATA_TEST, o.test_size);
    } else {
        s = ig_cifar10_load(&train, o.data, IG_DATA_TRAIN, o.train_subset);
        if (s == IG_OK) s = ig_cifar10_load(&test, o.data, IG_DATA_TEST, o.test_size);
    }
    if (s != IG_OK) {
        fprintf(stderr, "%s: --data %s: %s\n", prog, o.data, ig_last_error());
        ig_dataset_free(&train);
        ig_dataset_free(&test);
        return IG_CLI_EXIT_USAGE;
    }
    if (o.train_subset > 0 && train.n < o.train_subset)
        fprintf(stderr, "%s: note: only %lld training images available\n", prog, (long long)train.n);
    struct lal_study chk = {.prog = prog, .grid = o.grid, .train = &train, .base = ig_al_params_default()};
    chk.base.al_epochs = (int)o.al_epochs;
    char ckdir[4200];
    snprintf(ckdir, sizeof ckdir, "%s/ckpt", o.out);
    if ((rc = lal_study_check(&chk)) < 0 && (make_dir(o.out) != 0 || make_dir(ckdir) != 0 || access(o.out, W_OK) != 0)) {
        fprintf(stderr, "%s: --out %s: cannot create a writable directory: %s\n", prog, o.out, strerror(errno));
        rc = IG_CLI_EXIT_USAGE;
    }
    struct ig_backend *be = NULL;
    if (rc < 0 && (s = ig_cli_backend_init(o.device, o.threads, &be)) != IG_OK) {
        fprintf(stderr, "%s: --device: %s\n", prog, ig_last_error());
        rc = IG_CLI_EXIT_USAGE;
    }
    if (rc < 0) {
        fprintf(stderr, "%s: %s, %lld train / %lld test images, %lld AL epochs x %lld train epochs, arch %s, reference %s, "
                        "device %s\n",
                prog, o.dataset, (long long)train.n, (long long)test.n, (long long)o.al_epochs, (long long)o.train_epochs,
                o.arch, ig_al_reference_name(o.reference), ig_backend_name(be));
        rc = run_grid(&o, &train, &test, be);
    }
    ig_backend_free(be);
    ig_dataset_free(&train);
    ig_dataset_free(&test);
    return rc;
}
