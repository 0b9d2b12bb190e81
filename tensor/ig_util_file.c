/* The atomic file writer: temporary beside the target, fsync, rename, fsync of the folder; cleanup of leftovers. */
#include "ig_util.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static atomic_uint tmp_seq;
static ig_atomic_hook_fn hook;

void ig_atomic_set_hook(ig_atomic_hook_fn fn) { hook = fn; }

/* dir of path ("." when none) into out. */
static void folder_of(const char *path, char *out, size_t cap)
{
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(out, cap, ".");
    else if (slash == path) snprintf(out, cap, "/");
    else snprintf(out, cap, "%.*s", (int)(slash - path), path);
}

enum ig_status ig_atomic_open(struct ig_atomic_file *af, const char *path)
{
    if (!af || !path || !*path) return ig_error(IG_ERR_INVALID_ARG, "atomic write: NULL or empty path");
    memset(af, 0, sizeof *af);
    if (strlen(path) >= sizeof af->path) return ig_error(IG_ERR_INVALID_ARG, "atomic write: path too long: %s", path);
    snprintf(af->path, sizeof af->path, "%s", path);
    char dir[4096];
    folder_of(path, dir, sizeof dir);
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    snprintf(af->tmp, sizeof af->tmp, "%s/.%s" IG_ATOMIC_TMP_TAG "%ld.%u", dir, base, (long)getpid(),
             atomic_fetch_add(&tmp_seq, 1u));
    int fd = open(af->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return ig_error(IG_ERR_IO, "cannot create a temporary file in %s for %s: %s", dir, base, strerror(errno));
    af->fp = fdopen(fd, "wb");
    if (!af->fp) {
        int err = errno;
        close(fd);
        unlink(af->tmp);
        return ig_error(IG_ERR_IO, "cannot open a temporary file for %s: %s", path, strerror(err));
    }
    return IG_OK;
}

void ig_atomic_abort(struct ig_atomic_file *af)
{
    if (!af) return;
    if (af->fp) fclose(af->fp);
    af->fp = NULL;
    if (af->tmp[0]) unlink(af->tmp);
    af->tmp[0] = '\0';
}

enum ig_status ig_atomic_commit(struct ig_atomic_file *af)
{
    if (!af || !af->fp) return ig_error(IG_ERR_STATE, "atomic write: commit without an open file");
    int err = 0;
    if (hook) hook("commit", af->path);
    if (fflush(af->fp) != 0 || ferror(af->fp)) err = errno ? errno : EIO;
    if (!err && fsync(fileno(af->fp)) != 0) err = errno;
    if (fclose(af->fp) != 0 && !err) err = errno;
    af->fp = NULL;
    if (!err && hook) hook("rename", af->path);
    if (!err && rename(af->tmp, af->path) != 0) err = errno;
    if (err) {
        unlink(af->tmp);
        af->tmp[0] = '\0';
        return ig_error(IG_ERR_IO, "writing %s failed: %s", af->path, strerror(err));
    }
    af->tmp[0] = '\0';
    if (hook) hook("renamed", af->path);
    char dir[4096];
    folder_of(af->path, dir, sizeof dir);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        int r = fsync(dfd);
        err = errno;
        close(dfd);
        if (r != 0 && err != EINVAL && err != EROFS)
            return ig_error(IG_ERR_IO, "syncing folder %s after writing %s: %s", dir, af->path, strerror(err));
    }
    return IG_OK;
}

enum ig_status ig_file_write_atomic(const char *path, const void *data, size_t bytes)
{
    struct ig_atomic_file af;
    IG_TRY(ig_atomic_open(&af, path));
    if (bytes && fwrite(data, 1, bytes, af.fp) != bytes) {
        int err = errno;
        ig_atomic_abort(&af);
        return ig_error(IG_ERR_IO, "writing %s failed: %s", path, strerror(err));
    }
    return ig_atomic_commit(&af);
}

bool ig_atomic_is_tmp_name(const char *name)
{
    if (!name || name[0] != '.') return false;
    const char *tag = strstr(name + 1, IG_ATOMIC_TMP_TAG);
    if (!tag || tag == name + 1) return false;
    const char *p = tag + strlen(IG_ATOMIC_TMP_TAG);
    int digits = 0, dots = 0;
    for (; *p; p++) {
        if (*p >= '0' && *p <= '9') digits++;
        else if (*p == '.' && digits > 0 && dots == 0) dots++, digits = 0;
        else return false;
    }
    return dots == 1 && digits > 0;
}

enum ig_status ig_atomic_clean_dir(const char *dir, int *n_removed)
{
    if (n_removed) *n_removed = 0;
    if (!dir || !*dir) return ig_error(IG_ERR_INVALID_ARG, "clean: NULL or empty folder");
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT) return IG_OK;
        return ig_error(IG_ERR_IO, "cannot list %s: %s", dir, strerror(errno));
    }
    enum ig_status s = IG_OK;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!ig_atomic_is_tmp_name(e->d_name)) continue;
        char p[4600];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (unlink(p) == 0) {
            if (n_removed) (*n_removed)++;
        } else if (errno != ENOENT && s == IG_OK) {
            s = ig_error(IG_ERR_IO, "cannot remove leftover temporary %s: %s", p, strerror(errno));
        }
    }
    closedir(d);
    return s;
}
