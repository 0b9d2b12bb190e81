/* train_cifar: supervised training of the paper CNN (or the small CNN) on CIFAR-10 with Adam, per-epoch loss/accuracy/throughput. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ig_cli.h"
#include "ig_data.h"
#include "ig_nn.h"
#include "ig_util.h"


static const char *prog = "train_cifar";

static void usage(FILE *f)
{
    fprintf(f,
            "usage: %s [options]\n"
            "Train the LAL-IGradV paper CNN (or a small CNN) on CIFAR-10 (binary version) with Adam\n"
            "and print per-epoch loss, train/test accuracy and images/s.\n\n"
            "  --data DIR         cifar-10-batches-bin directory or its parent (default: data)\n"
            "  --train-size N     first N training images (default: all 50000)\n"
            "  --test-size N      first N test images (default: all 10000)\n"
            "  --epochs E         training epochs (default: 10)\n"
            "  --batch B          minibatch size (default: 32)\n"
            "  --lr LR            Adam learning rate (default: 1e-4)\n"
            "  --weight-decay WD  Adam weight decay (default: 5e-4)\n"
            "  --seed S           seed of initialisation, dropout and shuffling (default: 0)\n"
            "  --arch A           paper | small (default: paper)\n"
            "  --save FILE        write the model (safetensors state_dict) and FILE.optim at the end\n"
            "  --load FILE        start from a checkpoint written by --save (or by PyTorch)\n"
            "  --device D         cpu | opencl | opencl:P:D (default: IGRADV_DEVICE, else best)\n"
            "  --threads T        CPU threads (default: OpenMP default)\n"
            "  --quiet            no progress bar\n"
            "  --help             this text\n"
            "Exit status: 0 done, 1 runtime failure, 2 bad flag, file or data.\n",
            prog);
}

struct options {
    const char *data, *arch, *save, *load, *device;
    int64_t train_size, test_size, epochs, batch, seed, threads;
    double lr, wd;
    bool quiet;
};

/* Returns -1 to continue, else an exit status. */
static int parse_args(int argc, char **argv, struct options *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--quiet")) {
            o->quiet = true;
            continue;
        }
        if (strncmp(a, "--", 2) != 0) return ig_cli_usage_error(prog, "unexpected argument '%s'", a);
        static const char *const with_value[] = {"--data", "--train-size", "--test-size", "--epochs", "--batch", "--lr",
                                                 "--weight-decay", "--seed", "--arch", "--save", "--load", "--device",
                                                 "--threads"};
        if (!ig_cli_is_one_of(a, with_value, sizeof with_value / sizeof *with_value))
            return ig_cli_usage_error(prog, "unknown option '%s'", a);
        if (i + 1 >= argc) return ig_cli_usage_error(prog, "option %s needs a value", a);
        const char *v = argv[++i];
        bool ok = true;
        if (!strcmp(a, "--data")) o->data = v;
        else if (!strcmp(a, "--arch")) {
            o->arch = v;
            ok = !strcmp(v, "paper") || !strcmp(v, "small");
            if (!ok) return ig_cli_expected(prog, a, "paper or small", v);
        } else if (!strcmp(a, "--save")) o->save = v;
        else if (!strcmp(a, "--load")) o->load = v;
        else if (!strcmp(a, "--device")) o->device = v;
        else if (!strcmp(a, "--train-size")) ok = ig_cli_parse_i64(v, 1, 50000, &o->train_size);
        else if (!strcmp(a, "--test-size")) ok = ig_cli_parse_i64(v, 1, 10000, &o->test_size);
        else if (!strcmp(a, "--epochs")) ok = ig_cli_parse_i64(v, 0, 100000, &o->epochs);
        else if (!strcmp(a, "--batch")) ok = ig_cli_parse_i64(v, 1, 65536, &o->batch);
        else if (!strcmp(a, "--seed")) ok = ig_cli_parse_i64(v, 0, INT64_MAX, &o->seed);
        else if (!strcmp(a, "--threads")) ok = ig_cli_parse_i64(v, 1, 1024, &o->threads);
        else if (!strcmp(a, "--lr")) ok = ig_cli_parse_f(v, 1e-12, 10.0, &o->lr);
        else if (!strcmp(a, "--weight-decay")) ok = ig_cli_parse_f(v, 0.0, 10.0, &o->wd);
        if (!ok) {
            const char *what = !strcmp(a, "--train-size")  ? "an integer in 1..50000"
                               : !strcmp(a, "--test-size") ? "an integer in 1..10000"
                               : !strcmp(a, "--epochs")    ? "an integer >= 0"
                               : !strcmp(a, "--batch")     ? "an integer in 1..65536"
                               : !strcmp(a, "--seed")      ? "a non-negative integer"
                               : !strcmp(a, "--threads")   ? "an integer in 1..1024"
                               : !strcmp(a, "--lr")        ? "a number in (0, 10]"
                                                           : "a number in [0, 10]";
            return ig_cli_expected(prog, a, what, v);
        }
    }
    return -1;
}

