/* nn checkpoints: the model's state_dict (PyTorch names and shapes) and the optimiser state as safetensors files. */
#include "ig_nn.h"
#include "ig_util.h"
#include "ig_nn_internal.h"
#include "ig_safetensors.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void optim_path(char *buf, size_t cap, const char *path) { snprintf(buf, cap, "%s.optim", path); }

static enum ig_status save_optim(const struct ig_optim *o, const char *path)
{
    struct ig_safetensors_writer *w = ig_safetensors_writer_new();
    if (!w) return ig_error(IG_ERR_OOM, "saving optimiser state: out of memory");
    enum ig_status s = IG_OK;
    char key[160], val[64];
    for (int i = 0; i < o->n && s == IG_OK; i++) {
        const struct ig_optim_state *st = &o->state[i];
        const char *name = o->model->params[i].name;
        if (!st->m) continue;   /* never updated */
        snprintf(key, sizeof key, "%s.%s", name, o->kind == IG_OPTIM_ADAM ? "exp_avg" : "momentum_buffer");
        s = ig_safetensors_writer_add(w, key, st->m);
        if (s == IG_OK && st->v) {
            snprintf(key, sizeof key, "%s.exp_avg_sq", name);
            s = ig_safetensors_writer_add(w, key, st->v);
        }
        if (s == IG_OK) {
            snprintf(key, sizeof key, "%s.step", name);
            s = ig_safetensors_writer_add_host(w, key, IG_ST_I64, 0, NULL, &st->steps);
        }
    }
    if (s == IG_OK) s = ig_safetensors_writer_set_meta(w, "kind", o->kind == IG_OPTIM_ADAM ? "adam" : "sgd");
    snprintf(val, sizeof val, "%" PRId64, o->steps);
    if (s == IG_OK) s = ig_safetensors_writer_set_meta(w, "step", val);
    snprintf(val, sizeof val, "%.9g", (double)ig_optim_lr(o));
    if (s == IG_OK) s = ig_safetensors_writer_set_meta(w, "lr", val);
    if (s == IG_OK) s = ig_safetensors_writer_save(w, path);
    ig_safetensors_writer_free(w);
    return s;
}

enum ig_status ig_model_save(const struct ig_model *m, const struct ig_optim *opt, const char *path)
{
    return ig_model_save_meta(m, opt, path, 0, NULL, NULL);
}

enum ig_status ig_model_save_meta(const struct ig_model *m, const struct ig_optim *opt, const char *path, int n_meta,
                                  const char *const *meta_keys, const char *const *meta_values)
{
    if (!m || !path || n_meta < 0 || (n_meta && (!meta_keys || !meta_values)))
        return ig_error(IG_ERR_INVALID_ARG, "ig_model_save: NULL argument");
    if (opt && opt->model != m) return ig_error(IG_ERR_INVALID_ARG, "ig_model_save: the optimiser belongs to another model");
    if (opt) {
        char op[4096];
        optim_path(op, sizeof op, path);
        enum ig_status s = save_optim(opt, op);
        if (s != IG_OK) return ig_error_prefix(s, "saving %s", op);
    }
    struct ig_safetensors_writer *w = ig_safetensors_writer_new();
    if (!w) return ig_error(IG_ERR_OOM, "ig_model_save: out of memory");
    enum ig_status s = IG_OK;
    for (int i = 0; i < m->n_params && s == IG_OK; i++)
        s = ig_safetensors_writer_add(w, m->params[i].name, ig_var_value(m->params[i].var));
    for (int i = 0; i < m->n_buffers && s == IG_OK; i++) {
        const struct ig_named_buffer *b = &m->buffers[i];
        if (b->is_count) s = ig_safetensors_writer_add_host(w, b->name, IG_ST_I64, 0, NULL, &b->owner->num_batches_tracked);
        else s = ig_safetensors_writer_add(w, b->name, b->t);
    }
    char val[64];
    snprintf(val, sizeof val, "%" PRId64, opt ? opt->steps : (int64_t)0);
    if (s == IG_OK) s = ig_safetensors_writer_set_meta(w, "format", "pt");
    if (s == IG_OK) s = ig_safetensors_writer_set_meta(w, "igradv_arch", m->arch);
    if (s == IG_OK) s = ig_safetensors_writer_set_meta(w, "step", val);
    for (int i = 0; i < n_meta && s == IG_OK; i++) {
        if (!meta_keys[i] || !meta_values[i] || !strcmp(meta_keys[i], "format") || !strcmp(meta_keys[i], "igradv_arch") ||
            !strcmp(meta_keys[i], "step"))
            s = ig_error(IG_ERR_INVALID_ARG, "metadata key %d is NULL or reserved", i);
        else s = ig_safetensors_writer_set_meta(w, meta_keys[i], meta_values[i]);
    }
    if (s == IG_OK) s = ig_safetensors_writer_save(w, path);
    ig_safetensors_writer_free(w);
    if (s != IG_OK) return ig_error_prefix(s, "saving %s", path);
    return IG_OK;
}

