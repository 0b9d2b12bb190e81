/* al: reference names, parameter defaults, the seeded split, and the JSON checkpoint state of a run (strict reader, checksum, atomic writes). */
#include "ig_al_internal.h"
#include <errno.h>
#include <stddef.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* ---------------------------------------------------------------- names, defaults */

static const char *const ref_names[3] = {"full", "running", "nli"};

const char *ig_al_reference_name(enum ig_al_reference r) { return (unsigned)r < 3 ? ref_names[r] : "?"; }

int ig_al_reference_parse(const char *name, enum ig_al_reference *out)
{
    for (int i = 0; name && i < 3; i++)
        if (!strcasecmp(name, ref_names[i])) {
            *out = (enum ig_al_reference)i;
            return 1;
        }
    return 0;
}

const char *ig_al_reference_label(const struct ig_al_params *p, char *buf, size_t n)
{
    if (p->reference == IG_AL_REF_FULL && p->reference_subset > 0)
        snprintf(buf, n, "full:%lld", (long long)p->reference_subset);
    else
        snprintf(buf, n, "%s", ig_al_reference_name(p->reference));
    return buf;
}

struct ig_al_params ig_al_params_default(void)
{
    /* every field not named below is 0 / false / NULL */
    return (struct ig_al_params){
        .method = IG_AL_METHOD_DS, .reference = IG_AL_REF_FULL, .params = IG_AL_PARAMS_ALL,
        .k = 500, .al_epochs = 10, .train_epochs = 10, .batch_size = 32, .eval_batch = 128,
        .lr = 1e-4f, .weight_decay = 5e-4f, .seed = 1, .track_accuracy = true,
        .gbr_estimators = 200, .rf_estimators = 100, .rf_max_depth = 5, .cv_folds = 5,
        .norm = {.mean = {0.5f, 0.5f, 0.5f, 0.5f}, .std = {0.5f, 0.5f, 0.5f, 0.5f}},
    };
}

void ig_al_result_free(struct ig_al_result *r)
{
    if (!r) return;
    free(r->epochs);
    free(r->labeled);
    memset(r, 0, sizeof *r);
}

uint64_t ig_al_fnv(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* ---------------------------------------------------------------- split */

enum ig_status ig_al_split(int64_t n, double unlabeled_frac, uint64_t seed, int64_t *li, int64_t *n_li, int64_t *ui,
                           int64_t *n_ui)
{
    if (!li || !ui || !n_li || !n_ui || n < 2) return ig_error(IG_ERR_INVALID_ARG, "ig_al_split: need n >= 2 and output arrays");
    if (!(unlabeled_frac > 0.0 && unlabeled_frac < 1.0))
        return ig_error(IG_ERR_INVALID_ARG, "ig_al_split: unlabeled fraction %g is not in (0, 1)", unlabeled_frac);
    int64_t nu = (int64_t)llround(unlabeled_frac * (double)n);
    if (nu < 1) nu = 1;
    if (nu > n - 1) nu = n - 1;
    int64_t *perm = malloc((size_t)n * sizeof *perm);
    if (!perm) return ig_error(IG_ERR_OOM, "ig_al_split: out of host memory");
    struct ig_rng r;
    ig_rng_seed(&r, seed ^ 0x5eed5011ull);
    ig_rng_permutation(&r, perm, n);
    *n_ui = nu;
    *n_li = n - nu;
    memcpy(ui, perm, (size_t)nu * sizeof *perm);
    memcpy(li, perm + nu, (size_t)(n - nu) * sizeof *perm);
    free(perm);
    return IG_OK;
}

/* ---------------------------------------------------------------- JSON helpers */

static json_t *idx_array(const int64_t *v, int64_t n)
{
    json_t *a = json_array();
    for (int64_t i = 0; a && i < n; i++) json_array_append_new(a, json_integer((json_int_t)v[i]));
    return a;
}

static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static json_t *hex64(uint64_t v)
{
    char b[24];
    snprintf(b, sizeof b, "%016llx", (unsigned long long)v);
    return json_string(b);
}

static enum ig_status rd_hex64(json_t *v, uint64_t *out, const char *field, const char *name)
{
    const char *h = json_string_value(v);
    if (!h || strlen(h) != 16 || strspn(h, "0123456789abcdefABCDEF") != 16)
        return ig_error(IG_ERR_FORMAT, "%s: \"%s\" must be a string of 16 hex digits", name, field);
    *out = strtoull(h, NULL, 16);
    return IG_OK;
}

static enum ig_status rd_int(json_t *o, const char *key, json_int_t lo, json_int_t hi, json_int_t *out, const char *name)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return ig_error(IG_ERR_FORMAT, "%s: \"%s\" must be an integer in %lld..%lld", name, key, (long long)lo, (long long)hi);
    *out = json_integer_value(v);
    return IG_OK;
}

