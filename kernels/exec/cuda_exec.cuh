// CudaExec: the GPU executor; one CUDA stream, a stream-ordered memory pool, Thrust par_nosync.
#pragma once

#include <cuda_runtime_api.h>
#include <thrust/system/cuda/execution_policy.h>

#include <cstddef>
#include <cstdint>

#include "kernels/exec/cuda_check.cuh"

namespace sluice::detail {

template <class F>
__global__ void for_each_index_kernel(std::size_t n, F f) {
  const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
  for (std::size_t i = static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride)
    f(i);
}

/// @brief Thrust temporary-storage allocator drawing from the stream-ordered pool.
struct StreamPoolAllocator {
  using value_type = char;
  cudaStream_t stream = nullptr;
  char* allocate(std::ptrdiff_t n) {
    void* p = nullptr;
    SLUICE_CUDA_TRY(cudaMallocAsync(&p, static_cast<std::size_t>(n), stream));
    return static_cast<char*>(p);
  }
  void deallocate(char* p, std::size_t) { SLUICE_CUDA_TRY(cudaFreeAsync(p, stream)); }
};

/// @brief Executor whose work is queued on one CUDA stream of one device. Memory comes from the
/// device's stream-ordered pool, whose release threshold is raised at start so steady-state
/// allocations never reach the driver. Everything is asynchronous except read() and
/// synchronize().
class CudaExec {
 public:
  static constexpr bool kIsDevice = true;

  /// @brief Creates a stream on `device` and configures its default memory pool.
  explicit CudaExec(int device = 0);
  ~CudaExec();
  CudaExec(const CudaExec&) = delete;
  CudaExec& operator=(const CudaExec&) = delete;

  int device() const noexcept { return device_; }
  cudaStream_t stream() const noexcept { return stream_; }

  auto policy() const { return thrust::cuda::par_nosync(allocator_).on(stream_); }

  /// @brief Launches f(i) for i in [0, n) as a grid-stride kernel on the stream.
  template <class F>
  void for_each_index(std::size_t n, F f) const {
    if (n == 0) return;
    constexpr int kBlock = 256;
    const std::size_t blocks_needed = (n + kBlock - 1) / kBlock;
    const int blocks = static_cast<int>(blocks_needed < max_blocks_ ? blocks_needed : max_blocks_);
    for_each_index_kernel<<<blocks, kBlock, 0, stream_>>>(n, f);
    SLUICE_CHECK_LAUNCH("for_each_index");
  }

  void* allocate(std::size_t bytes);
  void deallocate(void* p, std::size_t bytes);
  void copy_within(void* dst, const void* src, std::size_t bytes);
  void copy_to_host(void* dst, const void* src, std::size_t bytes);  ///< synchronizes
  void copy_from_host(void* dst, const void* src, std::size_t bytes);
  void fill_bytes(void* dst, int value, std::size_t bytes);
  /// @brief Copies one value to the host; synchronizes the stream.
  template <class T>
  T read(const T* p) {
    T v;
    copy_to_host(&v, p, sizeof(T));
    return v;
  }
  void synchronize();

 private:
  int device_ = 0;
  cudaStream_t stream_ = nullptr;
  StreamPoolAllocator allocator_;
  std::size_t max_blocks_ = 65535;
};

}  // namespace sluice::detail
