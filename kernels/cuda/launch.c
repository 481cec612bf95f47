/* kernels/cuda/launch.c — the pure launch-configuration functions of
 * launch.h (plain C11, no CUDA calls, tested on the CPU). */
#include "launch.h"

int cuda_ptrs_aligned16(const void *const *p, int count)
{
    for (int i = 0; i < count; i++)
        if (p[i] && ((uintptr_t)p[i] & 15u) != 0) return 0;
    return 1;
}

static unsigned grid_cap(const cuda_limits *lim, unsigned per_sm)
{
    unsigned long long cap = (unsigned long long)(lim->sm_count ? lim->sm_count : 1) * per_sm;
    if (cap > lim->max_grid_x) cap = lim->max_grid_x;
    return cap ? (unsigned)cap : 1u;
}

cuda_ew_plan cuda_ew_plan_make(size_t n, int vectorise, const cuda_limits *lim)
{
    cuda_ew_plan p = {0, CUDA_EW_BLOCK, n, vectorise ? n / 4 : 0};
    if (p.block > lim->max_block) p.block = lim->max_block;
    /* threads needed: the longer of the two loops (the tail has < 4 elements) */
    size_t tail = n - 4 * p.n_vec;
    size_t work = p.n_vec > tail ? p.n_vec : tail;
    if (work == 0) return p;
    size_t blocks = CEIL_DIV(work, (size_t)p.block);
    unsigned cap = grid_cap(lim, CUDA_EW_BLOCKS_PER_SM * (CUDA_EW_BLOCK / p.block));
    p.grid = blocks < cap ? (unsigned)blocks : cap;
    return p;
}

cuda_row_plan cuda_row_plan_make(long long rows, unsigned threads_per_row, unsigned block,
                                 const cuda_limits *lim)
{
    cuda_row_plan p = {0, block, rows, threads_per_row, 0};
    if (rows < 0 || threads_per_row == 0 || block == 0 || block > lim->max_block || block % threads_per_row)
        return p;
    p.rows_per_block = block / threads_per_row;
    if (rows == 0) return p;
    long long blocks = CEIL_DIV(rows, (long long)p.rows_per_block);
    /* rows are fat (a row is a reduction), so one block per row up to the
     * hardware limit; a grid-stride loop covers the rest */
    p.grid = blocks < (long long)lim->max_grid_x ? (unsigned)blocks : lim->max_grid_x;
    return p;
}

cuda_gn_param_plan cuda_gn_param_plan_make(int n, int c, int hw, size_t scratch_bytes, const cuda_limits *lim)
{
    cuda_gn_param_plan p = {n, 1, n, {0}, {0}, 0};
    if (n > 0 && c > 0 && hw > 0) {
        long long want = CEIL_DIV((long long)CUDA_GN_PARAM_BLOCKS_PER_SM * (lim->sm_count ? lim->sm_count : 1), c);
        long long min_samples = CEIL_DIV((long long)CUDA_NORM_BLOCK, hw);
        long long by_work = n / min_samples;
        long long by_scratch = (long long)(scratch_bytes / ((size_t)c * 2 * sizeof(float)));
        long long chunks = want;
        if (chunks > by_work) chunks = by_work;
        if (chunks > by_scratch) chunks = by_scratch;
        if (chunks >= 2) {
            /* equal chunks, none empty */
            p.chunk_n = (int)CEIL_DIV((long long)n, chunks);
            p.chunks = (int)CEIL_DIV((long long)n, (long long)p.chunk_n);
        }
    }
    p.partial = cuda_row_plan_make(c > 0 ? (long long)c * p.chunks : 0, CUDA_NORM_BLOCK, CUDA_NORM_BLOCK, lim);
    if (p.chunks > 1) {
        unsigned block = lim->max_block < 128u ? lim->max_block : 128u;
        p.reduce = cuda_row_plan_make(c, 1, block, lim);
        p.scratch_bytes = (size_t)c * (size_t)p.chunks * 2 * sizeof(float);
    }
    return p;
}
