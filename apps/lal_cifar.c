/* lal_cifar: LAL-IGradV (DS, LD, RDS, RLD) and the baselines on CIFAR-10 or Fashion-MNIST over a grid of fractions x seeds x k x methods (lal_study); `lal_cifar report DIR` rebuilds the reports. */
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
#include "ig_dist.h"
#include "ig_nn.h"
#include "ig_util.h"
#include "lal_grid.h"
#include "lal_report.h"
#include "lal_study.h"

static const char *prog = "lal_cifar";

/* The study preset's seeds 1..STUDY_SEEDS (sized by measurement, README "The study"). */
#define STUDY_SEEDS 8
#define STUDY_SEEDS_TEXT "seeds 1-8"

static void usage(FILE *f)
{
    struct ig_al_params d = ig_al_params_default();
    fprintf(f,
            "usage: %s [options]\n"
            "       %s report DIR [--no-plots]   (rebuild the reports of DIR without training)\n"
            "Active learning with LAL-IGradV (Flesca et al.): for every unlabeled fraction and seed, split the\n"
            "training subset into LI and UI, train the CNN on LI (A0, shared by every k and method), then for\n"
            "every k spend k labels per AL epoch with each method and report the final test accuracy A.\n\n"
            "  --preset P          quick | study | paper: set the defaults below first (flags override it)\n"
            "                      quick: small CNN, 10000 train / 2000 test images, UI 50%%, k 200,\n"
            "                             3 AL epochs, 2 train epochs, lr 1e-3 (a few minutes on 2 cores)\n"
            "                      study: small CNN, 10000 train / all 10000 test images, UI 10%%,50%%,90%%,\n"
            "                             k 150, 4 AL epochs, 2 train epochs, lr 1e-3, every method,\n"
            "                             " STUDY_SEEDS_TEXT " (about two hours on 2 cores; README)\n"
            "                      paper: the defaults below (paper CNN, all images, METHOD.md)\n"
            "  --data DIR          CIFAR-10 binary dir (cifar-10-batches-bin or its parent; default\n"
            "                      data/cifar-10-batches-bin) or the Fashion-MNIST dir with --dataset fmnist\n"
            "                      (default %s)\n"
            "  --dataset D         cifar10 | fmnist (default cifar10; features: 3072 / 784 pixel bytes)\n",
            prog, prog, IG_FMNIST_DEFAULT_DIR);
    fprintf(f, "  --methods LIST      comma list of methods (default all):\n");
    for (int m = 0; m < IG_AL_METHOD_COUNT; m++)
        fprintf(f, "                        %-8s %s\n", ig_al_method_name((enum ig_al_method)m),
                ig_al_method_summary((enum ig_al_method)m));
    fprintf(f,
            "  --unlabeled-frac F  comma list of |UI| as fractions of the training subset, each in (0,1)\n"
            "                      (default 0.5)\n"
            "  --train-subset N    first N training images (default all)\n"
            "  --test-size N       first N test images (default all)\n"
            "  --k N               comma list of labels per AL epoch (default %lld)\n"
            "  --al-epochs N       active-learning epochs (default %d)\n"
            "  --train-epochs N    training epochs at line 1, line 5 and the final retraining (default %d)\n"
            "  --batch N           training minibatch (default %lld)\n"
            "  --lr LR             Adam learning rate (default %g)\n"
            "  --wd WD             Adam weight decay (default %g)\n"
            "  --reference R       full | nli | full:N: reference gradient δ; full:N estimates full from N rows\n"
            "                      drawn afresh at each scoring step (default %s)\n"
            "  --params P          all | conv-linear: parameters of δ, δ_x and EGL (default %s)\n"
            "  --abs-cos           score |cos| as the published code does (DS = |cos|, LD = 1 - |cos|)\n",
            (long long)d.k, d.al_epochs, d.train_epochs, (long long)d.batch_size, (double)d.lr, (double)d.weight_decay,
            ig_al_reference_name(d.reference), ig_al_param_set_name(d.params));
    fprintf(f,
            "  --arch A            paper | small (default paper)\n"
            "  --seeds LIST        comma list of seeds (default 1); each seed: its own split and init\n"
            "  --shard I/N         run only block I (0-based) of N of the ordered run list (job arrays)\n"
            "  --device D          cpu | opencl | opencl:P:D (default: IGRADV_DEVICE, else best)\n"
            "  --threads T         CPU threads (default: OpenMP default)\n"
            "  --no-track-accuracy skip the test accuracy after every AL epoch (on by default)\n"
            "  --no-keep-models    do not keep the final model of each run (default: DIR/model-<run>.safetensors\n"
            "                      with its settings in the metadata; see igradv-model)\n"
            "  --out DIR           output directory (default runs/lal): run-<method>-f<frac>-k<k>-s<seed>.json,\n"
            "                      scores/scores-<run>-e<i>.npy, summary.csv, results.csv, results.md,\n"
            "                      figures/, ckpt/ (shared line-1 models, per-epoch checkpoints)\n"
            "  --resume            continue interrupted runs from DIR/ckpt; finished runs are reused, so a\n"
            "                      grid can be extended by more seeds, fractions, k or methods\n"
            "  --no-plots          do not draw the figures at the end\n"
            "  --quiet             only one line per run on stderr\n"
            "  --data-parallel     under mpirun / srun: one run at a time over all ranks, each trains on a\n"
            "                      block of every minibatch and scores a block of every pass (needs MPI;\n"
            "                      without it, several ranks share out the runs; docs/SCALING.md)\n"
            "  --help              this text\n"
            "Ctrl-C stops at the next AL-epoch checkpoint; rerun with --resume to continue.\n"
            "Exit status: 0 done, 1 runtime failure, 2 bad flag, file or data, 130 interrupted.\n");
}

