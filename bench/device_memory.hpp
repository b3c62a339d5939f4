// Pinned host memory and device buffers for sluice-bench's GPU modes, behind CUDA-free types.
#pragma once

#include <cstddef>
#include <memory>

namespace sluice::bench {

/// @brief `bytes` of page-locked host memory (cudaMallocHost), freed with the last owner.
/// @throws Error(backend_unavailable) when the bench was built without the CUDA backend;
/// Error(out_of_memory) when the allocation fails.
std::shared_ptr<std::byte> allocate_pinned(std::size_t bytes);

/// @brief A buffer in the memory of CUDA device 0 holding a copy of `bytes` host bytes at
/// `source`. The copy is complete when this returns. Freed with the last owner.
/// @throws Error(backend_unavailable) without the CUDA backend; Error(out_of_memory) when the
/// allocation fails; Error(device_error) when the copy fails.
std::shared_ptr<std::byte> copy_to_device(const void* source, std::size_t bytes);

}  // namespace sluice::bench
