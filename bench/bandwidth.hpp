// Memory bandwidth ceilings measured in the same run as a workload: host memcpy, and, where the
// CUDA backend is built, pinned host-to-device and device-to-device copies.
#pragma once

#include <cstddef>
#include <string>

namespace sluice::bench {

/// @brief Host memory-copy bandwidth. GB are 1e9 bytes. `read_gbps` counts the bytes read
/// (= bytes copied) per second; `read_write_gbps` counts bytes read plus bytes written (2x).
struct CopyBandwidth {
  double read_gbps = 0;
  double read_write_gbps = 0;
  double best_seconds = 0;  ///< of the fastest repetition
  std::size_t bytes = 0;    ///< copied per repetition
  int threads = 0;
  int repetitions = 0;
};

/// @brief Best of `repetitions` std::memcpy of `bytes` between two buffers, split into equal
/// contiguous chunks over `threads` OpenMP threads (each thread copies its chunk; pages are
/// first touched by the thread that copies them).
/// @pre bytes > 0, threads > 0, repetitions > 0.
CopyBandwidth measure_copy_bandwidth(std::size_t bytes, int threads, int repetitions);

/// @brief Device copy bandwidths of CUDA device 0 (GB = 1e9 bytes, bytes copied per second).
struct DeviceBandwidth {
  bool available = false;
  std::string why;             ///< why not, when unavailable
  double h2d_pinned_gbps = 0;  ///< pinned host memory to device
  double d2d_read_gbps = 0;    ///< device to device, bytes read (read + write is twice this)
  std::size_t bytes = 0;
};

/// @brief Best of `repetitions` cudaMemcpyAsync of `bytes`, pinned H2D and D2D. Returns
/// available = false (with the reason) when the bench was built without CUDA or no device works.
DeviceBandwidth measure_device_bandwidth(std::size_t bytes, int repetitions);

}  // namespace sluice::bench
