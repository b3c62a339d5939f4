// Whether a working CUDA device is present (false, with a reason, in builds without CUDA).
#pragma once

#include <string>

namespace sluice::detail {

/// @brief True when the CUDA backend is built and device 0 accepts work; otherwise false
/// with the reason in *why.
bool cuda_device_available(std::string* why);
/// @brief Number of usable CUDA devices (0 without CUDA).
int cuda_device_count();

}  // namespace sluice::detail
