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
