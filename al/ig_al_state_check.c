/* al: validation of a loaded run state against the run it is resumed into, model checkpoints with their fingerprint, cleanup of debris. */
#include "ig_al_internal.h"
#include "ig_safetensors.h"
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FAIL(...) ig_error(IG_ERR_FORMAT, __VA_ARGS__)

static enum ig_status check_counters(const struct al_state *s, const struct al_state_expect *x, const char *path)
{
    if (s->fingerprint != ig_al_settings_fingerprint(&s->settings))
        return FAIL("%s: \"fingerprint\" does not match the stored settings", path);
    if (strcmp(s->method, x->method)) return FAIL("%s: \"method\" is '%s', this run is '%s'", path, s->method, x->method);
    if (s->al_epochs != x->al_epochs) return FAIL("%s: \"al_epochs\" is %d, this run has %d", path, s->al_epochs, x->al_epochs);
    if (s->epoch_done < 0 || s->epoch_done > s->al_epochs)
        return FAIL("%s: \"epoch_done\" %d is not in 0..al_epochs = %d", path, s->epoch_done, s->al_epochs);
    if (s->done && s->epoch_done != s->al_epochs)
        return FAIL("%s: \"done\" is true but \"epoch_done\" %d is not al_epochs = %d", path, s->epoch_done, s->al_epochs);
    if (!(s->a0 >= 0 && s->a0 <= 1)) return FAIL("%s: \"a0\" must be an accuracy in [0, 1]", path);
    if (s->done ? !(s->a >= 0 && s->a <= 1) : !isnan(s->a))
        return FAIL("%s: \"a\" must be %s", path, s->done ? "an accuracy in [0, 1] when done" : "null before the run is done");
    return IG_OK;
}

static enum ig_status check_sizes(const struct al_state *s, const struct al_state_expect *x, const char *path)
{
    int64_t e = s->epoch_done, k = x->k;
    int64_t want_li = x->n_li0 + k * (e + (s->done ? 1 : 0)), want_nli = s->done ? 0 : k, want_ui = x->n_ui0 - k * (e + 1);
    if (s->n_li != want_li) return FAIL("%s: \"li\" has %lld rows, expected %lld at epoch_done %d", path, (long long)s->n_li, (long long)want_li, s->epoch_done);
    if (s->n_nli != want_nli) return FAIL("%s: \"nli\" has %lld rows, expected %lld", path, (long long)s->n_nli, (long long)want_nli);
    if (want_ui < 0 || s->n_ui != want_ui)
        return FAIL("%s: \"ui\" has %lld rows, expected %lld at epoch_done %d", path, (long long)s->n_ui, (long long)want_ui, s->epoch_done);
    return IG_OK;
}

/* Every row in range, LI starts with the initial LI, the rest comes from the initial pool, no
 * row twice (with the sizes above: LI ∪ UI ∪ NLI covers the initial LI ∪ UI exactly). */
static enum ig_status check_rows(const struct al_state *s, const struct al_state_expect *x, const char *path)
{
    uint8_t *mark = calloc((size_t)(x->n_rows ? x->n_rows : 1), 1);   /* 1: initial LI, 2: pool, |4: seen */
    if (!mark) return ig_error(IG_ERR_OOM, "%s: out of host memory", path);
    for (int64_t i = 0; i < x->n_li0; i++) mark[x->li0[i]] = 1;
    for (int64_t i = 0; i < x->n_ui0; i++) mark[x->ui0[i]] = 2;
    const char *names[3] = {"li", "ui", "nli"};
    const int64_t *sets[3] = {s->li, s->ui, s->nli}, ns[3] = {s->n_li, s->n_ui, s->n_nli};
    enum ig_status st = IG_OK;
    for (int a = 0; a < 3 && st == IG_OK; a++)
        for (int64_t i = 0; i < ns[a] && st == IG_OK; i++) {
            int64_t r = sets[a][i];
            bool head = a == 0 && i < x->n_li0;
            if (r < 0 || r >= x->n_rows)
                st = FAIL("%s: \"%s\"[%lld] = %lld is not a row of the training set (0..%lld)", path, names[a], (long long)i,
                          (long long)r, (long long)x->n_rows - 1);
            else if (head && r != x->li0[i])
                st = FAIL("%s: \"%s\"[%lld] = %lld differs from the initial split", path, names[a], (long long)i, (long long)r);
            else if (mark[r] & 4)
                st = FAIL("%s: \"%s\"[%lld] = %lld appears twice in li/ui/nli", path, names[a], (long long)i, (long long)r);
            else if (!head && (mark[r] & 3) != 2)
                st = FAIL("%s: \"%s\"[%lld] = %lld is not in the initial pool UI", path, names[a], (long long)i, (long long)r);
            else mark[r] |= 4;
        }
    free(mark);
    return st;
}

static enum ig_status check_model_name(const struct al_state *s, const struct al_state_expect *x, const char *path)
{
    char want[256];
    if (s->done) want[0] = '\0';
    else snprintf(want, sizeof want, "%s.e%d.safetensors", x->tag, s->epoch_done);
    if (strcmp(s->model_file, want))
        return FAIL("%s: \"model_file\" is '%s', expected '%s' for epoch_done %d", path, s->model_file, want, s->epoch_done);
    return IG_OK;
}

