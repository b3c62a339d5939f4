// CountingExec: the host executor dressed as a device, counting what would be synchronizations.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/exec/host_exec.hpp"

namespace sluice::test {

/// @brief An executor that runs like HostExec (host memory, OpenMP) but presents itself as a
/// device (kIsDevice): a pipeline instantiated with it takes the path CudaExec takes (batches
/// staged into its memory, the portable round stages, fired rows copied out), and every call
/// that would make the host wait for CudaExec is counted: read(), copy_to_host(),
/// synchronize(), wait_host(). Copies on lanes (copy_*_on) are asynchronous on a device, so
/// they are not counted.
class CountingExec {
 public:
  static constexpr bool kIsDevice = true;
  struct Event {};

  /// Host waits so far.
  std::uint64_t syncs = 0;

  auto policy() const { return host_.policy(); }
  template <class F>
  void for_each_index(std::size_t n, F f) const {
    host_.for_each_index(n, f);
  }
  void* allocate(std::size_t bytes) { return host_.allocate(bytes); }
  void deallocate(void* p, std::size_t bytes) noexcept { host_.deallocate(p, bytes); }
  void copy_within(void* dst, const void* src, std::size_t bytes) {
    host_.copy_within(dst, src, bytes);
  }
  void copy_to_host(void* dst, const void* src, std::size_t bytes) {
    ++syncs;
    host_.copy_to_host(dst, src, bytes);
  }
  void copy_from_host(void* dst, const void* src, std::size_t bytes) {
    host_.copy_from_host(dst, src, bytes);
  }
  void fill_bytes(void* dst, int value, std::size_t bytes) { host_.fill_bytes(dst, value, bytes); }
  template <class T>
  T read(const T* p) {
    ++syncs;
    return *p;
  }
  void synchronize() { ++syncs; }
  void quiesce() noexcept {}
  void record(Event&, detail::Lane) {}
  void wait(detail::Lane, const Event&) {}
  void wait_host(const Event&) { ++syncs; }
  void copy_from_host_on(detail::Lane, void* dst, const void* src, std::size_t bytes) {
    host_.copy_from_host(dst, src, bytes);
  }
  void copy_to_host_on(detail::Lane, void* dst, const void* src, std::size_t bytes) {
    host_.copy_to_host(dst, src, bytes);
  }
  int device() const noexcept { return -1; }
  void copy_from_peer(void* dst, const void* src, int, std::size_t bytes) {
    host_.copy_within(dst, src, bytes);
  }
  void* allocate_host(std::size_t bytes) { return host_.allocate_host(bytes); }
  void deallocate_host(void* p, std::size_t bytes) noexcept { host_.deallocate_host(p, bytes); }

 private:
  detail::HostExec host_;
};

}  // namespace sluice::test
