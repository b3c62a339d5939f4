// The window state on CudaExec (portable merge, fires, evictions) against the brute-force model
// and against the same rounds on HostExec.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "gpu_test_util.hpp"
#include "kernels/table/window_state.hpp"
#include "kernels/window_state_reference.hpp"

namespace sluice::test {
namespace {

using detail::FiredRows;
using detail::WindowState;

struct Case {
  std::size_t rows_per_round;
  std::size_t small_rows;
  std::size_t keys;
  KeyDist dist;
  int key_words;
};

std::ostream& operator<<(std::ostream& os, const Case& c) {
  return os << c.rows_per_round << " rows per round, " << c.keys << " keys, " << to_string(c.dist)
            << ", " << c.key_words << " key words";
}

class WindowStateGpu : public GpuTestWithParam<Case> {};

/// The rounds of the host window state test, run on both executors side by side: every fire
/// equals the model's (float sums within their rounding: the device combines them in any
/// order) and the other executor's; the live entries are the model's after every eviction.
/// Midway each state is saved and the rounds go on in states restored from the other
/// executor's words (a checkpoint read back on the other backend).
TEST_P(WindowStateGpu, RoundsMatchTheModelAndTheHost) {
  const Case c = GetParam();
  SLUICE_GPU_RNG(rng);
  DevExec exec;
  HostExec host;
  const std::size_t rows_per_round = test_size(c.rows_per_round, c.small_rows);
  for (const Geometry& g : kGeometries) {
    SCOPED_TRACE(g.name);
    const PaneSpec panes = panes_of(g);
    auto device_state = std::make_unique<WindowState<DevExec>>(exec, make_states(kAllOps),
                                                               c.key_words, panes, KeyHasher{}, 1);
    auto host_owned = std::make_unique<WindowState<HostExec>>(host, make_states(kAllOps),
                                                              c.key_words, panes, KeyHasher{}, 1);
    RefWindows ref{panes, kAllOps, {}, {}};
    FiredRows<DevExec> out(exec);
    FiredRows<HostExec> host_out(host);
    std::int64_t fired_wm = kNoWatermark;
    std::int64_t t = 1000;
    // Sums of up to a few thousand terms of magnitude <= 1000.
    const double sum_scale = 1000.0 * static_cast<double>(rows_per_round + 1);
    for (int round = 0; round < 12; ++round) {
      SCOPED_TRACE("round " + std::to_string(round));
      if (round == 6) {
        // A checkpoint midway, crossed over: the device state goes on from the host's words
        // and the host state from the device's.
        std::vector<std::uint64_t> from_device, from_host;
        device_state->save(from_device);
        host_owned->save(from_host);
        auto next_device = std::make_unique<WindowState<DevExec>>(
            exec, make_states(kAllOps), c.key_words, panes, KeyHasher{}, 1);
        auto next_host = std::make_unique<WindowState<HostExec>>(
            host, make_states(kAllOps), c.key_words, panes, KeyHasher{}, 1);
        ASSERT_EQ(next_device->restore(from_host), from_host.size());
        ASSERT_EQ(next_host->restore(from_device), from_device.size());
        ASSERT_EQ(next_device->size(), ref.entries.size());
        ASSERT_EQ(next_host->size(), ref.entries.size());
        device_state = std::move(next_device);
        host_owned = std::move(next_host);
      }
      WindowState<DevExec>& state = *device_state;
      WindowState<HostExec>& host_state = *host_owned;
      const std::vector<MergeRow> rows =
          random_round(panes, t, fired_wm, rows_per_round, c.keys, c.dist, c.key_words, rng);
      merge_portable(state, exec, rows, c.key_words, fired_wm);
      merge_portable(host_state, host, rows, c.key_words, fired_wm);
      ref.merge(rows, fired_wm);
      ASSERT_EQ(state.size(), ref.entries.size());
      t += static_cast<std::int64_t>(rng() % 400);
      const std::int64_t wm = round % 4 == 3 ? fired_wm : std::max<std::int64_t>(fired_wm, t - 250);
      state.fire(fired_wm, wm, out);
      host_state.fire(fired_wm, wm, host_out);
      const auto fired = fired_of(exec, out, c.key_words);
      expect_same_fire(fired, ref.fire(fired_wm, wm), sum_scale);
      expect_same_fire(fired, fired_of(host, host_out, c.key_words), sum_scale);
      state.evict(wm);
      host_state.evict(wm);
      ref.evict(wm);
      ASSERT_EQ(state.size(), ref.entries.size());
      EXPECT_EQ(state.size(), host_state.size());
      fired_wm = std::max(fired_wm, wm);
      state.next_generation();
      host_state.next_generation();
    }
    device_state->fire(fired_wm, kFinalWatermark, out);
    expect_same_fire(fired_of(exec, out, c.key_words), ref.fire(fired_wm, kFinalWatermark),
                     sum_scale);
    device_state->evict(kFinalWatermark);
    EXPECT_EQ(device_state->size(), 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(SizesAndKeys, WindowStateGpu,
                         ::testing::Values(Case{0, 0, 1, KeyDist::uniform, 1},
                                           Case{1, 1, 1, KeyDist::uniform, 1},
                                           Case{300, 300, 40, KeyDist::zipf, 2},
                                           Case{5000, 1000, 3000, KeyDist::uniform, 1},
                                           Case{20000, 3000, 50000, KeyDist::hot90, 1}));

/// A pane table grows well past its first chunk and index on the device: rows keep their place.
TEST(WindowStateGpuGrowth, TablesGrowPastTheirFirstChunks) {
  SLUICE_REQUIRE_GPU();
  SLUICE_GPU_RNG(rng);
  DevExec exec;
  const PaneSpec panes = make_panes(1000, 1000);
  WindowState<DevExec> state(exec, make_states(kAllOps), 1, panes, KeyHasher{}, 1);
  RefWindows ref{panes, kAllOps, {}, {}};
  const std::size_t per_merge = test_size(100000, 20000);
  std::vector<MergeRow> rows;
  for (std::size_t i = 0; i < 3 * per_merge; ++i) {
    std::vector<std::uint64_t> st;
    for (StateOp op : kAllOps) st.push_back(random_state_value(op, rng));
    rows.push_back({Key{i * 0x9e3779b97f4a7c15ULL, 0}, 0, 0, st});
  }
  for (std::size_t part = 0; part < 3; ++part) {
    const std::vector<MergeRow> some(
        rows.begin() + static_cast<std::ptrdiff_t>(part * per_merge),
        rows.begin() + static_cast<std::ptrdiff_t>((part + 1) * per_merge));
    merge_portable(state, exec, some, 1, kNoWatermark);
    ref.merge(some, kNoWatermark);
    state.next_generation();
  }
  EXPECT_EQ(state.size(), 3 * per_merge);
  FiredRows<DevExec> out(exec);
  state.fire(kNoWatermark, 1000, out);
  expect_same_fire(fired_of(exec, out, 1), ref.fire(kNoWatermark, 1000));
}

}  // namespace
}  // namespace sluice::test
