/* libFuzzer target: the CIFAR-10 binary reader on one file (records of 1 label byte + 3072 pixels). */
#include "fuzz_util.h"
#include "ig_data.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    const char *p = fuzz_file("data_batch_1.bin", d, n);
    struct ig_dataset ds;
    for (int64_t max_n = 0; max_n <= 2; max_n += 2) {
        if (ig_cifar10_read_file(&ds, p, max_n) == IG_OK) {
            for (int64_t i = 0; i < ds.n; i++)
                if (ds.labels[i] < 0 || ds.labels[i] >= ds.num_classes) abort();
            ig_dataset_free(&ds);
        }
    }
    return 0;
}