/* Program settings; every active-learning and training setting lives in `al`, whose defaults
 * come from ig_al_params_default() (the presets change some of them). */
struct options {
    const char *data, *dataset, *arch, *device, *out, *preset;
    struct lal_grid grid;              /* fractions, k, seeds, methods (al.k is not used) */
    int shard_i, shard_n;
    int64_t train_subset, test_size, threads;
    bool resume, quiet, no_plots, data_parallel, no_keep;
    struct ig_al_params al;
};

static struct options options_default(void)
{
    struct options o = {.dataset = "cifar10", .arch = "paper", .out = "runs/lal", .shard_n = 1, .grid = lal_grid_default()};
    o.al = ig_al_params_default();
    o.grid.ks[0] = o.al.k;
    return o;
}

static int bad(const char *opt, const char *what, const char *got) { return ig_cli_expected(prog, opt, what, got); }

/* paper: the library defaults (METHOD.md) on every image; quick: a small run on top of them;
 * study: quick's network and training on a grid sized for about two hours on two cores. */
static void apply_preset(struct options *o, const char *preset)
{
    o->preset = preset;
    o->al = ig_al_params_default();
    o->arch = "paper";
    o->train_subset = 0;
    o->test_size = 0;
    o->grid.ks[0] = o->al.k;
    o->grid.n_ks = 1;
    if (!strcmp(preset, "quick") || !strcmp(preset, "study")) {
        o->arch = "small";
        o->train_subset = 10000;
        o->test_size = 2000;
        o->grid.fracs[0] = 0.5;
        o->grid.n_fracs = 1;
        o->grid.ks[0] = 200;
        o->al.al_epochs = 3;
        o->al.train_epochs = 2;
        o->al.lr = 1e-3f;
    }
    if (!strcmp(preset, "study")) {
        o->train_subset = 10000;
        o->test_size = 0;
        o->grid = lal_grid_default();
        o->grid.n_fracs = 3;
        o->grid.fracs[0] = 0.1, o->grid.fracs[1] = 0.5, o->grid.fracs[2] = 0.9;
        o->grid.ks[0] = 150;   /* k (4 + 1) = 750 of the 1000-image pool at 10 % */
        o->grid.n_seeds = STUDY_SEEDS;
        for (int s = 0; s < STUDY_SEEDS; s++) o->grid.seeds[s] = (uint64_t)s + 1;
        o->al.al_epochs = 4;
        o->al.track_accuracy = true;   /* the learning curves */
    }
}

