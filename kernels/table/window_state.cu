// WindowState and GroupTable for the CUDA executor.
#include "kernels/exec/cuda_exec.cuh"
#include "kernels/table/window_state.inl"

namespace sluice::detail {
SLUICE_INSTANTIATE_GROUP_TABLE(CudaExec)
SLUICE_INSTANTIATE_WINDOW_STATE(CudaExec)
}  // namespace sluice::detail
