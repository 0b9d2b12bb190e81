/* CPU cache of transformed conv weights: each entry keeps a copy of the raw weights it was made from and is used only while they are bit-identical. */
#ifndef IG_CPU_WCACHE_H
#define IG_CPU_WCACHE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ig_backend;
struct ig_cpu_wcache;

/* An empty cache holding at most cap_bytes (copies and transforms together); NULL on OOM. */
struct ig_cpu_wcache *ig_cpu_wcache_new(size_t cap_bytes);
void ig_cpu_wcache_free(struct ig_cpu_wcache *c);

/* The transform slot (u_floats floats, 64-byte aligned) for the raw weights w[0 .. w_floats) under
 * tag (what the transform depends on besides the values: kind, tile, shape). *hit: the slot already
 * holds the transform of exactly these values (bit for bit, checked against the kept copy), so the
 * caller uses it as is. Otherwise the copy now holds w and the caller must fill the slot before its
 * next call into the cache. NULL (no error): the cache is off, or the entry would not fit; the caller
 * then transforms into its own scratch. Entries are found by (w, w_floats, u_floats, tag); one in use
 * is never evicted for new weights, one unused for long may be (ig_cpu_wcache.c). The slot is valid
 * until the next call into the cache. */
float *ig_cpu_wcache_slot(struct ig_backend *be, const float *w, size_t w_floats, uint64_t tag, size_t u_floats,
                          bool *hit);
/* Entries and bytes held, and the lookups answered from the cache so far (tests). */
void ig_cpu_wcache_stats(const struct ig_backend *be, int *entries, size_t *bytes, int64_t *hits);
#endif /* IG_CPU_WCACHE_H */
