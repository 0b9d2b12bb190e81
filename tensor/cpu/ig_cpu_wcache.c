/* CPU cache of transformed conv weights: each entry keeps a copy of the raw weights it was made from and is used only while they are bit-identical. */
#include "ig_cpu_wcache.h"
#include "ig_cpu_isa.h"
#include "ig_cpu_util.h"
#include <stdlib.h>
#include <string.h>

/*
 * The Winograd convs transform their 3x3 weights on every call (36 / 16 values per tap pair, a
 * scattered write 4x the weights' size). Within a scoring pass of the per-sample engine the
 * parameters and the reference direction do not change, so the same transforms were recomputed for
 * every batch. No version counter tells the backend that a tensor was written (kernels, host copies,
 * optimizers, checkpoint loads all write through different paths), so an entry is valid exactly while
 * the weights equal the copy it keeps: one compare of the raw weights (1/4 the transform's write)
 * replaces the transform, and a changed weight, a reused address or a new tensor can never read a
 * stale transform.
 * Training changes every weight at every step; there the copy would be pure cost. An entry that
 * misses twice in a row goes dormant: it frees its memory and keeps WC_SAMPLE spread values only;
 * while those keep changing the caller transforms into its own scratch, as without the cache. When
 * they come back unchanged the entry takes a full copy again (and the next call checks all of it).
 * Entries in use are never evicted for new weights: a pass over more weights than fit keeps those
 * already in and transforms the others every time (LRU would miss on every one of a cycle). An
 * entry unused for WC_STALE lookups (its tensor freed, another model) may be replaced.
 */
#define WC_ENTRIES 32
#define WC_SAMPLE 16
#define WC_DORMANT_AFTER 2   /* misses in a row */
#define WC_STALE (4 * WC_ENTRIES)   /* lookups: an entry unused for that long may be replaced */

struct wc_entry {
    const float *w;           /* the raw weights' address, with the sizes and tag the lookup key */
    size_t w_floats, u_floats;
    uint64_t tag;
    float *copy;              /* [w_floats]: the values the slot was made from; NULL while dormant */
    float *u;                 /* [u_floats], 64-byte aligned; NULL while dormant */
    float sample[WC_SAMPLE];  /* dormant: the spread values seen last */
    int misses;               /* in a row */
    uint64_t last_use;        /* 0: the entry is free */
};

struct ig_cpu_wcache {
    struct wc_entry e[WC_ENTRIES];
    size_t bytes, cap_bytes;  /* held by the active entries */
    uint64_t clock;
    int64_t hits;
};

struct ig_cpu_wcache *ig_cpu_wcache_new(size_t cap_bytes)
{
    struct ig_cpu_wcache *c = calloc(1, sizeof *c);
    if (c) c->cap_bytes = cap_bytes;
    return c;
}

static size_t entry_bytes(size_t w_floats, size_t u_floats) { return (w_floats + u_floats) * sizeof(float); }

/* Frees an entry's memory (it stays in the table, dormant). */
static void release(struct ig_cpu_wcache *c, struct wc_entry *e)
{
    if (!e->copy) return;
    free(e->copy);
    free(e->u);
    e->copy = e->u = NULL;
    c->bytes -= entry_bytes(e->w_floats, e->u_floats);
}

static void drop(struct ig_cpu_wcache *c, struct wc_entry *e)
{
    release(c, e);
    memset(e, 0, sizeof *e);
}

void ig_cpu_wcache_free(struct ig_cpu_wcache *c)
{
    if (!c) return;
    for (int i = 0; i < WC_ENTRIES; i++) drop(c, &c->e[i]);
    free(c);
}

/* a[0 .. n) == b[0 .. n) bit for bit, compared in parallel slices when large. */
static bool same_bits(const float *a, const float *b, size_t n)
{
    int differ = 0;
    int64_t parts = n >= ((size_t)1 << 16) ? ig_cpu_max_threads() : 1, slice = (int64_t)(n / (size_t)parts) + 1;
    IG_OMP(omp parallel for schedule(static) reduction(| : differ) if (parts > 1))
    for (int64_t p = 0; p < parts; p++) {
        size_t lo = (size_t)(p * slice), hi = lo + (size_t)slice < n ? lo + (size_t)slice : n;
        if (lo < hi) differ |= memcmp(a + lo, b + lo, (hi - lo) * sizeof(float)) != 0;
    }
    return !differ;
}