/* A number or null (NaN). */
static enum ig_status rd_num(json_t *o, const char *key, double *out, const char *name)
{
    json_t *v = json_object_get(o, key);
    if (json_is_null(v)) *out = NAN;
    else if (json_is_number(v)) *out = json_number_value(v);
    else return ig_error(IG_ERR_FORMAT, "%s: \"%s\" must be a number or null", name, key);
    return IG_OK;
}

static enum ig_status rd_str(json_t *o, const char *key, char *out, size_t cap, const char *name)
{
    const char *v = json_string_value(json_object_get(o, key));
    if (!v || strlen(v) >= cap) return ig_error(IG_ERR_FORMAT, "%s: \"%s\" must be a string of under %zu bytes", name, key, cap);
    snprintf(out, cap, "%s", v);
    return IG_OK;
}

static enum ig_status rd_idx(json_t *o, const char *key, int64_t **out, int64_t *n, const char *name)
{
    json_t *a = json_object_get(o, key);
    if (!json_is_array(a)) return ig_error(IG_ERR_FORMAT, "%s: \"%s\" must be an array of row indices", name, key);
    size_t m = json_array_size(a);
    *out = malloc((m ? m : 1) * sizeof **out);
    if (!*out) return ig_error(IG_ERR_OOM, "%s: out of host memory", name);
    for (size_t i = 0; i < m; i++) {
        json_t *v = json_array_get(a, i);
        if (!json_is_integer(v) || json_integer_value(v) < 0)
            return ig_error(IG_ERR_FORMAT, "%s: \"%s\"[%zu] is not a row index", name, key, i);
        (*out)[i] = (int64_t)json_integer_value(v);
    }
    *n = (int64_t)m;
    return IG_OK;
}

static json_t *settings_json(const struct al_settings *set)
{
    json_t *o = json_object();
    for (int i = 0; o && i < set->n; i++) json_object_set_new(o, set->key[i], json_string(set->val[i]));
    return o;
}

static enum ig_status settings_read(json_t *o, struct al_settings *set, const char *name)
{
    memset(set, 0, sizeof *set);
    if (!json_is_object(o) || json_object_size(o) > AL_SETTINGS_MAX)
        return ig_error(IG_ERR_FORMAT, "%s: \"settings\" must be an object of at most %d strings", name, AL_SETTINGS_MAX);
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        const char *sv = json_string_value(v);
        if (!sv || strlen(k) >= sizeof set->key[0] || strlen(sv) >= sizeof set->val[0])
            return ig_error(IG_ERR_FORMAT, "%s: \"settings\".\"%.40s\" must be a short string", name, k);
        snprintf(set->key[set->n], sizeof set->key[0], "%s", k);
        snprintf(set->val[set->n], sizeof set->val[0], "%s", sv);
        set->n++;
    }
    return IG_OK;
}

/* Hash of the canonical (compact, sorted) text of root without its "checksum". */
static uint64_t json_checksum(json_t *root)
{
    json_t *c = json_deep_copy(root);
    if (!c) return 0;
    json_object_del(c, "checksum");
    char *text = json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS);
    uint64_t h = text ? ig_al_fnv(IG_AL_FNV_INIT, text, strlen(text)) : 0;
    free(text);
    json_decref(c);
    return h;
}

