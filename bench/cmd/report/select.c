/* bench/cmd/report/select.c — what each figure and table shows. A sweep may
 * hold several models (groups) and effective batches; each figure picks the
 * most informative one from the primary engine's configurations and names
 * it in its title, and draws the other engines' configurations of the same
 * model beside them. */
#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int strategy_rank(const char *s)
{
    return !strcmp(s, "full") ? 0 : !strcmp(s, "retain") ? 1 : !strcmp(s, "accumulate") ? 2 : 3;
}

int is_retain_or_accumulate(const report_config *g)
{
    return !strcmp(g->strategy, "retain") || !strcmp(g->strategy, "accumulate");
}

static int ran(const report_config *g) { return g->n_ok || g->n_oom; }

const report_config *recompute_twin(const report *rp, const report_config *g)
{
    for (size_t i = 0; i < rp->ncfgs; i++)
        if (rp->cfgs[i].rtwin == g->rtwin && rp->cfgs[i].blocks != g->blocks) return &rp->cfgs[i];
    return NULL;
}

long blocks_group(const report *rp, long group)
{
    const report_config *r = report_group_rep(rp, group);
    if (r->blocks) return -1;
    for (size_t i = 0; i < rp->ncfgs; i++) {
        const report_config *g = &rp->cfgs[i];
        if (g->blocks && g->mgroup == r->mgroup && !strcmp(g->engine, r->engine)) return g->group;
    }
    return -1;
}

/* whether g's group is one a figure starts from: not a blocks group whose
 * model and setting also ran without recomputation (that one is drawn
 * beside its twin, never alone) */
static int is_base(const report *rp, const report_config *g)
{
    if (!g->blocks) return 1;
    for (size_t i = 0; i < rp->ncfgs; i++) {
        const report_config *c = &rp->cfgs[i];
        if (!c->blocks && c->mgroup == g->mgroup && !strcmp(c->engine, g->engine)) return 0;
    }
    return 1;
}

/* the largest tracked-peak ratio retain / accumulate over r's matching splits */
static double retain_ratio(const report *rp, const report_config *r)
{
    double ratio = 0;
    if (strcmp(r->strategy, "retain") || !(r->mem[MEM_TRACKED] > 0)) return 0;
    for (size_t k = 0; k < rp->ncfgs; k++) {
        const report_config *c = &rp->cfgs[k];
        if (!strcmp(c->strategy, "accumulate") && c->group == r->group && c->mb == r->mb && c->k == r->k &&
            c->mem[MEM_TRACKED] > 0 && r->mem[MEM_TRACKED] / c->mem[MEM_TRACKED] > ratio)
            ratio = r->mem[MEM_TRACKED] / c->mem[MEM_TRACKED];
    }
    return ratio;
}

/* The primary engine's group where accumulation matters most: the largest
 * retain/accumulate tracked-peak ratio over matching splits (the thread's
 * effect, drawn where it shows); ties, or no ratio at all, go to the most
 * retain/accumulate configurations that ran (ok or oom). */
static long pick_ra_group(const report *rp)
{
    long best = -1;
    size_t best_n = 0;
    double best_ratio = 0;
    for (size_t i = 0; i < rp->ncfgs; i++) {
        const report_config *a = &rp->cfgs[i];
        if (a->eng || !is_retain_or_accumulate(a) || !ran(a) || !is_base(rp, a)) continue;
        size_t n = 0;
        double ratio = 0;
        for (size_t j = 0; j < rp->ncfgs; j++) {
            const report_config *r = &rp->cfgs[j];
            if (!is_retain_or_accumulate(r) || !ran(r) || r->group != a->group) continue;
            n++;
            ratio = fmax(ratio, retain_ratio(rp, r));
        }
        if (ratio > best_ratio * 1.001 || (ratio >= best_ratio / 1.001 && n > best_n)) {
            best_n = n;
            best_ratio = ratio;
            best = a->group;
        }
    }
    return best;
}

static int popcount(unsigned bits)
{
    int n = 0;
    for (; bits; bits &= bits - 1) n++;
    return n;
}

/* a's slice scored: most strategies, then configurations (distinct splits),
 * then the largest effective batch; all_strategies: first whether every
 * strategy of the group ran there, then the largest, then configurations */