static void progress(int64_t epoch, int64_t epochs, int64_t done, int64_t total, double loss, double ips)
{
    int width = 30, fill = total ? (int)(width * done / total) : width;
    char bar[64];
    for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
    bar[width] = 0;
    fprintf(stderr, "\repoch %lld/%lld [%s] %lld/%lld loss %.4f %.0f img/s ", (long long)epoch, (long long)epochs, bar,
            (long long)done, (long long)total, loss, ips);
    fflush(stderr);
}

/* Eval-mode loss and accuracy over a whole dataset. */
static enum ig_status evaluate(struct ig_model *m, struct ig_graph *g, struct ig_loader *ld, double *loss, double *acc)
{
    ig_model_set_train(m, false);
    enum ig_status s = ig_loader_start_epoch(ld, 0);
    double lsum = 0;
    int64_t correct = 0, n = 0;
    struct ig_batch b;
    bool got;
    while (s == IG_OK && (s = ig_loader_next(ld, &b, &got)) == IG_OK && got) {
        s = ig_model_eval_batch(m, g, b.x, b.y, &lsum, &correct);
        n += b.size;
    }
    ig_model_set_train(m, true);
    *loss = n ? lsum / (double)n : 0;
    *acc = n ? (double)correct / (double)n : 0;
    return s;
}

/* The folder of --save path must be writable (checked before training); false after printing why. */
static bool save_dir_writable(const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir) dir[1] = 0;
    else if (slash) *slash = 0;
    else snprintf(dir, sizeof dir, ".");
    if (access(dir, W_OK | X_OK) == 0) return true;
    fprintf(stderr, "%s: --save %s: directory %s is not writable: %s\n", prog, path, dir, strerror(errno));
    return false;
}

/* One training epoch e (0-based) of n_total, then the test evaluation and the epoch line on stdout. */
static enum ig_status train_epoch(struct ig_model *m, struct ig_optim *opt, struct ig_graph *g, struct ig_loader *ld,
                                  struct ig_loader *tld, int64_t e, int64_t n_total, bool tty, double *test_loss,
                                  double *test_acc)
{
    enum ig_status s = ig_loader_start_epoch(ld, e);
    if (s != IG_OK) return s;
    ig_model_set_train(m, true);
    double t0 = ig_now_seconds(), lsum = 0, last_draw = 0;
    int64_t correct = 0, seen = 0, total = ig_loader_size(ld);
    struct ig_batch b;
    bool got;
    while ((s = ig_loader_next(ld, &b, &got)) == IG_OK && got) {
        float loss;
        int64_t c;
        if ((s = ig_model_train_step(m, opt, g, b.x, b.y, &loss, &c)) != IG_OK) return s;
        lsum += (double)loss * (double)b.size;
        correct += c;
        seen += b.size;
        double t = ig_now_seconds();
        if (tty && (t - last_draw > 0.2 || seen == total)) {
            progress(e + 1, n_total, seen, total, lsum / (double)seen, (double)seen / (t - t0));
            last_draw = t;
        }
    }
    if (s != IG_OK) return s;
    double dt = ig_now_seconds() - t0;
    if (tty) fprintf(stderr, "\r\033[K");
    if ((s = evaluate(m, g, tld, test_loss, test_acc)) != IG_OK) return s;
    printf("epoch %lld/%lld  loss %.4f  train_acc %.4f  test_loss %.4f  test_acc %.4f  %.1f img/s  %.1f s\n",
           (long long)(e + 1), (long long)n_total, seen ? lsum / (double)seen : 0,
           seen ? (double)correct / (double)seen : 0, *test_loss, *test_acc, (double)seen / dt, dt);
    fflush(stdout);
    return IG_OK;
}

/* Everything one run holds; session_free releases whatever was made. */
struct session {
    struct options o;
    struct ig_backend *be;
    struct ig_dataset train, test;
    struct ig_model *m;
    struct ig_optim *opt;
    struct ig_graph *g;
    struct ig_loader *ld, *tld;
};

static void session_free(struct session *r)
{
    ig_loader_free(r->ld);
    ig_loader_free(r->tld);
    ig_graph_free(r->g);
    ig_optim_free(r->opt);
    ig_model_free(r->m);
    ig_dataset_free(&r->train);
    ig_dataset_free(&r->test);
    ig_backend_free(r->be);
}

/* The backend and both datasets: -1 when ready, else the exit status (after saying why). */
static int open_data(struct session *r)
{
    const struct options *o = &r->o;
    if (ig_cli_backend_init(o->device, o->threads, &r->be) != IG_OK) {
        fprintf(stderr, "%s: --device: %s\n", prog, ig_last_error());
        return IG_CLI_EXIT_USAGE;
    }
    if (ig_cifar10_load(&r->train, o->data, IG_DATA_TRAIN, o->train_size) != IG_OK
        || ig_cifar10_load(&r->test, o->data, IG_DATA_TEST, o->test_size) != IG_OK) {
        fprintf(stderr, "%s: --data %s: %s\n", prog, o->data, ig_last_error());
        return IG_CLI_EXIT_USAGE;
    }
    if (r->train.n < o->train_size)
        fprintf(stderr, "%s: note: only %lld training images available\n", prog, (long long)r->train.n);
    return -1;
}

