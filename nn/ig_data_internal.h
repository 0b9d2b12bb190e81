/* Private helpers shared by the data readers and the loader. */
#ifndef IG_DATA_INTERNAL_H
#define IG_DATA_INTERNAL_H
#include "ig_data.h"
#include "ig_util.h"

/* Zero ds and allocate images [n,c,h,w] and labels [n] (num_classes and names left empty). */
enum ig_status ig_data_dataset_alloc(struct ig_dataset *ds, int64_t n, int c, int h, int w);
#endif
