// window_table for the CUDA executor.
#include "kernels/exec/cuda_exec.cuh"
#include "kernels/window_table.inl"

namespace sluice::detail {
template class WindowTable<CudaExec>;
}  // namespace sluice::detail
