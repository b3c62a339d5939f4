// Shared helpers of the GPU tests: the device check, the size switch, device buffers,
// poisoning, and partial rows moved between host vectors and either executor's memory.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "host/cuda_probe.hpp"
#include "kernels/exec/buffer.hpp"
#include "kernels/exec/host_exec.hpp"
#include "kernels/kernel_test_util.hpp"
#include "kernels/partials.hpp"

// SLUICE_GPU_TESTS_ON_HOST (the opt-in target sluice_gpu_tests_on_host) runs these tests with
// HostExec in the device's place, so the references, poisoning and comparisons can be checked on
// a machine without a GPU. The real suite runs CudaExec.
#if !defined(SLUICE_GPU_TESTS_ON_HOST)
#include "kernels/exec/cuda_exec.cuh"
#endif

namespace sluice::test {

#if defined(SLUICE_GPU_TESTS_ON_HOST)
using DevExec = detail::HostExec;
inline constexpr bool kOnDevice = false;
#else
using DevExec = detail::CudaExec;
inline constexpr bool kOnDevice = true;
#endif

/// @brief Whether a CUDA device works (probed once); the reason in *why either way.
inline bool gpu_ready(std::string* why) {
  if (!kOnDevice) {
    *why = "SLUICE_GPU_TESTS_ON_HOST: HostExec stands in for CudaExec";
    return true;
  }
  static const std::pair<bool, std::string> probe = [] {
    std::string reason;
    const bool ok = detail::cuda_device_available(&reason);
    return std::pair<bool, std::string>(ok, reason);
  }();
  *why = probe.second;
  return probe.first;
}

/// Skips the current test (from a test body or SetUp) when no CUDA device works.
#define SLUICE_REQUIRE_GPU()                                          \
  do {                                                                \
    std::string sluice_why_;                                          \
    if (!::sluice::test::gpu_ready(&sluice_why_))                     \
      GTEST_SKIP() << "needs a working CUDA device; " << sluice_why_; \
  } while (0)

/// Fixture whose tests skip without a working CUDA device.
class GpuTest : public ::testing::Test {
 protected:
  void SetUp() override { SLUICE_REQUIRE_GPU(); }
};

/// Parameterized fixture whose tests skip without a working CUDA device.
template <class Param>
class GpuTestWithParam : public ::testing::TestWithParam<Param> {
 protected:
  void SetUp() override { SLUICE_REQUIRE_GPU(); }
};

/// @brief Whether the tests run at their small sizes: SLUICE_GPU_TEST_SIZES=small (the quick
/// mode of tests/gpu_check.sh). The default is the full sizes.
inline bool small_sizes() {
  const char* v = std::getenv("SLUICE_GPU_TEST_SIZES");
  return v != nullptr && std::string(v) == "small";
}

/// @brief `full`, or `small` under small_sizes().
inline std::size_t test_size(std::size_t full, std::size_t small) {
  return small_sizes() ? small : full;
}

/// @brief Prints the seed of a test to stdout (SLUICE_SEEDED_RNG adds it to every failure).
inline void announce_seed(std::uint64_t seed) {
  std::printf("[   SEED   ] %llu (replay with SLUICE_TEST_SEED=%llu)\n",
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed));
}

