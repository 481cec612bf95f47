/* kernels/cuda/launch.h — launch configurations of the CUDA backend's own
 * kernels, computed by pure functions so that the CPU tests can check that
 * every element (or row) is visited exactly once and that grid and block stay
 * within the device's limits.
 *
 * Two shapes of kernel:
 * - element-wise (cuda_ew_plan): a 1-D grid-stride loop over size_t indices.
 *   With `vectorise` the first 4*n_vec elements go through float4 loads and
 *   stores (vector index v covers elements 4v..4v+3), the remaining n % 4
 *   through a scalar tail loop; the launcher vectorises only when every
 *   pointer the kernel touches is 16-byte aligned (cuda_ptrs_aligned16).
 * - row-wise (cuda_row_plan): `threads_per_row` consecutive threads of a block
 *   share one row (1 = thread per row, 32 = warp per row, block = block per
 *   row), and blocks stride over rows. The loop bound is uniform across the
 *   threads of a row, so block-per-row kernels may __syncthreads() inside it.
 *
 * The kernels iterate with the CUDA_HD helpers below, and the tests simulate
 * the same loops with the same helpers. Plain C11 and nvcc. */
#ifndef ACCUMBENCH_CUDA_LAUNCH_H
#define ACCUMBENCH_CUDA_LAUNCH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __CUDACC__
#define CUDA_HD __host__ __device__ __forceinline__
#else
#define CUDA_HD static inline
#endif

#define CEIL_DIV(a, b) (((a) + (b) - 1) / (b))

#ifdef __cplusplus
extern "C" {
#endif

/* What a launch may use, from cudaDeviceProp (maxGridSize[0],
 * maxThreadsPerBlock, multiProcessorCount). */
typedef struct {
    unsigned max_grid_x;
    unsigned max_block;
    unsigned sm_count;
} cuda_limits;

/* Element-wise kernels use 256-thread blocks and at most
 * CUDA_EW_BLOCKS_PER_SM blocks per SM: 8 blocks of 256 fill the 2048 resident
 * threads of an sm_80/sm_90 SM, so 16 give two full waves; a grid-stride loop
 * does the rest. */
#define CUDA_EW_BLOCK 256u
#define CUDA_EW_BLOCKS_PER_SM 16u
/* block size of the block-per-row reductions (power of two: tree reduction) */
#define CUDA_NORM_BLOCK 256u

typedef struct {
    unsigned grid, block;   /* grid == 0: nothing to do, do not launch */
    size_t n;               /* elements */
    size_t n_vec;           /* float4 groups for the vector loop; 0 = scalar only */
} cuda_ew_plan;

typedef struct {
    unsigned grid, block;   /* grid == 0: nothing to do, do not launch */
    long long rows;
    unsigned threads_per_row, rows_per_block;
} cuda_row_plan;

/* GroupNorm's parameter gradients (dgamma, dbias per channel, sums over
 * samples and positions) in two passes, deterministic for a given plan (no
 * float atomics):
 * 1. partial: one block per (channel, chunk of chunk_n samples), row r =
 *    channel * chunks + chunk, summing its chunk in sample order with a fixed
 *    tree; with chunks > 1 it writes partials (r, 2) to scratch, with
 *    chunks == 1 it adds into the gradients itself;
 * 2. reduce (chunks > 1 only): one thread per channel adds its chunks'
 *    partials in chunk order into the gradients.
 * One block per channel over all of n would leave most SMs idle at ResNet
 * widths (64 blocks on 132 SMs at c = 64). */
#define CUDA_GN_PARAM_BLOCKS_PER_SM 4u
typedef struct {
    int n, chunks, chunk_n;     /* the last chunk may have fewer samples */
    cuda_row_plan partial;      /* rows = c * chunks, block per row */
    cuda_row_plan reduce;       /* rows = c, thread per row; grid 0 when chunks == 1 */
    size_t scratch_bytes;       /* c * chunks * 2 floats; 0 when chunks == 1 */
} cuda_gn_param_plan;

/* 1 when every non-NULL pointer of p[0..count) is 16-byte aligned. */
int cuda_ptrs_aligned16(const void *const *p, int count);

cuda_ew_plan cuda_ew_plan_make(size_t n, int vectorise, const cuda_limits *lim);

/* threads_per_row must divide block; block must be <= lim->max_block.
 * Returns grid = 0 (and rows_per_block = 0) on an invalid request. */
cuda_row_plan cuda_row_plan_make(long long rows, unsigned threads_per_row, unsigned block,
                                 const cuda_limits *lim);

/* Chunks so that c * chunks reaches CUDA_GN_PARAM_BLOCKS_PER_SM blocks per
 * SM, no block sums fewer than CUDA_NORM_BLOCK values (a chunk covers at
 * least CEIL_DIV(CUDA_NORM_BLOCK, hw) samples) and the partials fit
 * scratch_bytes; else one chunk. partial.rows_per_block == 0 on a request no
 * launch can serve (as cuda_row_plan_make). */
cuda_gn_param_plan cuda_gn_param_plan_make(int n, int c, int hw, size_t scratch_bytes, const cuda_limits *lim);

// ----------------------------------------------------------------------------
// loop helpers: the kernels and the CPU tests iterate with these

/* element-wise: thread t starts at t and strides by grid*block, first over
 * vector indices [0, n_vec), then over elements [tail_begin, n). */
CUDA_HD size_t cuda_ew_first(unsigned block_idx, unsigned block_dim, unsigned thread)
{
    return (size_t)block_idx * block_dim + thread;
}
CUDA_HD size_t cuda_ew_stride(unsigned grid_dim, unsigned block_dim) { return (size_t)grid_dim * block_dim; }
CUDA_HD size_t cuda_ew_tail_begin(const cuda_ew_plan *p) { return 4 * p->n_vec; }

/* row-wise: the first row of a thread, the stride between its rows, and its
 * lane inside the row */
CUDA_HD long long cuda_row_first(const cuda_row_plan *p, unsigned block_idx, unsigned thread)
{
    return (long long)block_idx * p->rows_per_block + thread / p->threads_per_row;
}
CUDA_HD long long cuda_row_stride(const cuda_row_plan *p, unsigned grid_dim)
{
    return (long long)grid_dim * p->rows_per_block;
}
CUDA_HD unsigned cuda_row_lane(const cuda_row_plan *p, unsigned thread) { return thread % p->threads_per_row; }

/* GroupNorm parameter pass 1: the channel, chunk and samples [first, end)
 * of a partial row */
CUDA_HD int cuda_gn_param_channel(const cuda_gn_param_plan *p, long long row) { return (int)(row / p->chunks); }
CUDA_HD int cuda_gn_param_first(const cuda_gn_param_plan *p, long long row)
{
    return (int)(row % p->chunks) * p->chunk_n;
}
CUDA_HD int cuda_gn_param_end(const cuda_gn_param_plan *p, long long row)
{
    int end = cuda_gn_param_first(p, row) + p->chunk_n;
    return end < p->n ? end : p->n;
}

#ifdef __cplusplus
}
#endif
#endif
