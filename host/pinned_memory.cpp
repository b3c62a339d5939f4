// Pinned host memory in builds without the CUDA backend: there is none.
#include "host/pinned_memory.hpp"

#if !defined(SLUICE_WITH_CUDA)
#include "sluice/status.hpp"

namespace sluice::detail {

void* allocate_pinned(std::size_t) {
  throw Error(ErrorCode::backend_unavailable,
              "pinned memory needs the CUDA backend, which this Sluice was built without");
}

void free_pinned(void*) noexcept {}

}  // namespace sluice::detail
#endif