static enum ig_status write_json(json_t *root, const char *path)
{
    json_object_set_new(root, "checksum", hex64(json_checksum(root)));
    struct ig_atomic_file af;
    IG_TRY(ig_atomic_open(&af, path));
    if (json_dumpf(root, af.fp, JSON_INDENT(1) | JSON_COMPACT) != 0 || fputc('\n', af.fp) == EOF) {
        ig_atomic_abort(&af);
        return ig_error(IG_ERR_IO, "%s: write failed", path);
    }
    return ig_atomic_commit(&af);
}

/* Parse text (strict JSON); *sum_ok: its checksum matches (NULL: a mismatch is an error). */
static enum ig_status read_json(const char *buf, size_t len, const char *name, json_t **out, bool *sum_ok)
{
    json_error_t jerr;
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) return ig_error(IG_ERR_FORMAT, "%s:%d: %s", name, jerr.line, jerr.text);
    uint64_t want = 0;
    enum ig_status s = json_is_object(root) ? rd_hex64(json_object_get(root, "checksum"), &want, "checksum", name)
                                            : ig_error(IG_ERR_FORMAT, "%s: not a JSON object", name);
    if (s == IG_OK && sum_ok) *sum_ok = json_checksum(root) == want;
    else if (s == IG_OK && json_checksum(root) != want)
        s = ig_error(IG_ERR_FORMAT, "%s: \"checksum\" does not match the contents (the file was edited or damaged)", name);
    if (s != IG_OK) json_decref(root);
    else *out = root;
    return s;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    while (b) {
        n += fread(b + n, 1, cap - n, f);
        if (n < cap) break;
        char *nb = realloc(b, cap *= 2);
        if (!nb) free(b);
        b = nb;
    }
    if (b && ferror(f)) free(b), b = NULL;
    fclose(f);
    *len = n;
    return b;
}

/* Content hash of a file; IG_ERR_FORMAT naming field when it cannot be read. */
static enum ig_status file_hash(const char *path, uint64_t *out, const char *field, const char *name)
{
    size_t n;
    char *b = slurp(path, &n);
    if (!b) return ig_error(IG_ERR_FORMAT, "%s: \"%s\": cannot read %s: %s", name, field, path, strerror(errno));
    *out = ig_al_fnv(IG_AL_FNV_INIT, b, n);
    free(b);
    return IG_OK;
}

static void folder_join(char *out, size_t cap, const char *state_path, const char *file)
{
    const char *slash = strrchr(state_path, '/');
    if (slash) snprintf(out, cap, "%.*s/%s", (int)(slash - state_path), state_path, file);
    else snprintf(out, cap, "%s", file);
}

static enum ig_status model_hashes(const char *model, uint64_t *mh, uint64_t *oh, const char *name)
{
    char op[4400];
    snprintf(op, sizeof op, "%s.optim", model);
    IG_TRY(file_hash(model, mh, "model_file", name));
    return file_hash(op, oh, "model_file", name);
}

/* The real-valued fields of an epoch record, in file order; n_labeled follows score_mean (EPOCH_NUM_BEFORE_LABELED) */
#define EPOCH_FIELD(f) {#f, offsetof(struct ig_al_epoch_stats, f)}
static const struct {
    const char *key;
    size_t off;
} epoch_nums[] = {EPOCH_FIELD(train_s),    EPOCH_FIELD(score_s),      EPOCH_FIELD(fit_s),
                  EPOCH_FIELD(predict_s),  EPOCH_FIELD(select_s),     EPOCH_FIELD(total_s),
                  EPOCH_FIELD(test_acc),   EPOCH_FIELD(score_mean),   EPOCH_FIELD(reg_spearman),
                  EPOCH_FIELD(delta_grad_norm), EPOCH_FIELD(delta_wd_norm), EPOCH_FIELD(delta_cos)};
