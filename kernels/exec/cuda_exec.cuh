// CudaExec: the GPU executor; one CUDA stream, a stream-ordered memory pool, Thrust par_nosync.
#pragma once

#include <cuda_runtime_api.h>
#include <thrust/system/cuda/execution_policy.h>

#include <cstddef>
#include <cstdint>

#include "kernels/exec/cuda_check.cuh"
#include "kernels/exec/lane.hpp"

namespace sluice::detail {

template <class F>
__global__ void for_each_index_kernel(std::size_t n, F f) {
  const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
  for (std::size_t i = static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride)
    f(i);
}

/// @brief Thrust temporary-storage allocator drawing from the executor's stream-ordered pool.
struct StreamPoolAllocator {
  using value_type = char;
  cudaStream_t stream = nullptr;
  cudaMemPool_t pool = nullptr;
  char* allocate(std::ptrdiff_t n) {
    void* p = nullptr;
    SLUICE_CUDA_TRY(cudaMallocFromPoolAsync(&p, static_cast<std::size_t>(n), pool, stream));
    return static_cast<char*>(p);
  }
  /// Never throws: it also runs while an error unwinds.
  void deallocate(char* p, std::size_t) noexcept {
    if (cudaFreeAsync(p, stream) != cudaSuccess) cudaGetLastError();
  }
};

/// @brief A CUDA event, created on first record.
class CudaEvent {
 public:
  CudaEvent() = default;
  CudaEvent(const CudaEvent&) = delete;
  CudaEvent& operator=(const CudaEvent&) = delete;
  ~CudaEvent();
  cudaEvent_t get() const noexcept { return event_; }
  /// @brief Records the event on `stream`, creating it if needed.
  void record(cudaStream_t stream);

 private:
  cudaEvent_t event_ = nullptr;
};

/// @brief Executor whose operators run on one CUDA stream of one device (Lane::compute), with
/// two more streams for copies in and out. Device memory comes from a stream-ordered pool made
/// at start, whose release threshold keeps freed memory for reuse so that a warm pipeline
/// never reaches the driver's allocator. Everything is asynchronous except read(),
/// copy_to_host(), wait_host() and synchronize().
class CudaExec {
 public:
  static constexpr bool kIsDevice = true;
  using Event = CudaEvent;

  /// @brief Creates the streams and the memory pool on `device`; the pool holds at most
  /// `memory_limit` bytes (0: no limit below the device's memory).
  explicit CudaExec(int device = 0, std::size_t memory_limit = 0);
  ~CudaExec();
  CudaExec(const CudaExec&) = delete;
  CudaExec& operator=(const CudaExec&) = delete;

  int device() const noexcept { return device_; }
  cudaStream_t stream() const noexcept { return stream_; }
  cudaStream_t stream(Lane lane) const noexcept {
    return lane == Lane::compute ? stream_ : lane == Lane::copy_in ? copy_in_ : copy_out_;
  }
  /// @brief Multiprocessors of the device (for launch sizing).
  int multiprocessors() const noexcept { return multiprocessors_; }

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
  void deallocate(void* p, std::size_t bytes) noexcept;
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
  /// @brief Waits for all three lanes, ignoring errors (teardown: never throws).
  void quiesce() noexcept;

  void record(Event& event, Lane lane) { event.record(stream(lane)); }
  /// @brief Makes `lane` wait for the work before `event` (nothing if it was never recorded).
  void wait(Lane lane, const Event& event);
  /// @brief Blocks the calling thread until the work before `event` is done.
  void wait_host(const Event& event);
  /// @brief Copies on `lane`; asynchronous when the host memory is pinned.
  void copy_from_host_on(Lane lane, void* dst, const void* src, std::size_t bytes);
  /// @brief Copies on `lane`; asynchronous when the host memory is pinned (wait on an event
  /// recorded after it before reading dst).
  void copy_to_host_on(Lane lane, void* dst, const void* src, std::size_t bytes);
  /// @brief Copies from device memory of another executor of this process (compute lane):
  /// peer-to-peer where the devices allow it, staged through the host by the driver otherwise.
  void copy_from_peer(void* dst, const void* src, int src_device, std::size_t bytes);
  /// @brief Pinned host memory (copies to and from it are asynchronous).
  void* allocate_host(std::size_t bytes);
  void deallocate_host(void* p, std::size_t bytes) noexcept;

 private:
  int device_ = 0;
  cudaStream_t stream_ = nullptr;
  cudaStream_t copy_in_ = nullptr;
  cudaStream_t copy_out_ = nullptr;
  cudaMemPool_t pool_ = nullptr;
  StreamPoolAllocator allocator_;
  int multiprocessors_ = 1;
  std::size_t max_blocks_ = 65535;
};

}  // namespace sluice::detail
