// Page-locked ("pinned") host memory for the micro-batches the GPU backend copies from.
#pragma once

#include <cstddef>

namespace sluice::detail {

/// @brief `bytes` of page-locked host memory, from which copies to a device run asynchronously
/// at full speed.
/// @throws Error(out_of_memory) when none can be had; Error(backend_unavailable) without CUDA.
void* allocate_pinned(std::size_t bytes);
/// @brief Frees memory from allocate_pinned (nullptr is ignored). Never throws.
void free_pinned(void* p) noexcept;

}  // namespace sluice::detail