static enum ig_status load_optim(struct ig_optim *o, const char *path)
{
    struct ig_safetensors *st;
    IG_TRY(ig_safetensors_open(&st, path));
    enum ig_status s = IG_OK;
    const char *kind = ig_safetensors_meta(st, "kind");
    const char *want = o->kind == IG_OPTIM_ADAM ? "adam" : "sgd";
    if (!kind || strcmp(kind, want) != 0) {
        s = ig_error(IG_ERR_FORMAT, "optimiser kind is '%s', expected '%s'", kind ? kind : "(missing)", want);
        goto done;
    }
    int64_t steps;
    if ((s = ig_safetensors_meta_i64(st, "step", &steps)) != IG_OK) goto done;
    if (steps < 0) {
        s = ig_error(IG_ERR_FORMAT, "metadata \"step\" is %" PRId64 ", expected a count >= 0", steps);
        goto done;
    }
    /* every entry must belong to a parameter of the model */
    for (int e = 0; e < ig_safetensors_count(st); e++) {
        const char *name = ig_safetensors_entry(st, e)->name;
        bool known = false;
        for (int i = 0; i < o->n && !known; i++) {
            size_t l = strlen(o->model->params[i].name);
            known = strncmp(name, o->model->params[i].name, l) == 0 && name[l] == '.' && strchr(name + l + 1, '.') == NULL;
        }
        if (!known) {
            s = ig_error(IG_ERR_FORMAT, "tensor '%s' belongs to no parameter of this model", name);
            goto done;
        }
    }
    char key[160];
    for (int i = 0; i < o->n && s == IG_OK; i++) {
        struct ig_optim_state *os = &o->state[i];
        const char *name = o->model->params[i].name;
        snprintf(key, sizeof key, "%s.%s", name, o->kind == IG_OPTIM_ADAM ? "exp_avg" : "momentum_buffer");
        if (!ig_safetensors_find(st, key)) {  /* parameter never updated */
            os->steps = 0;
            ig_tensor_free(os->m);
            ig_tensor_free(os->v);
            os->m = os->v = NULL;
            continue;
        }
        const struct ig_tensor *pv = ig_var_value(os->param);
        if (!os->m && !(os->m = ig_tensor_new(pv->backend, IG_DTYPE_F32, pv->ndim, pv->shape))) { s = IG_ERR_OOM; break; }
        if ((s = ig_safetensors_read(st, key, os->m)) != IG_OK) break;
        if (o->kind == IG_OPTIM_ADAM) {
            snprintf(key, sizeof key, "%s.exp_avg_sq", name);
            if (!os->v && !(os->v = ig_tensor_new(pv->backend, IG_DTYPE_F32, pv->ndim, pv->shape))) { s = IG_ERR_OOM; break; }
            if ((s = ig_safetensors_read(st, key, os->v)) != IG_OK) break;
        }
        snprintf(key, sizeof key, "%s.step", name);
        s = ig_safetensors_read_host(st, key, IG_ST_I64, &os->steps, sizeof os->steps);
        if (s == IG_OK && (os->steps < 0 || os->steps > steps))
            s = ig_error(IG_ERR_FORMAT, "tensor '%s' is %" PRId64 ", expected a count in 0..%" PRId64 " (the file's step)", key,
                         os->steps, steps);
    }
    if (s == IG_OK) o->steps = steps;
done:
    ig_safetensors_close(st);
    return s;
}

enum ig_status ig_model_load(struct ig_model *m, struct ig_optim *opt, const char *path, bool *opt_loaded)
{
    if (opt_loaded) *opt_loaded = false;
    if (!m || !path) return ig_error(IG_ERR_INVALID_ARG, "ig_model_load: NULL argument");
    if (opt && opt->model != m) return ig_error(IG_ERR_INVALID_ARG, "ig_model_load: the optimiser belongs to another model");
    struct ig_safetensors *st;
    enum ig_status s = ig_safetensors_open(&st, path);
    if (s != IG_OK) return s;   /* the reader's message names the file */
    for (int e = 0; e < ig_safetensors_count(st) && s == IG_OK; e++) {
        const char *name = ig_safetensors_entry(st, e)->name;
        bool known = ig_model_param(m, name) != NULL;
        for (int i = 0; i < m->n_buffers && !known; i++) known = strcmp(m->buffers[i].name, name) == 0;
        if (!known) s = ig_error(IG_ERR_FORMAT, "%s: tensor '%s' is not part of this model (%s)", path, name, m->arch);
    }
    for (int i = 0; i < m->n_params && s == IG_OK; i++) {
        if (!ig_safetensors_find(st, m->params[i].name))
            s = ig_error(IG_ERR_FORMAT, "%s: tensor '%s' is missing", path, m->params[i].name);
        else s = ig_safetensors_read(st, m->params[i].name, ig_var_value(m->params[i].var));
    }
    for (int i = 0; i < m->n_buffers && s == IG_OK; i++) {
        struct ig_named_buffer *b = &m->buffers[i];
        const struct ig_st_entry *e = ig_safetensors_find(st, b->name);
        if (!e) {
            if (b->is_count) continue;  /* older PyTorch files have no num_batches_tracked */
            s = ig_error(IG_ERR_FORMAT, "%s: tensor '%s' is missing", path, b->name);
        } else if (b->is_count) {
            int64_t v = 0;
            if (e->dtype == IG_ST_I64 && e->numel == 1) s = ig_safetensors_read_host(st, b->name, IG_ST_I64, &v, sizeof v);
            else s = ig_error(IG_ERR_FORMAT, "%s: tensor '%s' must be one I64 value", path, b->name);
            if (s == IG_OK) b->owner->num_batches_tracked = v;
        } else {
            s = ig_safetensors_read(st, b->name, b->t);
        }
    }
    ig_safetensors_close(st);
    if (s != IG_OK) return s;
    if (opt) {
        char op[4096];
        optim_path(op, sizeof op, path);
        if (access(op, F_OK) == 0) {
            s = load_optim(opt, op);
            if (s != IG_OK) return ig_error_prefix(s, "%s", op);
            if (opt_loaded) *opt_loaded = true;
        }
    }
    return IG_OK;
}