/* A flag of the active-learning settings (o->al) with its value; -1: done, -2: not one of them, else exit status. */
static int parse_al_value(struct options *o, const char *a, const char *v)
{
    int64_t i;
    double f;
    struct ig_al_params *p = &o->al;
    if (!strcmp(a, "--reference")) {
        p->reference_subset = 0;
        if (!strncmp(v, "full:", 5)) {   /* full:N, an estimate from N rows */
            if (!ig_cli_parse_i64(v + 5, 1, INT64_MAX / 2, &p->reference_subset))
                return bad(a, "full, nli or full:N with an integer N >= 1", v);
            p->reference = IG_AL_REF_FULL;
        } else if (!ig_al_reference_parse(v, &p->reference) || p->reference == IG_AL_REF_RUNNING) {
            if (!strcmp(v, "running")) return ig_cli_usage_error(prog, "--reference %s", IG_AL_RUNNING_REMOVED);
            return bad(a, "full, nli or full:N with an integer N >= 1", v);
        }
    } else if (!strcmp(a, "--params")) {
        if (!ig_al_param_set_parse(v, &p->params)) return bad(a, "all or conv-linear", v);
    } else if (!strcmp(a, "--al-epochs")) {
        if (!ig_cli_parse_i64(v, 0, 100000, &i)) return bad(a, "an integer >= 0", v);
        p->al_epochs = (int)i;
    } else if (!strcmp(a, "--train-epochs")) {
        if (!ig_cli_parse_i64(v, 1, 100000, &i)) return bad(a, "an integer >= 1", v);
        p->train_epochs = (int)i;
    } else if (!strcmp(a, "--batch")) {
        if (!ig_cli_parse_i64(v, 1, 65536, &p->batch_size)) return bad(a, "an integer in 1..65536", v);
    } else if (!strcmp(a, "--lr")) {
        if (!ig_cli_parse_f(v, 1e-12, 10.0, &f)) return bad(a, "a number in (0, 10]", v);
        p->lr = (float)f;
    } else if (!strcmp(a, "--wd")) {
        if (!ig_cli_parse_f(v, 0.0, 10.0, &f)) return bad(a, "a number in [0, 10]", v);
        p->weight_decay = (float)f;
    } else {
        return -2;
    }
    return -1;
}

/* A program flag with its value; -1: done, else exit status. */
static int parse_value(struct options *o, const char *a, const char *v)
{
    int rc = parse_al_value(o, a, v);
    if (rc != -2) return rc;
    if (!strcmp(a, "--methods")) return lal_grid_parse_methods(&o->grid, prog, v);
    if (!strcmp(a, "--seeds")) return lal_grid_parse_seeds(&o->grid, prog, v);
    if (!strcmp(a, "--unlabeled-frac")) return lal_grid_parse_fracs(&o->grid, prog, v);
    if (!strcmp(a, "--k")) return lal_grid_parse_ks(&o->grid, prog, v);
    if (!strcmp(a, "--shard")) return lal_grid_parse_shard(prog, v, &o->shard_i, &o->shard_n);
    if (!strcmp(a, "--data")) o->data = v;
    else if (!strcmp(a, "--out")) o->out = v;
    else if (!strcmp(a, "--device")) o->device = v;
    else if (!strcmp(a, "--dataset")) {
        if (strcmp(v, "cifar10") && strcmp(v, "fmnist")) return bad(a, "cifar10 or fmnist", v);
        o->dataset = v;
    } else if (!strcmp(a, "--arch")) {
        if (strcmp(v, "paper") && strcmp(v, "small")) return bad(a, "paper or small", v);
        o->arch = v;
    } else if (!strcmp(a, "--train-subset")) {
        if (!ig_cli_parse_i64(v, 2, 1000000000, &o->train_subset)) return bad(a, "an integer >= 2", v);
    } else if (!strcmp(a, "--test-size")) {
        if (!ig_cli_parse_i64(v, 1, 1000000000, &o->test_size)) return bad(a, "an integer >= 1", v);
    } else if (!strcmp(a, "--threads")) {
        if (!ig_cli_parse_i64(v, 1, 1024, &o->threads)) return bad(a, "an integer in 1..1024", v);
    }
    return -1;
}

