/* bench/cmd/plan/plan_fit.h — `accumbench plan`: choose strategy, micro-batch and
 * iter_size for an effective batch under a memory budget.
 *
 * From measured configurations of one model (a sweep's results.csv, or small
 * runs the planner starts itself) it fits, per strategy and recompute value
 * (none and blocks are two fits that never share a point: recomputation
 * changes both what a split holds and what a micro-batch costs):
 *
 *   memory      peak = fixed + scale · S, least squares over the points.
 *               S is the strategy's activation structure in bytes from the
 *               size functions of the model built with the fit's recompute
 *               value (memory_analytic: the activations
 *               alive at the peak — retain Σ A(mᵢ), accumulate A(m), full
 *               A(B) — plus that backward's temporaries and the bias-GEMM
 *               ones vector), each tensor rounded to OPS_ALIGN_BYTES as the
 *               sub-allocator rounds it. Not the sample count itself: memory
 *               is only piecewise affine in m, since small tensors (logits,
 *               losses, norm statistics, narrow layers) round up to a
 *               constant at small m; a line through m = 1, 2, 4 misses that
 *               and underestimates large micro-batches by a third for a model
 *               with 16-wide layers. On the CPU the fit gives scale 1 and the
 *               parameter, gradient, optimizer and workspace bytes as fixed;
 *               on a GPU scale and fixed take up what the driver adds.
 *   throughput  step time = overhead + Σᵢ mᵢ / r(mᵢ): r is the samples/s of
 *               one micro-batch's forward and backward, interpolated linearly
 *               in log2 m between the measured micro-batches and held flat
 *               beyond them ("extrapolated"); overhead (zeroing, optimizer
 *               update) is what a step costs besides its micro-batches, seen
 *               in points that share m with different iter_size.
 *
 * Then every split of the effective batch, with each recompute value fitted,
 * gets a predicted peak and throughput; the recommendation is the fastest
 * that fits (plan_choose), shown beside the fastest of the other recompute
 * value (plan_sides) so that what recomputation buys at the budget shows.
 * gpt fits the same way: its activations per sample scale with --seq, but
 * are still a sum of tensors linear in the micro-batch.
 * The fit and choice are pure functions (tested without running anything);
 * plan_points.c gathers the points, plan.c is the command. */
#ifndef ACCUMBENCH_PLAN_FIT_H
#define ACCUMBENCH_PLAN_FIT_H

#include "config.h"

#include <stddef.h>
#include <stdio.h>

/* Which memory figure a fit uses (see plan_pick_figure). */
typedef enum { PLAN_FIG_TRACKED, PLAN_FIG_DEVICE, PLAN_FIG_DRIVER, PLAN_FIG_COUNT } plan_figure;
const char *plan_figure_column(plan_figure f);

/* recompute_kind values: none, blocks */
#define PLAN_RECOMPUTES (RECOMPUTE_BLOCKS + 1)

/* One measured configuration. */
typedef struct {
    strategy_kind strategy;
    recompute_kind recompute;
    int micro_batch, iter_size, effective_batch, last_micro_batch;   /* full: micro_batch = effective_batch */
    double mem_bytes[PLAN_FIG_COUNT];   /* < 0 when the row does not have it */
    double step_ns;                     /* median step time; < 0 unknown */
} plan_point;

/* The figure the whole fit uses: on the CPU mem_tracked_bytes (the run's
 * whole memory: the sub-allocator holds every tensor); on a GPU the figure
 * closest to the whole process that every point has: mem_driver_bytes, else
 * mem_device_bytes, else mem_tracked_bytes. -1 when no figure is in all. */
int plan_pick_figure(const plan_point *p, size_t n, int on_gpu);

/* The regressor S of a split, in bytes (see above); mdl built from the
 * configuration's model, its recompute value included. */
double plan_structure_bytes(const model *mdl, strategy_kind s, int micro_batch, int iter_size, int last_micro_batch);

#define PLAN_MAX_RATES 32