/* Takes the spread sample of w into e; true when it equals the one kept. */
static bool resample(struct wc_entry *e, const float *w)
{
    bool same = true;
    for (int i = 0; i < WC_SAMPLE; i++) {
        float v = w[(size_t)i * (e->w_floats - 1) / (WC_SAMPLE - 1)];
        same &= memcmp(&v, &e->sample[i], sizeof v) == 0;
        e->sample[i] = v;
    }
    return same;
}

/* Whether e was left unused for long: WC_STALE lookups of other weights since its last one. */
static bool stale(const struct ig_cpu_wcache *c, const struct wc_entry *e) { return c->clock - e->last_use > WC_STALE; }

/* Room for bytes more in the active entries, dropping stale ones (least recently used first) but
 * none in use: weights that do not all fit then keep the ones already in (no thrashing). */
static bool make_room(struct ig_cpu_wcache *c, size_t bytes, const struct wc_entry *keep)
{
    if (bytes > c->cap_bytes) return false;
    while (c->bytes + bytes > c->cap_bytes) {
        struct wc_entry *lru = NULL;
        for (int i = 0; i < WC_ENTRIES; i++) {
            struct wc_entry *e = &c->e[i];
            if (e != keep && e->copy && stale(c, e) && (!lru || e->last_use < lru->last_use)) lru = e;
        }
        if (!lru) return false;
        drop(c, lru);
    }
    return true;
}

/* e (its key set) gets memory and a copy of w; false when it cannot (e then dormant). */
static bool activate(struct ig_cpu_wcache *c, struct wc_entry *e, const float *w)
{
    if (!make_room(c, entry_bytes(e->w_floats, e->u_floats), e)) return false;
    e->copy = malloc(e->w_floats * sizeof(float));
    e->u = aligned_alloc(64, (e->u_floats * sizeof(float) + 63) & ~(size_t)63);
    if (!e->copy || !e->u) {
        free(e->copy);
        free(e->u);
        e->copy = e->u = NULL;
        return false;
    }
    memcpy(e->copy, w, e->w_floats * sizeof(float));
    c->bytes += entry_bytes(e->w_floats, e->u_floats);
    e->misses = 0;
    return true;
}

/* The entry of this key; else one for it: a free one, else the least recently used dormant or
 * stale one (dropped); NULL when every entry is in use. */
static struct wc_entry *find(struct ig_cpu_wcache *c, const float *w, size_t w_floats, uint64_t tag, size_t u_floats,
                             bool *found)
{
    struct wc_entry *spare = NULL;
    for (int i = 0; i < WC_ENTRIES; i++) {
        struct wc_entry *e = &c->e[i];
        if (e->last_use && e->w == w && e->w_floats == w_floats && e->u_floats == u_floats && e->tag == tag)
            return *found = true, e;
        bool free_e = !e->last_use, evictable = free_e || !e->copy || stale(c, e);
        if (evictable && (!spare || (spare->last_use && (free_e || e->last_use < spare->last_use)))) spare = e;
    }
    *found = false;
    if (!spare) return NULL;
    drop(c, spare);
    *spare = (struct wc_entry){.w = w, .w_floats = w_floats, .u_floats = u_floats, .tag = tag};
    return spare;
}

float *ig_cpu_wcache_slot(struct ig_backend *be, const float *w, size_t w_floats, uint64_t tag, size_t u_floats,
                          bool *hit)
{
    *hit = false;
    struct ig_cpu_wcache *c = ig_cpu_wcache_of(be);
    if (!c || !w || !w_floats || !u_floats) return NULL;
    bool found;
    c->clock++;
    struct wc_entry *e = find(c, w, w_floats, tag, u_floats, &found);
    if (!e) return NULL;   /* every entry in use: this weight is transformed each time */
    e->last_use = c->clock;
    if (!found || (!e->copy && resample(e, w)))   /* new, or dormant and its values came back unchanged */
        return activate(c, e, w) ? e->u : (resample(e, w), NULL);
    if (!e->copy) return NULL;                     /* dormant, still changing */
    if ((*hit = same_bits(e->copy, w, w_floats))) {
        c->hits++;
        e->misses = 0;
        return e->u;
    }
    if (++e->misses >= WC_DORMANT_AFTER) {
        release(c, e);
        resample(e, w);
        return NULL;
    }
    memcpy(e->copy, w, w_floats * sizeof(float));
    return e->u;
}

void ig_cpu_wcache_stats(const struct ig_backend *be, int *entries, size_t *bytes, int64_t *hits)
{
    const struct ig_cpu_wcache *c = ig_cpu_wcache_of(be);
    *entries = 0;
    *bytes = c ? c->bytes : 0;
    *hits = c ? c->hits : 0;
    for (int i = 0; c && i < WC_ENTRIES; i++) *entries += c->e[i].copy != NULL;
}
