// Pinned and device memory for builds without the CUDA backend: always unavailable.
#include "bench/device_memory.hpp"

#include "sluice/status.hpp"

namespace sluice::bench {
namespace {

[[noreturn]] void unavailable() {
  throw Error(ErrorCode::backend_unavailable, "sluice-bench was built without the CUDA backend");
}

}  // namespace

std::shared_ptr<std::byte> allocate_pinned(std::size_t /*bytes*/) { unavailable(); }

std::shared_ptr<std::byte> copy_to_device(const void* /*source*/, std::size_t /*bytes*/) {
  unavailable();
}

}  // namespace sluice::bench