typedef struct {
    strategy_kind strategy;
    recompute_kind recompute;           /* mdl->cfg.recompute */
    const model *mdl;                   /* its size functions give the structure; outlives the fit */
    int n_points;
    double fixed_bytes;
    double scale;                       /* on the analytic structure bytes */
    int scale_assumed;                  /* the points all had one S: scale 1, fixed fitted alone */
    /* for the report, scale × the structure's bytes per sample of a large
     * batch: activations kept per held sample (m, Σ mᵢ or B), and backward
     * temporaries per sample of the largest micro-batch */
    double act_bytes_per_sample, transient_bytes_per_sample;
    double max_rel_residual;            /* over the fitted points: max |pred - measured| / measured */
    double overhead_ns;                 /* per step, besides its micro-batches */
    int n_rates;
    int rate_m[PLAN_MAX_RATES];         /* measured micro-batches, ascending */
    double rate[PLAN_MAX_RATES];        /* samples/s of one micro-batch's work at rate_m */
} plan_fit;

/* Fits strategy s with mdl's recompute value from the points of that
 * strategy and recompute value (others are ignored). 0 ok; -1 with the
 * reason in err when the points cannot determine a fit (none with this
 * memory figure, no step times). */
int plan_fit_strategy(strategy_kind s, const plan_point *p, size_t n, plan_figure fig, const model *mdl,
                      plan_fit *out, char *err, size_t err_len);
double plan_predict_peak(const plan_fit *f, int micro_batch, int iter_size, int last_micro_batch);
/* samples/s of one optimizer step; *extrapolated (may be NULL) is set when a
 * micro-batch lies outside the measured ones */
double plan_predict_rate(const plan_fit *f, int micro_batch, int iter_size, int last_micro_batch,
                         int *extrapolated);

// ----------------------------------------------------------------------------
// candidates and the choice

typedef struct {
    strategy_kind strategy;
    recompute_kind recompute;
    int micro_batch, iter_size, last_micro_batch;
    double peak_bytes;          /* the fit's prediction plus the request's context bytes */
    double samples_per_s;
    int extrapolated;
    int feasible;               /* peak_bytes <= limit */
} plan_candidate;

typedef struct {
    int effective_batch;
    int ragged;                 /* also ceil(B / k) for every k */
    const int *micro_batches;   /* NULL: powers of two up to B */
    size_t n_micro_batches;
    double limit_bytes;         /* budget × (1 − margin) */
    double context_bytes;       /* added to every prediction */
} plan_request;

/* Micro-batch sizes to consider for retain and accumulate, ascending and
 * distinct. Returns the count (0 on host OOM); *out is malloc'ed. */
size_t plan_micro_batches(const plan_request *rq, int **out);

/* Every split of every fit (strategy and recompute value) that the model
 * accepts (BatchNorm refuses one value per channel), with predictions; full
 * only at micro-batch B. Returns the count, *out malloc'ed (NULL and 0 on
 * OOM). */
size_t plan_candidates(const plan_fit *fits, size_t n_fits, const plan_request *rq, plan_candidate **out);

/* Throughputs closer than this are the same to the planner: what compare
 * calls noise (its default --threshold) is no reason to prefer one split. */
#define PLAN_TIE_REL 0.03

/* Sorts fastest first (throughput in 0.1% steps, then fewer micro-batches,
 * then less memory) and returns the index of the recommendation, or -1 when
 * nothing is feasible: among the feasible candidates within PLAN_TIE_REL of
 * the fastest, the one with the fewest micro-batches, then the smallest peak.
 * Fewer micro-batches first because beyond the largest measured micro-batch
 * the throughput is held flat — unknown, not equal — and what a step pays
 * per micro-batch (launches, the loss, synchronisation) is fixed, so fewer,
 * larger micro-batches are never the slower guess; less memory alone would
 * always stop at the largest measured micro-batch. */
long plan_choose(plan_candidate *c, size_t n);
/* The option of each recompute value, side[r] (-1: nothing of r fits):
 * what plan_choose's rule picks among r's candidates, except that the side of
 * the recommendation rec (from plan_choose, or -1) is rec itself: the rule's
 * tie window is relative to the fastest overall, so within r alone it could
 * name another option than the one recommended. */
void plan_sides(const plan_candidate *c, size_t n, long rec, long side[PLAN_RECOMPUTES]);
/* the candidate with the smallest predicted peak (ties: faster), or -1 */
long plan_smallest(const plan_candidate *c, size_t n);

#endif
