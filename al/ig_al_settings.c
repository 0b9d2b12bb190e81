/* al: the settings of a run as key/value pairs (data content hashes, sizes, arch, training and AL settings, version) and their fingerprint. */
#include "ig_al_internal.h"
#include "ig_config.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void set_add(struct al_settings *s, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_add(struct al_settings *s, const char *key, const char *fmt, ...)
{
    if (s->n >= AL_SETTINGS_MAX) return;   /* the table below stays well under the cap */
    snprintf(s->key[s->n], sizeof s->key[s->n], "%s", key);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->val[s->n], sizeof s->val[s->n], fmt, ap);
    va_end(ap);
    s->n++;
}

/* 64-bit word-wise mix of bytes (fast enough for 150 MB of pixels), chained from h. */
static uint64_t hash_bytes(uint64_t h, const uint8_t *p, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0x9e3779b97f4a7c15ull;
        h ^= h >> 29;
    }
    for (; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

uint64_t ig_al_data_hash(const struct ig_dataset *d, const int64_t *rows, int64_t n)
{
    size_t feat = (size_t)d->channels * (size_t)d->height * (size_t)d->width;
    uint64_t h = IG_AL_FNV_INIT;
    for (int64_t i = 0; i < n; i++) {
        int64_t r = rows ? rows[i] : i;
        h = hash_bytes(h, (const uint8_t *)&r, sizeof r);
        h = hash_bytes(h, d->images + (size_t)r * feat, feat);
        h = hash_bytes(h, (const uint8_t *)&d->labels[r], sizeof d->labels[r]);
    }
    return h;
}

void ig_al_settings_line1(struct al_settings *s, const struct ig_al_params *p, const struct ig_model *m,
                          const struct ig_dataset *train, const struct ig_dataset *test, const int64_t *li, int64_t n_li)
{
    memset(s, 0, sizeof *s);
    set_add(s, "igradv_version", "%s", IG_VERSION);
    set_add(s, "arch", "%s", ig_model_arch(m));
    set_add(s, "n_params", "%lld", (long long)ig_model_num_params(m));
    set_add(s, "image_shape", "%dx%dx%d", train->channels, train->height, train->width);
    set_add(s, "num_classes", "%d", train->num_classes);
    set_add(s, "train_subset", "%lld", (long long)train->n);
    set_add(s, "test_size", "%lld", (long long)test->n);
    set_add(s, "n_li", "%lld", (long long)n_li);
    set_add(s, "data_li", "%016llx", (unsigned long long)ig_al_data_hash(train, li, n_li));
    set_add(s, "data_test", "%016llx", (unsigned long long)ig_al_data_hash(test, NULL, test->n));
    set_add(s, "train_epochs", "%d", p->train_epochs);
    set_add(s, "batch", "%lld", (long long)p->batch_size);
    set_add(s, "eval_batch", "%lld", (long long)p->eval_batch);
    set_add(s, "lr", "%.9g", (double)p->lr);
    set_add(s, "wd", "%.9g", (double)p->weight_decay);
    set_add(s, "seed", "%llu", (unsigned long long)p->seed);
    set_add(s, "norm", "%.9g,%.9g,%.9g,%.9g/%.9g,%.9g,%.9g,%.9g", (double)p->norm.mean[0], (double)p->norm.mean[1],
            (double)p->norm.mean[2], (double)p->norm.mean[3], (double)p->norm.std[0], (double)p->norm.std[1],
            (double)p->norm.std[2], (double)p->norm.std[3]);
}

void ig_al_settings_run(struct al_settings *s, const struct ig_al_params *p, const struct ig_model *m,
                        const struct ig_dataset *train, const struct ig_dataset *test, const int64_t *li, int64_t n_li,
                        const int64_t *ui, int64_t n_ui)
{
    ig_al_settings_line1(s, p, m, train, test, li, n_li);
    set_add(s, "method", "%s", ig_al_method_name(p->method));
    set_add(s, "reference", "%s", ig_al_reference_name(p->reference));
    if (p->reference_subset > 0) set_add(s, "reference_subset", "%lld", (long long)p->reference_subset);  /* absent: exact (older states) */
    set_add(s, "k", "%lld", (long long)p->k);
    set_add(s, "al_epochs", "%d", p->al_epochs);
    set_add(s, "n_ui", "%lld", (long long)n_ui);
    set_add(s, "data_ui", "%016llx", (unsigned long long)ig_al_data_hash(train, ui, n_ui));
    set_add(s, "gbr_estimators", "%d", p->gbr_estimators);
    set_add(s, "rf_estimators", "%d", p->rf_estimators);
    set_add(s, "rf_max_depth", "%d", p->rf_max_depth);
    set_add(s, "track_accuracy", "%d", p->track_accuracy ? 1 : 0);
    set_add(s, "params", "%s", ig_al_param_set_name(p->params));
    set_add(s, "abs_cos", "%d", p->abs_cos ? 1 : 0);
}

uint64_t ig_al_settings_fingerprint(const struct al_settings *s)
{
    uint64_t h = IG_AL_FNV_INIT;
    for (int i = 0; i < s->n; i++) {
        h = ig_al_fnv(h, s->key[i], strlen(s->key[i]) + 1);
        h = ig_al_fnv(h, s->val[i], strlen(s->val[i]) + 1);
    }
    return h;
}

const char *ig_al_settings_get(const struct al_settings *s, const char *key)
{
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->key[i], key)) return s->val[i];
    return NULL;
}

enum ig_status ig_al_settings_compare(const struct al_settings *want, const struct al_settings *stored, const char *path)
{
    char msg[2048];
    size_t len = 0;
    int bad = 0;
    for (int pass = 0; pass < 2; pass++) {
        const struct al_settings *a = pass ? stored : want, *b = pass ? want : stored;
        for (int i = 0; i < a->n; i++) {
            const char *v = ig_al_settings_get(b, a->key[i]);
            if (v && (pass || !strcmp(v, a->val[i]))) continue;
            if (len < sizeof msg - 1)
                len += (size_t)snprintf(msg + len, sizeof msg - len, "%s %s (stored %s, now %s)", bad ? "," : "", a->key[i],
                                        pass ? a->val[i] : (v ? v : "missing"), pass ? "missing" : a->val[i]);
            bad++;
        }
    }
    if (!bad) return IG_OK;
    return ig_error(IG_ERR_FORMAT, "%s: the checkpoint belongs to a run with other settings; differing:%s", path, msg);
}
