// reduce_partials for the CUDA executor.
#include "kernels/exec/cuda_exec.cuh"
#include "kernels/reduce_partials.inl"

namespace sluice::detail {
SLUICE_INSTANTIATE_REDUCE_PARTIALS(CudaExec)
}  // namespace sluice::detail
