// key_table for the CUDA executor.
#include "kernels/exec/cuda_exec.cuh"
#include "kernels/key_table.inl"

namespace sluice::detail {
template class KeyTable<CudaExec>;
}  // namespace sluice::detail
