/* igradv-devices: list the OpenCL devices igradv can use and show which backend ig_backend_init_best() picks. */
#include "ig_tensor.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: igradv-devices [--check] [--verbose]\n"
            "  Lists OpenCL devices as opencl:<platform>:<device> (the values IGRADV_DEVICE accepts),\n"
            "  then the backend ig_backend_init_best() selects (IGRADV_DEVICE, else a GPU, else the CPU).\n"
            "  --check    also open every listed device, build (or load from cache) the kernels and run one op\n"
            "  --verbose  log library messages (kernel build logs, selection reasons) to stderr\n");
}

/* Open spec, run relu on 4 values and read them back. */
static int check_device(const char *spec)
{
    struct ig_backend *be = NULL;
    if (ig_backend_init(spec, &be) != IG_OK) {
        printf("  %s: FAILED: %s\n", spec, ig_last_error());
        return 1;
    }
    int64_t shape[1] = {4};
    float in[4] = {-1, 2, -3, 4}, out[4] = {0};
    struct ig_tensor *x = ig_tensor_from_host(be, IG_DTYPE_F32, 1, shape, in);
    enum ig_status s = x ? ig_relu_forward(x, x) : IG_ERR_OOM;
    if (s == IG_OK) s = ig_tensor_to_host(x, out, sizeof out);
    bool ok = s == IG_OK && out[0] == 0 && out[1] == 2 && out[2] == 0 && out[3] == 4;
    printf("  %s: %s (%s)\n", spec, ok ? "ok" : "FAILED", s == IG_OK ? ig_backend_name(be) : ig_last_error());
    ig_tensor_free(x);
    ig_backend_free(be);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    bool check = false, verbose = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--check") == 0) check = true;
        else if (strcmp(argv[i], "--verbose") == 0) verbose = true;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (verbose) ig_log_set_handler(ig_log_stderr, (void *)(intptr_t)IG_LOG_DEBUG);
    size_t cap = 1 << 16;
    char *buf = malloc(cap);
    if (!buf) return 1;
    int failures = 0;
    printf("OpenCL devices:\n");
    if (ig_backend_list_devices(buf, cap) != IG_OK) {
        printf("  none: %s\n", ig_last_error());
    } else {
        char *save = NULL;
        for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            printf("  %s\n", line);
            if (check) {
                char spec[64];
                if (sscanf(line, "%63s", spec) == 1) failures += check_device(spec);
            }
        }
    }
    free(buf);
    const char *env = getenv("IGRADV_DEVICE");
    struct ig_backend *be = NULL;
    if (ig_backend_init_best(&be) != IG_OK) {
        printf("selected: none: %s\n", ig_last_error());
        return 1;
    }
    if (env && *env) printf("selected: %s  (IGRADV_DEVICE=%s)\n", ig_backend_name(be), env);
    else printf("selected: %s\n", ig_backend_name(be));
    ig_backend_free(be);
    return failures ? 1 : 0;
}
