// Pinned H2D and D2D copy bandwidth through the CUDA runtime (built only with the CUDA backend).
#include <cuda_runtime.h>

#include <string>

#include "bench/bandwidth.hpp"

namespace sluice::bench {
namespace {

// Returns the error text of a failed call (empty on success).
std::string failed(cudaError_t err, const char* call) {
  if (err == cudaSuccess) return {};
  return std::string(call) + ": " + cudaGetErrorString(err);
}

}  // namespace

DeviceBandwidth measure_device_bandwidth(std::size_t bytes, int repetitions) {
  DeviceBandwidth out;
  out.bytes = bytes;
  void* host = nullptr;
  void* dev_a = nullptr;
  void* dev_b = nullptr;
  cudaStream_t stream = nullptr;
  cudaEvent_t start = nullptr, stop = nullptr;
  std::string why;
  auto check = [&](cudaError_t err, const char* call) {
    if (why.empty()) why = failed(err, call);
    return why.empty();
  };
  // Times `repetitions` copies and returns the best in seconds, or 0 on failure.
  auto time_copy = [&](void* dst, const void* src, cudaMemcpyKind kind) {
    float best_ms = 0;
    for (int r = 0; r < repetitions && why.empty(); ++r) {
      float ms = 0;
      if (check(cudaEventRecord(start, stream), "cudaEventRecord") &&
          check(cudaMemcpyAsync(dst, src, bytes, kind, stream), "cudaMemcpyAsync") &&
          check(cudaEventRecord(stop, stream), "cudaEventRecord") &&
          check(cudaEventSynchronize(stop), "cudaEventSynchronize") &&
          check(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime"))
        if (r == 0 || ms < best_ms) best_ms = ms;
    }
    return why.empty() ? static_cast<double>(best_ms) * 1e-3 : 0.0;
  };
  if (check(cudaSetDevice(0), "cudaSetDevice") &&
      check(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreate") &&
      check(cudaEventCreate(&start), "cudaEventCreate") &&
      check(cudaEventCreate(&stop), "cudaEventCreate") &&
      check(cudaMallocHost(&host, bytes), "cudaMallocHost") &&
      check(cudaMalloc(&dev_a, bytes), "cudaMalloc") &&
      check(cudaMalloc(&dev_b, bytes), "cudaMalloc") &&
      check(cudaMemset(dev_a, 0, bytes), "cudaMemset")) {
    const double h2d = time_copy(dev_a, host, cudaMemcpyHostToDevice);
    const double d2d = time_copy(dev_b, dev_a, cudaMemcpyDeviceToDevice);
    if (why.empty() && h2d > 0 && d2d > 0) {
      out.available = true;
      out.h2d_pinned_gbps = static_cast<double>(bytes) / h2d * 1e-9;
      out.d2d_read_gbps = static_cast<double>(bytes) / d2d * 1e-9;
    }
  }
  if (host) cudaFreeHost(host);
  if (dev_a) cudaFree(dev_a);
  if (dev_b) cudaFree(dev_b);
  if (start) cudaEventDestroy(start);
  if (stop) cudaEventDestroy(stop);
  if (stream) cudaStreamDestroy(stream);
  out.why = why;
  return out;
}

}  // namespace sluice::bench