/// Declares `std::mt19937_64 name` from a fresh (or SLUICE_TEST_SEED) seed and prints it.
#define SLUICE_GPU_RNG(name) \
  SLUICE_SEEDED_RNG(name);   \
  ::sluice::test::announce_seed(name##_seed)

// ---------------------------------------------------------------------------------------------
// Executor memory.

template <class T, class Exec>
using ExecBuffer = detail::Buffer<T, Exec>;

/// Byte every output buffer is filled with before an operator runs: an element the operator
/// should have written but did not reads as poison_value<T>().
inline constexpr int kPoisonByte = 0xA5;

template <class T>
T poison_value() {
  T v;
  std::memset(&v, kPoisonByte, sizeof(T));
  return v;
}

template <class T, class Exec>
void poison(Exec& exec, T* p, std::size_t n) {
  exec.fill_bytes(p, kPoisonByte, n * sizeof(T));
}

/// @brief A buffer of n elements in the executor's memory, poisoned.
template <class T, class Exec>
ExecBuffer<T, Exec> poisoned_buffer(Exec& exec, std::size_t n) {
  ExecBuffer<T, Exec> b(exec, n);
  poison(exec, b.data(), n);
  return b;
}

/// @brief A copy of `v` in the executor's memory (with `extra` poisoned elements after it).
template <class T, class Exec>
ExecBuffer<T, Exec> upload(Exec& exec, const std::vector<T>& v, std::size_t extra = 0) {
  ExecBuffer<T, Exec> b(exec, v.size() + extra);
  exec.copy_from_host(b.data(), v.data(), v.size() * sizeof(T));
  poison(exec, b.data() + v.size(), extra);
  return b;
}

/// @brief n elements read back from the executor's memory (synchronizes).
template <class T, class Exec>
std::vector<T> download(Exec& exec, const T* p, std::size_t n) {
  std::vector<T> v(n);
  exec.copy_to_host(v.data(), p, n * sizeof(T));
  return v;
}

// ---------------------------------------------------------------------------------------------
// Partial rows.

/// @brief Fills every column of the partials' whole capacity (stride rows) with the poison.
template <class Exec>
void poison_partials(Exec& exec, const PartialsView& v) {
  poison(exec, v.hash, v.stride);
  poison(exec, v.keys, v.stride * static_cast<std::size_t>(v.key_words));
  poison(exec, v.pane, v.stride);
  poison(exec, v.cut, v.stride);
  poison(exec, v.states, v.stride * static_cast<std::size_t>(v.state_words));
}

/// @brief Copies host rows into executor partials (resized to rows.size(), padding poisoned).
template <class Exec>
void upload_rows(Exec& exec, const HostRows& rows, Partials<Exec>& out) {
  out.resize_discard(rows.size());
  poison_partials(exec, out.view());
  copy_rows_to(exec, rows, out);
}

/// @brief Reads the rows of an executor view back into host rows.
template <class Exec>
HostRows download_rows(Exec& exec, const PartialsView& v) {
  HostRows r;
  r.key_words = v.key_words;
  r.state_words = v.state_words;
  const std::size_t n = v.size;
  r.hash = download(exec, v.hash, n);
  r.pane = download(exec, v.pane, n);
  r.cut = download(exec, v.cut, n);
  r.keys.assign(n * static_cast<std::size_t>(v.key_words), 0);
  r.states.assign(n * static_cast<std::size_t>(v.state_words), 0);
  for (int j = 0; j < v.key_words; ++j) {
    const std::vector<std::uint64_t> c = download(exec, v.keys + j * v.stride, n);
    for (std::size_t i = 0; i < n; ++i) r.keys[i * v.key_words + j] = c[i];
  }
  for (int s = 0; s < v.state_words; ++s) {
    const std::vector<std::uint64_t> c = download(exec, v.states + s * v.stride, n);
    for (std::size_t i = 0; i < n; ++i) r.states[i * v.state_words + s] = c[i];
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// Comparing states.

/// Relative tolerance of float sums, against max(|want|, sum of magnitudes). Summing n terms in
/// any order errs by at most about n * 2^-53 of the magnitudes: 1e-9 covers n up to ~10^7.
inline constexpr double kSumTolerance = 1e-9;

/// @brief Exact for integer states and float min/max; float sums within kSumTolerance of the
/// larger of |want| and `magnitude` (NaN matches NaN).
inline ::testing::AssertionResult state_close(StateOp op, std::uint64_t got, std::uint64_t want,
                                              double magnitude = 0.0,
                                              double tolerance = kSumTolerance) {
  if (op != StateOp::sum_f64) return state_matches(op, got, want);
  const double g = bitsd(got), w = bitsd(want);
  if (std::isnan(g) && std::isnan(w)) return ::testing::AssertionSuccess();
  const double scale = std::max({std::fabs(w), std::fabs(g), magnitude});
  if (g == w || std::fabs(g - w) <= tolerance * scale) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "sum_f64 got " << g << " want " << w << " (difference "
                                       << g - w << ", scale " << scale << ")";
}

}  // namespace sluice::test
