/* libFuzzer target: the IDX reader (raw, or gzip with -DFUZZ_IDX_GZ: same code path, gzip-framed seeds); input = images file, labels file after a 2-byte length. */
#include "fuzz_util.h"
#include "ig_data.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    if (n < 2) return 0;
    size_t ni = (size_t)d[0] << 8 | d[1];
    if (ni > n - 2) ni = n - 2;
#ifdef FUZZ_IDX_GZ
    const char *img = fuzz_file("images.gz", d + 2, ni), *lab = fuzz_file("labels.gz", d + 2 + ni, n - 2 - ni);
#else
    const char *img = fuzz_file("images", d + 2, ni), *lab = fuzz_file("labels", d + 2 + ni, n - 2 - ni);
#endif
    struct ig_dataset ds;
    for (int64_t max_n = 0; max_n <= 3; max_n += 3)
        if (ig_idx_read_pair(&ds, img, lab, 10, max_n) == IG_OK) {
            int64_t px = ig_dataset_image_bytes(&ds);
            volatile uint8_t sink = 0;
            for (int64_t i = 0; i < ds.n; i++) {
                if (ds.labels[i] < 0 || ds.labels[i] >= 10) abort();
                sink ^= ds.images[i * px + px - 1];
            }
            (void)sink;
            ig_dataset_free(&ds);
        }
    return 0;
}