static void score_slice(const report *rp, const report_config *a, int all_strategies, long long score[3])
{
    unsigned strategies = 0, group_strategies = 0;
    long long nconf = 0;
    for (size_t j = 0; j < rp->ncfgs; j++) {
        const report_config *b = &rp->cfgs[j];
        if (!b->n_ok || isnan(b->sps) || b->group != a->group) continue;
        group_strategies |= 1u << strategy_rank(b->strategy);
        if (b->eb != a->eb) continue;
        strategies |= 1u << strategy_rank(b->strategy);
        nconf++;
    }
    score[0] = all_strategies ? strategies == group_strategies : popcount(strategies);
    score[1] = all_strategies ? a->eb : nconf;
    score[2] = all_strategies ? nconf : a->eb;
}

/* the primary engine's best (group, effective batch), by score_slice */
static slice pick_slice(const report *rp, long only_group, int all_strategies)
{
    slice best = {-1, 0};
    long long best_score[3] = {-1, -1, -1};
    for (size_t i = 0; i < rp->ncfgs; i++) {
        const report_config *a = &rp->cfgs[i];
        if (a->eng || !a->n_ok || isnan(a->sps) || !is_base(rp, a)) continue;
        if (only_group >= 0 && a->group != only_group) continue;
        long long score[3];
        score_slice(rp, a, all_strategies, score);
        for (int s = 0; s < 3; s++)
            if (score[s] != best_score[s]) {
                if (score[s] > best_score[s]) {
                    memcpy(best_score, score, sizeof score);
                    best = (slice){a->group, a->eb};
                }
                break;
            }
    }
    return best;
}

report_config *paired_cfg(const report *rp, const report_config *g, int eng)
{
    for (size_t i = 0; i < rp->ncfgs; i++)
        if (rp->cfgs[i].eng == eng && rp->cfgs[i].pair == g->pair) return &rp->cfgs[i];
    return NULL;
}

/* by engine, recompute (none first), strategy, then micro-batch and iter_size */
static int cmp_cfg_ptr(const void *a, const void *b)
{
    const report_config *x = *(const report_config *const *)a, *y = *(const report_config *const *)b;
    if (x->eng != y->eng) return x->eng - y->eng;
    if (x->blocks != y->blocks) return x->blocks - y->blocks;
    int sx = strategy_rank(x->strategy), sy = strategy_rank(y->strategy);
    if (sx != sy) return sx - sy;
    int s = strcmp(x->strategy, y->strategy);
    if (s) return s;
    if (x->mb != y->mb) return x->mb < y->mb ? -1 : 1;
    return x->k < y->k ? -1 : x->k > y->k;
}

size_t slice_cfgs(const report *rp, slice s, int with_blocks, const report_config **out)
{
    long twin = with_blocks ? blocks_group(rp, s.group) : -1;
    size_t n = 0;
    for (size_t i = 0; i < rp->ncfgs; i++) {
        const report_config *g = &rp->cfgs[i];
        if (g->n_ok && !isnan(g->sps) && g->eb == s.eb && (g->group == s.group || (twin >= 0 && g->group == twin)))
            out[n++] = g;
    }
    qsort(out, n, sizeof *out, cmp_cfg_ptr);
    return n;
}

size_t slice_cfgs_all(const report *rp, slice s, const report_config **out)
{
    long mgroup = report_group_rep(rp, s.group)->mgroup;
    size_t n = 0;
    for (size_t i = 0; i < rp->ncfgs; i++) {
        const report_config *g = &rp->cfgs[i];
        if (g->n_ok && !isnan(g->sps) && g->eb == s.eb && g->mgroup == mgroup) out[n++] = g;
    }
    qsort(out, n, sizeof *out, cmp_cfg_ptr);
    return n;
}

