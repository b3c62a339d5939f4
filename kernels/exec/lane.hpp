// Lane: the independent queues of work an executor offers (compute, copy in, copy out).
#pragma once

#include <cstdint>

namespace sluice::detail {

/// @brief A queue of work on an executor. Work on one lane runs in order; different lanes may
/// overlap (CUDA: one stream each). On the host executor every lane is the calling thread.
enum class Lane : std::uint8_t {
  compute,   ///< kernels; the lane of every operator
  copy_in,   ///< host-to-device copies of the next batches
  copy_out,  ///< device-to-host copies of results
};

}  // namespace sluice::detail
