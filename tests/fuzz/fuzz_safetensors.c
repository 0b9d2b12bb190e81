/* libFuzzer target: the safetensors reader from memory: header, entries, metadata, and reading every tensor back. */
#include "fuzz_util.h"
#include "ig_safetensors.h"

static struct ig_backend *be;

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    if (!be && ig_backend_init_cpu(&be, 1) != IG_OK) abort();
    struct ig_safetensors *st;
    if (ig_safetensors_open_memory(&st, d, n, "fuzz.safetensors") != IG_OK) return 0;
    for (int i = 0; i < ig_safetensors_count(st); i++) {
        const struct ig_st_entry *e = ig_safetensors_entry(st, i);
        if (e->numel > (1 << 16) || e->ndim < 1) continue;
        struct ig_tensor *t = ig_tensor_new(be, IG_DTYPE_F32, e->ndim, e->shape);
        if (t) ig_safetensors_read(st, e->name, t);
        ig_tensor_free(t);
    }
    for (int i = 0; i < ig_safetensors_meta_count(st); i++) {
        const char *k, *v;
        ig_safetensors_meta_at(st, i, &k, &v);
        int64_t x;
        ig_safetensors_meta_i64(st, k, &x);
    }
    ig_safetensors_close(st);
    return 0;
}