size_t series_cfgs(const report *rp, long group, const char *strategy, long long mb, const report_config **out)
{
    size_t n = 0;
    for (size_t i = 0; i < rp->ncfgs; i++) {
        const report_config *g = &rp->cfgs[i];
        if (g->mb == mb && !strcmp(g->strategy, strategy) && g->group == group && ran(g)) out[n++] = g;
    }
    qsort(out, n, sizeof *out, cmp_cfg_ptr);
    return n;
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

size_t group_micro_batches(const report *rp, long group, int all_engines, long long *mbs, size_t cap)
{
    long mgroup = report_group_rep(rp, group)->mgroup;
    size_t n = 0;
    for (size_t i = 0; i < rp->ncfgs; i++) {
        const report_config *g = &rp->cfgs[i];
        if (!is_retain_or_accumulate(g) || !ran(g)) continue;
        if (all_engines ? g->mgroup != mgroup : g->group != group) continue;
        size_t j = 0;
        while (j < n && mbs[j] != g->mb) j++;
        if (j == n && n < cap) mbs[n++] = g->mb;
    }
    qsort(mbs, n, sizeof *mbs, cmp_ll);
    return n;
}

int engine_groups(const report *rp, long group, long *out)
{
    long pgroup = report_group_rep(rp, group)->pgroup;
    int n = 0;
    out[n++] = group;
    for (int e = 1; e < rp->nengines; e++)
        for (size_t i = 0; i < rp->ncfgs; i++) {
            const report_config *g = &rp->cfgs[i];
            if (g->eng == e && g->pgroup == pgroup) {
                out[n++] = g->group;
                break;
            }
        }
    return n;
}

int figure_groups(const report *rp, long group, long *out)
{
    long eg[REPORT_MAX_ENGINES];
    int ne = engine_groups(rp, group, eg), n = 0;
    for (int e = 0; e < ne; e++) {
        long twin = blocks_group(rp, eg[e]);
        out[n++] = eg[e];
        if (twin >= 0) out[n++] = twin;
    }
    return n;
}

// ----------------------------------------------------------------------------
// the view

/* the top-kernels tables: per strategy at the figures' slice, the split with
 * the most micro-batches (and each other engine's run of it) */
static void pick_top_kernels(report *rp, report_view *v, const report_config **buf)
{
    if (v->sl.group < 0) return;
    size_t n = slice_cfgs(rp, v->sl, 0, buf);
    for (size_t i = 0; i < n && v->ntop < 8; i++) {
        if (i && !strcmp(buf[i]->strategy, buf[i - 1]->strategy)) continue;
        const report_config *pick = buf[i];
        for (size_t j = i; j < n && !strcmp(buf[j]->strategy, pick->strategy); j++)
            if (buf[j]->k > pick->k) pick = buf[j];
        rp->cfgs[pick - rp->cfgs].want_top = 1;
        for (int e = 1; e < rp->nengines; e++) {
            report_config *other = paired_cfg(rp, pick, e);
            if (other) other->want_top = 1;
        }
        v->top[v->ntop++] = pick;
    }
}

/* c's twin with recompute = blocks when it has memory.csv rows, else NULL */
static const report_config *blocks_timeline(const report *rp, const report_config *c)
{
    const report_config *t = c->blocks ? NULL : recompute_twin(rp, c);
    return t && t->has_memory ? t : NULL;
}

/* whether a timeline pair whose retain is r beats the best so far: first
 * one whose twins with recompute = blocks have rows too, then one in the
 * memory figures' group, then the largest iter_size, then micro-batch */
static int timeline_better(const report_view *v, const report_config *r, int twins, int best_twins)
{
    const report_config *best = v->pair[0];
    if (!best) return 1;
    if (twins != best_twins) return twins > best_twins;
    int in_ra = r->group == v->ra_group, best_in_ra = best->group == v->ra_group;
    if (in_ra != best_in_ra) return in_ra > best_in_ra;
    return r->k > best->k || (r->k == best->k && r->mb > best->mb);
}

/* the timeline: a retain/accumulate pair of one split with memory.csv rows
 * (timeline_better's choice), and their twins with recompute = blocks */
void report_choose_timeline(const report *rp, report_view *v)
{
    int best_twins = 0;
    for (size_t i = 0; i < rp->ncfgs; i++) {
        const report_config *r = &rp->cfgs[i];
        if (r->eng || strcmp(r->strategy, "retain") || !r->has_memory || !is_base(rp, r)) continue;
        for (size_t j = 0; j < rp->ncfgs; j++) {
            const report_config *a = &rp->cfgs[j];
            if (strcmp(a->strategy, "accumulate") || !a->has_memory || a->mb != r->mb || a->k != r->k ||
                a->group != r->group)
                continue;
            const report_config *rt = blocks_timeline(rp, r), *at = blocks_timeline(rp, a);
            int twins = rt && at;
            if (!timeline_better(v, r, twins, best_twins)) continue;
            v->pair[0] = r, v->pair[1] = a;
            v->pair[2] = twins ? rt : NULL, v->pair[3] = twins ? at : NULL;
            best_twins = twins;
        }
    }
}

/* Figures and tables but the timeline are chosen before kernels.csv is read
 * (it keeps per-kernel rows only for the top-kernels configurations); the
 * timeline pair after memory.csv's first pass. */
void report_choose(report *rp, report_view *v, const report_config **buf)
{
    memset(v, 0, sizeof *v);
    v->ra_group = pick_ra_group(rp);
    v->sl = pick_slice(rp, -1, 0);
    v->common = pick_slice(rp, v->ra_group, 1);
    if (v->common.group < 0) v->common = pick_slice(rp, -1, 1);
    pick_top_kernels(rp, v, buf);
}