#undef EPOCH_FIELD
#define EPOCH_NUMS ((int)(sizeof epoch_nums / sizeof epoch_nums[0]))
#define EPOCH_NUM_BEFORE_LABELED 8

static double *epoch_num(struct ig_al_epoch_stats *e, int j) { return (double *)(void *)((char *)e + epoch_nums[j].off); }

static json_t *epochs_json(const struct ig_al_epoch_stats *ep, int n)
{
    json_t *a = json_array();
    for (int i = 0; a && i < n; i++) {
        json_t *o = json_object();
        struct ig_al_epoch_stats e = ep[i];
        for (int j = 0; j < EPOCH_NUMS; j++) {
            if (j == EPOCH_NUM_BEFORE_LABELED) json_object_set_new(o, "n_labeled", json_integer(e.n_labeled));
            json_object_set_new(o, epoch_nums[j].key, num(*epoch_num(&e, j)));
        }
        json_t *h = json_array();
        for (int c = 0; c < IG_AL_MAX_CLASSES; c++) json_array_append_new(h, json_integer(e.class_hist[c]));
        json_object_set_new(o, "class_hist", h);
        json_array_append_new(a, o);
    }
    return a;
}

static enum ig_status epochs_read(json_t *a, struct ig_al_epoch_stats *ep, int n, const char *name)
{
    if (!json_is_array(a) || json_array_size(a) != (size_t)n)
        return ig_error(IG_ERR_FORMAT, "%s: \"epochs\" must be an array of epoch_done = %d objects", name, n);
    for (int i = 0; i < n; i++) {
        json_t *o = json_array_get(a, (size_t)i), *h = json_object_get(o, "class_hist");
        struct ig_al_epoch_stats e = {0};
        json_int_t nl = 0;
        if (!json_is_object(o)) return ig_error(IG_ERR_FORMAT, "%s: \"epochs\"[%d] is not an object", name, i);
        for (int j = 0; j < EPOCH_NUMS; j++) IG_TRY(rd_num(o, epoch_nums[j].key, epoch_num(&e, j), name));
        IG_TRY(rd_int(o, "n_labeled", 0, INT64_MAX, &nl, name));
        if (!json_is_array(h) || json_array_size(h) != IG_AL_MAX_CLASSES)
            return ig_error(IG_ERR_FORMAT, "%s: \"epochs\"[%d].\"class_hist\" must be an array of %d counts", name, i, IG_AL_MAX_CLASSES);
        e.n_labeled = nl;
        for (int c = 0; c < IG_AL_MAX_CLASSES; c++) {
            json_t *x = json_array_get(h, (size_t)c);
            if (!json_is_integer(x) || json_integer_value(x) < 0)
                return ig_error(IG_ERR_FORMAT, "%s: \"epochs\"[%d].\"class_hist\"[%d] is not a count", name, i, c);
            e.class_hist[c] = json_integer_value(x);
        }
        ep[i] = e;
    }
    return IG_OK;
}

/* ---------------------------------------------------------------- run state */

