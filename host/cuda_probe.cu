// cuda_probe: asks the CUDA runtime for a device and runs a trivial allocation on it.
#include <cuda_runtime_api.h>

#include "host/cuda_probe.hpp"

namespace sluice::detail {

int cuda_device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return count;
}

bool cuda_device_available(std::string* why) {
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    cudaGetLastError();
    if (why != nullptr) *why = std::string("no CUDA device (") + cudaGetErrorString(err) + ")";
    return false;
  }
  if (count == 0) {
    if (why != nullptr) *why = "no CUDA device";
    return false;
  }
  void* probe = nullptr;
  if (cudaSetDevice(0) != cudaSuccess || cudaMalloc(&probe, 256) != cudaSuccess) {
    const cudaError_t last = cudaGetLastError();
    if (why != nullptr)
      *why = std::string("CUDA device 0 unusable (") + cudaGetErrorString(last) + ")";
    return false;
  }
  cudaFree(probe);
  if (why != nullptr) {
    cudaDeviceProp prop{};
    cudaGetDeviceProperties(&prop, 0);
    *why = std::string("CUDA device 0: ") + prop.name;
  }
  return true;
}

}  // namespace sluice::detail
