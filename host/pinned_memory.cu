// Pinned host memory through the CUDA runtime.
#include <cuda_runtime_api.h>

#include "host/pinned_memory.hpp"
#include "kernels/exec/cuda_check.cuh"

namespace sluice::detail {

void* allocate_pinned(std::size_t bytes) {
  void* p = nullptr;
  SLUICE_CUDA_TRY(cudaHostAlloc(&p, bytes == 0 ? 1 : bytes, cudaHostAllocPortable));
  return p;
}

void free_pinned(void* p) noexcept {
  if (p != nullptr && cudaFreeHost(p) != cudaSuccess) cudaGetLastError();
}

}  // namespace sluice::detail