enum ig_status ig_al_state_save(const struct al_state *s, const char *path)
{
    uint64_t mh = 0, oh = 0;
    if (s->model_file[0]) {
        char mp[4400];
        folder_join(mp, sizeof mp, path, s->model_file);
        IG_TRY(model_hashes(mp, &mh, &oh, path));
    }
    json_t *root = json_object();
    if (!root) return ig_error(IG_ERR_OOM, "%s: out of memory", path);
    json_object_set_new(root, "format", json_string("igradv-al-state-2"));
    json_object_set_new(root, "method", json_string(s->method));
    json_object_set_new(root, "fingerprint", hex64(ig_al_settings_fingerprint(&s->settings)));
    json_object_set_new(root, "settings", settings_json(&s->settings));
    json_object_set_new(root, "al_epochs", json_integer(s->al_epochs));
    json_object_set_new(root, "epoch_done", json_integer(s->epoch_done));
    json_object_set_new(root, "done", json_boolean(s->done));
    json_object_set_new(root, "a0", num(s->a0));
    json_object_set_new(root, "a", num(s->a));
    json_object_set_new(root, "init_train_s", num(s->init_train_s));
    json_object_set_new(root, "final_train_s", num(s->final_train_s));
    json_object_set_new(root, "eval_s", num(s->eval_s));
    json_object_set_new(root, "model_file", json_string(s->model_file));
    json_object_set_new(root, "model_hash", s->model_file[0] ? hex64(mh) : json_null());
    json_object_set_new(root, "optim_hash", s->model_file[0] ? hex64(oh) : json_null());
    json_t *r = json_array();
    for (int i = 0; i < 4; i++) json_array_append_new(r, hex64(s->model_rng.s[i]));
    json_object_set_new(root, "model_rng", r);
    json_object_set_new(root, "epochs", epochs_json(s->epochs, s->epoch_done < s->al_epochs ? s->epoch_done : s->al_epochs));
    json_object_set_new(root, "li", idx_array(s->li, s->n_li));
    json_object_set_new(root, "ui", idx_array(s->ui, s->n_ui));
    json_object_set_new(root, "nli", idx_array(s->nli, s->n_nli));
    enum ig_status st = write_json(root, path);
    json_decref(root);
    return st;
}

void ig_al_state_free(struct al_state *s)
{
    if (!s) return;
    free(s->li);
    free(s->ui);
    free(s->nli);
    free(s->epochs);
    memset(s, 0, sizeof *s);
}

static enum ig_status state_parse(struct al_state *s, json_t *root, const char *name)
{
    const char *fmt = json_string_value(json_object_get(root, "format"));
    if (!fmt || strcmp(fmt, "igradv-al-state-2"))
        return ig_error(IG_ERR_FORMAT, "%s: \"format\" must be \"igradv-al-state-2\" (an igradv active-learning state)", name);
    json_int_t ae = 0, ed = 0;
    IG_TRY(rd_str(root, "method", s->method, sizeof s->method, name));
    IG_TRY(rd_str(root, "model_file", s->model_file, sizeof s->model_file, name));
    IG_TRY(rd_hex64(json_object_get(root, "fingerprint"), &s->fingerprint, "fingerprint", name));
    IG_TRY(settings_read(json_object_get(root, "settings"), &s->settings, name));
    IG_TRY(rd_int(root, "al_epochs", 0, 100000, &ae, name));
    IG_TRY(rd_int(root, "epoch_done", 0, ae, &ed, name));
    s->al_epochs = (int)ae;
    s->epoch_done = (int)ed;
    json_t *done = json_object_get(root, "done");
    if (!json_is_boolean(done)) return ig_error(IG_ERR_FORMAT, "%s: \"done\" must be true or false", name);
    s->done = json_is_true(done);
    IG_TRY(rd_num(root, "a0", &s->a0, name));
    IG_TRY(rd_num(root, "a", &s->a, name));
    IG_TRY(rd_num(root, "init_train_s", &s->init_train_s, name));
    IG_TRY(rd_num(root, "final_train_s", &s->final_train_s, name));
    IG_TRY(rd_num(root, "eval_s", &s->eval_s, name));
    if (s->model_file[0]) {
        IG_TRY(rd_hex64(json_object_get(root, "model_hash"), &s->model_hash, "model_hash", name));
        IG_TRY(rd_hex64(json_object_get(root, "optim_hash"), &s->optim_hash, "optim_hash", name));
    }
    json_t *rng = json_object_get(root, "model_rng");
    if (!json_is_array(rng) || json_array_size(rng) != 4)
        return ig_error(IG_ERR_FORMAT, "%s: \"model_rng\" must be an array of 4 strings of 16 hex digits", name);
    for (int i = 0; i < 4; i++) IG_TRY(rd_hex64(json_array_get(rng, (size_t)i), &s->model_rng.s[i], "model_rng", name));
    s->epochs = calloc((size_t)(ae ? ae : 1), sizeof *s->epochs);
    if (!s->epochs) return ig_error(IG_ERR_OOM, "%s: out of host memory", name);
    IG_TRY(epochs_read(json_object_get(root, "epochs"), s->epochs, (int)ed, name));
    IG_TRY(rd_idx(root, "li", &s->li, &s->n_li, name));
    IG_TRY(rd_idx(root, "ui", &s->ui, &s->n_ui, name));
    return rd_idx(root, "nli", &s->nli, &s->n_nli, name);
}

