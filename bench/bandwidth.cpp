// Host memcpy bandwidth with OpenMP threads.
#include "bench/bandwidth.hpp"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>

namespace sluice::bench {

CopyBandwidth measure_copy_bandwidth(std::size_t bytes, int threads, int repetitions) {
  CopyBandwidth out;
  out.bytes = bytes;
  out.threads = threads;
  out.repetitions = repetitions;
  // Uninitialised on purpose: each thread first-touches the pages it will copy.
  std::unique_ptr<std::byte[]> src(new std::byte[bytes]);
  std::unique_ptr<std::byte[]> dst(new std::byte[bytes]);
  const std::size_t chunk =
      (bytes + static_cast<std::size_t>(threads) - 1) / static_cast<std::size_t>(threads);
  auto range = [&](int t, std::size_t& begin, std::size_t& size) {
    begin = std::min(bytes, static_cast<std::size_t>(t) * chunk);
    size = std::min(chunk, bytes - begin);
  };
#pragma omp parallel num_threads(threads)
  {
    std::size_t begin = 0, size = 0;
    range(omp_get_thread_num(), begin, size);
    std::memset(src.get() + begin, 0x5A, size);
    std::memset(dst.get() + begin, 0, size);
  }
  double best = 0;
  for (int r = 0; r < repetitions; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel num_threads(threads)
    {
      std::size_t begin = 0, size = 0;
      range(omp_get_thread_num(), begin, size);
      std::memcpy(dst.get() + begin, src.get() + begin, size);
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (r == 0 || s < best) best = s;
  }
  // Keep the copies observable so they cannot be elided.
  if (dst[bytes / 2] != src[bytes / 2]) out.repetitions = -1;
  out.best_seconds = best;
  out.read_gbps = static_cast<double>(bytes) / best * 1e-9;
  out.read_write_gbps = 2 * out.read_gbps;
  return out;
}

}  // namespace sluice::bench