/* A flag without a value; true when a is one. */
static bool parse_switch(struct options *o, const char *a)
{
    if (!strcmp(a, "--resume")) o->resume = true;
    else if (!strcmp(a, "--quiet")) o->quiet = true;
    else if (!strcmp(a, "--track-accuracy")) o->al.track_accuracy = true;
    else if (!strcmp(a, "--no-track-accuracy")) o->al.track_accuracy = false;
    else if (!strcmp(a, "--no-plots")) o->no_plots = true;
    else if (!strcmp(a, "--no-keep-models")) o->no_keep = true;
    else if (!strcmp(a, "--abs-cos")) o->al.abs_cos = true;
    else if (!strcmp(a, "--data-parallel")) o->data_parallel = true;
    else return false;
    return true;
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
    static const char *const with_value[] = {"--preset", "--data", "--dataset", "--methods", "--unlabeled-frac",
                                             "--train-subset", "--test-size", "--k", "--al-epochs", "--train-epochs",
                                             "--batch", "--lr", "--wd", "--reference", "--arch", "--seeds",
                                             "--device", "--threads", "--out", "--shard", "--params"};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        if (parse_switch(o, a)) continue;
        if (!ig_cli_is_one_of(a, with_value, sizeof with_value / sizeof *with_value))
            return ig_cli_usage_error(prog, "unknown option '%s'", a);
        if (i + 1 >= argc) return ig_cli_usage_error(prog, "option %s needs a value", a);
        const char *v = argv[++i];
        if (!strcmp(a, "--preset")) continue;
        int rc = parse_value(o, a, v);
        if (rc >= 0) return rc;
    }
    if (o->data_parallel && !ig_dist_compiled())
        return ig_cli_usage_error(prog, "--data-parallel needs a build with MPI (meson setup -Dmpi=enabled)");
    if (o->data_parallel && o->shard_n > 1)
        return ig_cli_usage_error(prog, "--data-parallel does not combine with --shard");
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

/* Training and test sets per --dataset / --data / subset sizes; exit status on failure (usage). */
static int load_data(const struct options *o, struct ig_dataset *train, struct ig_dataset *test)
{
    bool fmnist = !strcmp(o->dataset, "fmnist");
    enum ig_status s;
    if (fmnist) {
        s = ig_fmnist_load(train, o->data, IG_DATA_TRAIN, o->train_subset);
        if (s == IG_OK) s = ig_fmnist_load(test, o->data, IG_DATA_TEST, o->test_size);
    } else {
        s = ig_cifar10_load(train, o->data, IG_DATA_TRAIN, o->train_subset);
        if (s == IG_OK) s = ig_cifar10_load(test, o->data, IG_DATA_TEST, o->test_size);
    }
    if (s != IG_OK) {
        fprintf(stderr, "%s: --data %s: %s\n", prog, o->data, ig_last_error());
        return IG_CLI_EXIT_USAGE;
    }
    if (o->train_subset > 0 && train->n < o->train_subset)
        fprintf(stderr, "%s: note: only %lld training images available\n", prog, (long long)train->n);
    return -1;
}

/* The label budget of every (fraction, k) and the output folders; -1 or an exit status. */
static int check_budget_and_dirs(const struct options *o, const struct ig_dataset *train)
{
    struct lal_study chk = {.prog = prog, .grid = o->grid, .train = train, .base = o->al};
    int rc = lal_study_check(&chk);
    if (rc >= 0) return rc;
    char ckdir[4200];
    snprintf(ckdir, sizeof ckdir, "%s/ckpt", o->out);
    if (make_dir(o->out) != 0 || make_dir(ckdir) != 0 || access(o->out, W_OK) != 0) {
        fprintf(stderr, "%s: --out %s: cannot create a writable directory: %s\n", prog, o->out, strerror(errno));
        return IG_CLI_EXIT_USAGE;
    }
    return -1;
}