enum ig_status ig_al_state_load_mem(struct al_state *s, const char *buf, size_t len, const char *name)
{
    memset(s, 0, sizeof *s);
    json_t *root = NULL;
    bool sum_ok = false;
    IG_TRY(read_json(buf, len, name, &root, &sum_ok));
    enum ig_status st = state_parse(s, root, name);
    s->checksum_ok = sum_ok;
    json_decref(root);
    if (st != IG_OK) ig_al_state_free(s);
    return st;
}

enum ig_status ig_al_state_load(struct al_state *s, const char *path)
{
    memset(s, 0, sizeof *s);
    if (access(path, F_OK) != 0) return ig_error(IG_ERR_IO, "%s: no state file", path);
    size_t n;
    char *b = slurp(path, &n);
    if (!b) return ig_error(IG_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
    enum ig_status st = ig_al_state_load_mem(s, b, n, path);
    free(b);
    return st;
}

/* ---------------------------------------------------------------- line-1 sidecar */

enum ig_status ig_al_init_meta_save(const char *path, const char *model_path, const struct al_settings *set, double a0,
                                    double train_s)
{
    uint64_t mh, oh;
    IG_TRY(model_hashes(model_path, &mh, &oh, path));
    json_t *root = json_object();
    if (!root) return ig_error(IG_ERR_OOM, "%s: out of memory", path);
    json_object_set_new(root, "format", json_string("igradv-al-init-2"));
    json_object_set_new(root, "fingerprint", hex64(ig_al_settings_fingerprint(set)));
    json_object_set_new(root, "settings", settings_json(set));
    json_object_set_new(root, "model_hash", hex64(mh));
    json_object_set_new(root, "optim_hash", hex64(oh));
    json_object_set_new(root, "a0", num(a0));
    json_object_set_new(root, "train_s", num(train_s));
    enum ig_status st = write_json(root, path);
    json_decref(root);
    return st;
}

bool ig_al_init_meta_load(const char *path, const char *model_path, const struct al_settings *set, double *a0,
                          double *train_s)
{
    size_t n;
    char *b = access(path, F_OK) == 0 ? slurp(path, &n) : NULL;
    json_t *root = NULL;
    bool ok = b && read_json(b, n, path, &root, NULL) == IG_OK;
    free(b);
    if (!ok) return false;
    struct al_settings stored;
    uint64_t fp = 0, want_mh = 0, want_oh = 0, mh = 1, oh = 1;
    const char *fmt = json_string_value(json_object_get(root, "format"));
    ok = fmt && !strcmp(fmt, "igradv-al-init-2") && rd_hex64(json_object_get(root, "fingerprint"), &fp, "fingerprint", path) == IG_OK &&
         fp == ig_al_settings_fingerprint(set) && settings_read(json_object_get(root, "settings"), &stored, path) == IG_OK &&
         ig_al_settings_compare(set, &stored, path) == IG_OK &&
         rd_hex64(json_object_get(root, "model_hash"), &want_mh, "model_hash", path) == IG_OK &&
         rd_hex64(json_object_get(root, "optim_hash"), &want_oh, "optim_hash", path) == IG_OK &&
         model_hashes(model_path, &mh, &oh, path) == IG_OK && mh == want_mh && oh == want_oh &&
         rd_num(root, "a0", a0, path) == IG_OK && rd_num(root, "train_s", train_s, path) == IG_OK &&
         *a0 >= 0 && *a0 <= 1;
    json_decref(root);
    return ok;
}