/* The model (fresh, or --load with *start_epoch after the loaded optimiser's steps), its Adam optimiser, the graph
 * and the two loaders: -1 when ready, else the exit status. */
static int open_model(struct session *r, int64_t *start_epoch)
{
    const struct options *o = &r->o;
    enum ig_status s = !strcmp(o->arch, "paper") ? ig_model_paper_cnn(&r->m, r->be, 3, 32, 32, 10, (uint64_t)o->seed)
                                                 : ig_model_small_cnn(&r->m, r->be, 3, 32, 32, 10, (uint64_t)o->seed);
    struct ig_adam_params ap = ig_adam_params_default();
    ap.lr = (float)o->lr;
    ap.weight_decay = (float)o->wd;
    if (s == IG_OK) s = ig_optim_adam_new(&r->opt, r->m, ap);
    if (s == IG_OK) s = ig_graph_new(r->be, &r->g);
    if (s != IG_OK) {
        fprintf(stderr, "%s: %s\n", prog, ig_last_error());
        return 1;
    }
    *start_epoch = 0;
    if (o->load) {
        bool opt_loaded;
        if (ig_model_load(r->m, r->opt, o->load, &opt_loaded) != IG_OK) {
            fprintf(stderr, "%s: --load %s: %s\n", prog, o->load, ig_last_error());
            return IG_CLI_EXIT_USAGE;
        }
        ig_optim_set_lr(r->opt, (float)o->lr);
        int64_t per_epoch = (r->train.n + o->batch - 1) / o->batch;
        if (opt_loaded) *start_epoch = ig_optim_steps(r->opt) / per_epoch;
        printf("loaded %s (%s)\n", o->load, opt_loaded ? "with optimiser state" : "weights only");
    }
    struct ig_loader_params lp = ig_loader_params_default();
    lp.batch_size = o->batch;
    lp.seed = (uint64_t)o->seed;
    struct ig_loader_params tp = lp;
    tp.shuffle = false;
    tp.batch_size = 250;
    if (ig_loader_new(&r->ld, r->be, &r->train, NULL, 0, lp) != IG_OK ||
        ig_loader_new(&r->tld, r->be, &r->test, NULL, 0, tp) != IG_OK) {
        fprintf(stderr, "%s: %s\n", prog, ig_last_error());
        return 1;
    }
    return -1;
}

/* The training epochs (or one test evaluation when there are none), --save and the final line: the exit status. */
static int train_all(struct session *r, int64_t start_epoch, bool tty)
{
    const struct options *o = &r->o;
    double test_acc = 0, test_loss = 0;
    enum ig_status s = IG_OK;
    for (int64_t e = start_epoch; e < start_epoch + o->epochs && s == IG_OK; e++)
        s = train_epoch(r->m, r->opt, r->g, r->ld, r->tld, e, start_epoch + o->epochs, tty, &test_loss, &test_acc);
    if (s != IG_OK) {
        fprintf(stderr, "%s: training failed: %s\n", prog, ig_last_error());
        return 1;
    }
    if (o->epochs == 0) {
        if (evaluate(r->m, r->g, r->tld, &test_loss, &test_acc) != IG_OK) {
            fprintf(stderr, "%s: evaluation failed: %s\n", prog, ig_last_error());
            return 1;
        }
        printf("test_loss %.4f  test_acc %.4f\n", test_loss, test_acc);
    }
    if (o->save) {
        if (ig_model_save(r->m, r->opt, o->save) != IG_OK) {
            fprintf(stderr, "%s: --save %s: %s\n", prog, o->save, ig_last_error());
            return IG_CLI_EXIT_USAGE;
        }
        printf("saved %s and %s.optim\n", o->save, o->save);
    }
    printf("final test_acc %.4f\n", test_acc);
    return 0;
}

int main(int argc, char **argv)
{
    struct session r = {.o = {.data = "data", .arch = "paper", .train_size = 50000, .test_size = 10000, .epochs = 10,
                              .batch = 32, .seed = 0, .lr = 1e-4, .wd = 5e-4}};
    const struct options *o = &r.o;
    int rc = parse_args(argc, argv, &r.o);
    if (rc >= 0) return rc;
    bool tty = isatty(fileno(stderr)) && !o->quiet;
    if (o->save && !save_dir_writable(o->save)) return IG_CLI_EXIT_USAGE;   /* fail before hours of training, not after */
    int64_t start_epoch = 0;
    rc = open_data(&r);
    if (rc < 0) rc = open_model(&r, &start_epoch);
    if (rc < 0) {
        printf("%s CNN, %lld parameters, %s; train %lld, test %lld images; batch %lld, Adam lr %g wd %g, seed %lld\n",
               o->arch, (long long)ig_model_num_params(r.m), ig_backend_name(r.be), (long long)r.train.n,
               (long long)r.test.n, (long long)o->batch, o->lr, o->wd, (long long)o->seed);
        fflush(stdout);
        rc = train_all(&r, start_epoch, tty);
    }
    session_free(&r);
    return rc;
}
