// HostExec: the CPU executor; Thrust's OpenMP system and OpenMP loops over host memory.
#pragma once

#include <omp.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

#include <thrust/system/omp/execution_policy.h>

#include "kernels/exec/lane.hpp"

namespace sluice::detail {

/// @brief Executor whose data-parallel primitives run on the calling thread's OpenMP team
/// (its size is that thread's omp_get_max_threads()). Memory is ordinary host memory;
/// "device" and host pointers are the same, so copies are memcpy and nothing is asynchronous.
class HostExec {
 public:
  static constexpr bool kIsDevice = false;
  static constexpr std::int64_t kSerialBelow = 8192;

  auto policy() const { return thrust::omp::par; }

  /// @brief Whether `work` items are worth a parallel region: more than kSerialBelow, and a
  /// team of more than one thread. Otherwise run them on the calling thread without entering
  /// one (libgomp allocates a team for a region of one thread, and for a region of another size
  /// than the last one's).
  static bool team_helps(std::int64_t work) {
    return work > kSerialBelow && omp_get_max_threads() > 1;
  }

  /// @brief Calls f(i) for i in [0, n) in parallel. f must not throw.
  template <class F>
  void for_each_index(std::size_t n, F f) const {
    const auto count = static_cast<std::int64_t>(n);
    // Small loops run on the calling thread: waking the team costs more than they do.
    if (!team_helps(count)) {
      for (std::int64_t i = 0; i < count; ++i) f(static_cast<std::size_t>(i));
      return;
    }
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < count; ++i) f(static_cast<std::size_t>(i));
  }

  /// @brief Calls f(b) for b in [0, blocks) in parallel, dynamically shared: each call is a
  /// block of work worth a thread of its own (no threshold below which the loop stays serial).
  template <class F>
  void for_each_block(std::size_t blocks, F f) const {
    const auto count = static_cast<std::int64_t>(blocks);
    if (count <= 1 || omp_get_max_threads() == 1) {
      for (std::int64_t b = 0; b < count; ++b) f(static_cast<std::size_t>(b));
      return;
    }
#pragma omp parallel for schedule(dynamic, 1)
    for (std::int64_t b = 0; b < count; ++b) f(static_cast<std::size_t>(b));
  }

  void* allocate(std::size_t bytes) {
    void* p = std::aligned_alloc(64, (bytes + 63) / 64 * 64 + 64);
    if (p == nullptr) throw std::bad_alloc();
    return p;
  }
  void deallocate(void* p, std::size_t /*bytes*/) noexcept { std::free(p); }

  // Empty copies may come with null pointers, which memcpy must not see.
  void copy_within(void* dst, const void* src, std::size_t bytes) { copy(dst, src, bytes); }
  void copy_to_host(void* dst, const void* src, std::size_t bytes) { copy(dst, src, bytes); }
  void copy_from_host(void* dst, const void* src, std::size_t bytes) { copy(dst, src, bytes); }
  void fill_bytes(void* dst, int value, std::size_t bytes) {
    if (bytes > 0) std::memset(dst, value, bytes);
  }
  /// @brief Reads one value written by earlier work.
  template <class T>
  T read(const T* p) {
    return *p;
  }
  void synchronize() {}
  /// @brief Waits for all lanes, ignoring errors (teardown).
  void quiesce() noexcept {}

  // Lanes and events: everything runs in order on the calling thread, so they order nothing.
  struct Event {};
  void record(Event&, Lane) {}
  void wait(Lane, const Event&) {}
  void wait_host(const Event&) {}
  void copy_from_host_on(Lane, void* dst, const void* src, std::size_t bytes) {
    copy(dst, src, bytes);
  }
  void copy_to_host_on(Lane, void* dst, const void* src, std::size_t bytes) {
    copy(dst, src, bytes);
  }
  /// @brief The executor's device (-1: the host).
  int device() const noexcept { return -1; }
  /// @brief Copies from memory of another executor of this process (compute lane).
  void copy_from_peer(void* dst, const void* src, int /*src_device*/, std::size_t bytes) {
    copy(dst, src, bytes);
  }
  /// @brief Host memory the executor's lanes can copy to and from asynchronously.
  void* allocate_host(std::size_t bytes) { return allocate(bytes); }
  void deallocate_host(void* p, std::size_t bytes) noexcept { deallocate(p, bytes); }

 private:
  static void copy(void* dst, const void* src, std::size_t bytes) {
    if (bytes > 0) std::memcpy(dst, src, bytes);
  }
};

}  // namespace sluice::detail
