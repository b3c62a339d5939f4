// partition for the CUDA executor.
#include "kernels/exec/cuda_exec.cuh"
#include "kernels/partition.inl"

namespace sluice::detail {
SLUICE_INSTANTIATE_PARTITION(CudaExec)
}  // namespace sluice::detail
