/* Data-parallel parts of a run (ig_al_params.dist): the rows of a scoring pass and the reference-gradient sum split over the ranks and summed back, so every rank selects the same rows. */
#include "ig_al_internal.h"
#include "ig_dist.h"
#include <stdlib.h>

enum ig_status ig_al_score_split(struct ig_al_run *r, const int64_t *rows, int64_t n, double *out)
{
    int64_t lo, hi;
    ig_dist_range(r->p->dist, n, &lo, &hi);
    IG_TRY(r->row->score(r, rows + lo, hi - lo, out + lo));
    return ig_dist_gather_f64(r->p->dist, out, n, lo, hi);
}

enum ig_status ig_al_ref_sum_ranks(struct ig_al_run *r)
{
    if (ig_dist_size(r->p->dist) == 1) return IG_OK;
    int64_t n = ig_al_engine_num_params(r->e);
    float *flat = malloc((size_t)n * sizeof *flat);
    if (!flat) return ig_error(IG_ERR_OOM, "reference gradient: out of host memory for %lld floats", (long long)n);
    enum ig_status s = ig_al_engine_ref_to_host(r->e, flat, n);
    if (s == IG_OK) s = ig_dist_sum_f32(r->p->dist, flat, n);
    if (s == IG_OK) s = ig_al_engine_ref_from_host(r->e, flat, n);
    free(flat);
    return s;
}