/* The named files: content hashes as stored, fingerprint and epoch in the model's metadata. */
static enum ig_status check_model(const struct al_state *s, const struct al_state_expect *x, const char *path)
{
    if (s->done) return IG_OK;
    char mp[4400], op[4500];
    snprintf(mp, sizeof mp, "%s/%s", x->dir, s->model_file);
    snprintf(op, sizeof op, "%s.optim", mp);
    const char *files[2] = {mp, op};
    uint64_t want_h[2] = {s->model_hash, s->optim_hash};
    for (int f = 0; f < 2; f++) {
        FILE *fp = fopen(files[f], "rb");
        if (!fp) return FAIL("%s: \"model_file\": cannot open %s: %s", path, files[f], strerror(errno));
        uint64_t h = IG_AL_FNV_INIT;
        char buf[1 << 16];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, fp)) > 0) h = ig_al_fnv(h, buf, n);
        fclose(fp);
        if (h != want_h[f])
            return FAIL("%s: \"%s\": %s was changed or belongs to another checkpoint (content hash differs)", path,
                        f ? "optim_hash" : "model_hash", files[f]);
    }
    struct ig_safetensors *st;
    if (ig_safetensors_open(&st, mp) != IG_OK) return FAIL("%s: \"model_file\": %s", path, ig_last_error());
    char fp[24], ep[24];
    snprintf(fp, sizeof fp, "%016llx", (unsigned long long)s->fingerprint);
    snprintf(ep, sizeof ep, "%d", s->epoch_done);
    const char *mfp = ig_safetensors_meta(st, "igradv_fingerprint"), *mep = ig_safetensors_meta(st, "igradv_epoch");
    char got_fp[40], got_ep[40];
    snprintf(got_fp, sizeof got_fp, "%s", mfp ? mfp : "(none)");
    snprintf(got_ep, sizeof got_ep, "%s", mep ? mep : "(none)");
    ig_safetensors_close(st);
    if (strcmp(got_fp, fp) || strcmp(got_ep, ep))
        return FAIL("%s: \"model_file\": %s has fingerprint %s epoch %s in its metadata, expected %s epoch %s", path, mp, got_fp,
                    got_ep, fp, ep);
    return IG_OK;
}

enum ig_status ig_al_state_check(const struct al_state *s, const struct al_state_expect *x, const char *path)
{
    if (!s || !x || !x->settings || !x->li0 || !x->ui0 || x->k < 1) return ig_error(IG_ERR_INVALID_ARG, "ig_al_state_check: bad argument");
    IG_TRY(ig_al_settings_compare(x->settings, &s->settings, path));
    IG_TRY(check_counters(s, x, path));
    IG_TRY(check_sizes(s, x, path));
    IG_TRY(check_rows(s, x, path));
    IG_TRY(check_model_name(s, x, path));
    if (!s->checksum_ok) return FAIL("%s: \"checksum\" does not match the contents (the file was edited or damaged)", path);
    return check_model(s, x, path);
}

enum ig_status ig_al_state_model_save(const struct ig_model *m, const struct ig_optim *opt, const char *path,
                                      uint64_t fingerprint, int epoch)
{
    char fp[24], ep[24];
    snprintf(fp, sizeof fp, "%016llx", (unsigned long long)fingerprint);
    snprintf(ep, sizeof ep, "%d", epoch);
    const char *keys[2] = {"igradv_fingerprint", "igradv_epoch"}, *vals[2] = {fp, ep};
    return ig_model_save_meta(m, opt, path, 2, keys, vals);
}

/* name is <tag>.e<digits>.safetensors or the same + ".optim". */
static bool is_model_of(const char *name, const char *tag)
{
    size_t t = strlen(tag);
    if (strncmp(name, tag, t) || strncmp(name + t, ".e", 2)) return false;
    const char *p = name + t + 2;
    size_t d = strspn(p, "0123456789");
    if (!d) return false;
    return !strcmp(p + d, ".safetensors") || !strcmp(p + d, ".safetensors.optim");
}

/* name is a temporary of the atomic writer for one of tag's files (".<tag>.<...>.igtmp.<pid>.<n>"): only
 * these, as other processes (MPI ranks) may be writing other runs' files into the same folder. */
static bool is_tmp_of(const char *name, const char *tag)
{
    size_t t = strlen(tag);
    return ig_atomic_is_tmp_name(name) && !strncmp(name + 1, tag, t) && name[1 + t] == '.';
}

enum ig_status ig_al_state_clean(const char *dir, const char *tag, const char *keep)
{
    DIR *d = opendir(dir);
    if (!d) return errno == ENOENT ? IG_OK : ig_error(IG_ERR_IO, "cannot list %s: %s", dir, strerror(errno));
    size_t kl = keep ? strlen(keep) : 0;
    enum ig_status s = IG_OK;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *n = e->d_name;
        bool kept = kl && !strncmp(n, keep, kl) && (!n[kl] || !strcmp(n + kl, ".optim"));
        if (!is_tmp_of(n, tag) && (!is_model_of(n, tag) || kept)) continue;
        char p[4600];
        snprintf(p, sizeof p, "%s/%s", dir, n);
        if (unlink(p) != 0 && errno != ENOENT && s == IG_OK) s = ig_error(IG_ERR_IO, "cannot remove orphan model %s: %s", p, strerror(errno));
    }
    closedir(d);
    return s;
}
