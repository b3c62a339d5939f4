// filter_project for the CUDA executor.
#include "kernels/exec/cuda_exec.cuh"
#include "kernels/filter_project.inl"

namespace sluice::detail {
SLUICE_INSTANTIATE_FILTER_PROJECT(CudaExec)
}  // namespace sluice::detail
