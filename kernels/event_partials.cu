// event_partials for the CUDA executor.
#include "kernels/exec/cuda_exec.cuh"
#include "kernels/event_partials.inl"

namespace sluice::detail {
SLUICE_INSTANTIATE_EVENT_PARTIALS(CudaExec)
}  // namespace sluice::detail
