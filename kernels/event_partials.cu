// event_partials for the CUDA executor.
#include "kernels/event_partials.inl"
#include "kernels/exec/cuda_exec.cuh"

namespace sluice::detail {
SLUICE_INSTANTIATE_EVENT_PARTIALS(CudaExec)
}  // namespace sluice::detail
