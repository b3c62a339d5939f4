// Pinned host memory and device buffers through the CUDA runtime (built only with the CUDA
// backend).
#include "bench/device_memory.hpp"

#include <cuda_runtime.h>

#include <string>

#include "sluice/status.hpp"

namespace sluice::bench {
namespace {

[[noreturn]] void raise(cudaError_t err, const char* call, std::size_t bytes) {
  const ErrorCode code =
      err == cudaErrorMemoryAllocation ? ErrorCode::out_of_memory : ErrorCode::device_error;
  throw Error(code, std::string("sluice-bench: ") + call + " of " + std::to_string(bytes) +
                        " bytes: " + cudaGetErrorString(err));
}

}  // namespace

std::shared_ptr<std::byte> allocate_pinned(std::size_t bytes) {
  void* p = nullptr;
  if (const cudaError_t err = cudaMallocHost(&p, bytes > 0 ? bytes : 1); err != cudaSuccess)
    raise(err, "cudaMallocHost", bytes);
  return std::shared_ptr<std::byte>(static_cast<std::byte*>(p),
                                    [](std::byte* q) { cudaFreeHost(q); });
}

std::shared_ptr<std::byte> copy_to_device(const void* source, std::size_t bytes) {
  if (const cudaError_t err = cudaSetDevice(0); err != cudaSuccess)
    raise(err, "cudaSetDevice", bytes);
  void* p = nullptr;
  if (const cudaError_t err = cudaMalloc(&p, bytes > 0 ? bytes : 1); err != cudaSuccess)
    raise(err, "cudaMalloc", bytes);
  std::shared_ptr<std::byte> out(static_cast<std::byte*>(p), [](std::byte* q) { cudaFree(q); });
  if (bytes > 0) {
    if (const cudaError_t err = cudaMemcpy(p, source, bytes, cudaMemcpyHostToDevice);
        err != cudaSuccess)
      raise(err, "cudaMemcpy (host to device)", bytes);
  }
  // cudaMemcpy from pageable memory may return before the DMA ends; kernels on other streams
  // must see the whole copy.
  if (const cudaError_t err = cudaDeviceSynchronize(); err != cudaSuccess)
    raise(err, "cudaDeviceSynchronize", bytes);
  return out;
}

}  // namespace sluice::bench