/* The ranks of an mpirun / srun job (one process otherwise); with several ranks and no
 * --threads, each gets its share of the node's cores (logged once). NULL on failure. */
static struct ig_dist *dist_start(int *argc, char ***argv, struct options *o)
{
    struct ig_dist *d = NULL;
    if (ig_dist_init(&d, argc, argv) != IG_OK) {
        fprintf(stderr, "%s: MPI: %s\n", prog, ig_last_error());
        return NULL;
    }
    if (ig_dist_size(d) == 1) return d;
    int cores, bound, t = ig_dist_threads_hint(d, &cores, &bound);
    if (!o->threads) o->threads = t;
    if (ig_dist_rank(d) == 0)
        fprintf(stderr, "%s: %d ranks (%d on this node), node cores %d, rank bound to %d CPUs: %lld threads per rank, %s\n",
                prog, ig_dist_size(d), ig_dist_local_size(d), cores, bound, (long long)o->threads,
                o->data_parallel ? "data-parallel runs" : "the runs shared out");
    else if (o->data_parallel)
        o->quiet = true;   /* every rank runs the same run: rank 0 speaks for them */
    return d;
}

/* The grid of o on the loaded data (lal_study.h); the exit status. */
static int run_grid(const struct options *o, const struct ig_dataset *train, const struct ig_dataset *test,
                    struct ig_backend *be, struct ig_dist *dist)
{
    const struct ig_al_params *p = &o->al;
    char ref[48];
    if (ig_dist_rank(dist) == 0)
        fprintf(stderr, "%s: %s, %lld train / %lld test images, %d AL epochs x %d train epochs, arch %s, reference %s, "
                    "device %s\n",
            prog, o->dataset, (long long)train->n, (long long)test->n, p->al_epochs, p->train_epochs, o->arch,
            ig_al_reference_label(p, ref, sizeof ref), ig_backend_name(be));
    struct lal_study st = {.prog = prog, .out = o->out, .dataset = o->dataset, .arch = o->arch, .preset = o->preset,
                           .base = o->al, .grid = o->grid, .shard_i = o->shard_i, .shard_n = o->shard_n,
                           .resume = o->resume, .quiet = o->quiet, .plots = !o->no_plots, .keep_models = !o->no_keep, .be = be, .train = train,
                           .test = test, .dist = dist, .data_parallel = o->data_parallel};
    st.base.n_threads = (int)o->threads;
    st.base.dist = o->data_parallel ? dist : NULL;
    return lal_study_run(&st);
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "report")) return lal_report_command(prog, argc - 1, argv + 1);
    struct options o = options_default();
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0) return rc;
    if (!ig_cli_test_kill_install(prog)) return IG_CLI_EXIT_USAGE;
    if (!o.data) o.data = !strcmp(o.dataset, "fmnist") ? IG_FMNIST_DEFAULT_DIR : "data/cifar-10-batches-bin";

    /* data first: a bad --data is a usage error (exit 2) before any device work */
    struct ig_dataset train = {0}, test = {0};
    struct ig_backend *be = NULL;
    int status = load_data(&o, &train, &test);
    if (status < 0) status = check_budget_and_dirs(&o, &train);
    struct ig_dist *dist = status < 0 ? dist_start(&argc, &argv, &o) : NULL;
    if (status < 0 && !dist) status = 1;
    if (status < 0 && ig_dist_size(dist) > 1 && o.shard_n > 1)
        status = ig_cli_usage_error(prog, "--shard is for single processes (job arrays); under mpirun leave it out");
    if (status < 0 && ig_cli_backend_init(o.device, o.threads, &be) != IG_OK) {
        fprintf(stderr, "%s: --device: %s\n", prog, ig_last_error());
        status = IG_CLI_EXIT_USAGE;
    }
    if (status < 0) status = run_grid(&o, &train, &test, be, dist);
    ig_backend_free(be);
    ig_dataset_free(&train);
    ig_dataset_free(&test);
    ig_dist_finalize(dist);
    return status;
}
