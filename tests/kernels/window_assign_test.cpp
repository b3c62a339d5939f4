// Tests of floor division and pane/window assignment (ops/window_assign.hpp) against brute force.
#include "kernels/ops/window_assign.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "kernel_test_util.hpp"
#include "kernels/ops/floor_div.hpp"

namespace sluice::test {
namespace {

using detail::ceil_div;
using detail::floor_div;

TEST(FloorDiv, SmallRangeExhaustive) {
  for (std::int64_t a = -200; a <= 200; ++a) {
    for (std::int64_t b = 1; b <= 17; ++b) {
      // q is the floor iff q*b <= a < (q+1)*b; c is the ceiling iff (c-1)*b < a <= c*b.
      const std::int64_t q = floor_div(a, b);
      EXPECT_TRUE(q * b <= a && a < (q + 1) * b) << a << " / " << b << " gave " << q;
      const std::int64_t c = ceil_div(a, b);
      EXPECT_TRUE((c - 1) * b < a && a <= c * b) << a << " / " << b << " ceil gave " << c;
    }
  }
}

TEST(FloorDiv, RandomWideRange) {
  SLUICE_SEEDED_RNG(rng);
  std::uniform_int_distribution<std::int64_t> big(-(1LL << 62), 1LL << 62);
  for (int i = 0; i < 200000; ++i) {
    const std::int64_t a = big(rng);
    const std::int64_t b = i % 2 ? 1 + static_cast<std::int64_t>(rng() % 1000)
                                 : 1 + static_cast<std::int64_t>(rng() % (1ULL << 40));
    const __int128 q = floor_div(a, b);
    ASSERT_TRUE(q * b <= a && a < (q + 1) * b) << a << " / " << b;
    const __int128 c = ceil_div(a, b);
    ASSERT_TRUE((c - 1) * b < a && a <= c * b) << a << " / " << b;
  }
  EXPECT_EQ(floor_div(std::numeric_limits<std::int64_t>::min(), 1),
            std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(floor_div(std::numeric_limits<std::int64_t>::min(), 2),
            std::numeric_limits<std::int64_t>::min() / 2);
  EXPECT_EQ(floor_div(-1, 1000), -1);
  EXPECT_EQ(floor_div(-1000, 1000), -1);
  EXPECT_EQ(floor_div(-1001, 1000), -2);
}

struct Geometry {
  std::int64_t size, slide, offset, lateness;
  bool cumulate = false;  ///< cumulating windows: slide is the step
};

// Tumbling, sliding with slide | size, sliding with size not a multiple of slide, slide > size
// (hopping with gaps), offsets of both signs; cumulating windows of several steps, of one step
// (tumbling) and of steps of 1.
const Geometry kGeometries[] = {{10, 10, 0, 0},        {10, 10, 3, 5},      {10, 5, 0, 0},
                                {10, 4, 0, 3},         {10, 4, -7, 0},      {7, 3, 2, 11},
                                {1, 1, 0, 0},          {3, 10, 1, 2},       {60, 15, -30, 100},
                                {12, 8, 5, 1},         {12, 4, 0, 0, true}, {10, 10, 3, 5, true},
                                {60, 15, 7, 20, true}, {6, 1, -2, 3, true}};

PaneSpec panes_of(const Geometry& g) {
  return g.cumulate ? make_cumulate_panes(g.size, g.slide, g.offset, g.lateness)
                    : make_panes(g.size, g.slide, g.offset, g.lateness);
}

class PaneGeometry : public ::testing::TestWithParam<Geometry> {};

TEST_P(PaneGeometry, PaneOfMatchesDefinitionForNegativeAndPositiveTimes) {
  const Geometry g = GetParam();
  const PaneSpec s = panes_of(g);
  for (std::int64_t t = -500; t <= 500; ++t) {
    const std::int64_t p = s.pane_of(t);
    // The pane holding t starts at or before t and ends after it.
    ASSERT_LE(s.pane_start(p), t) << "t " << t;
    ASSERT_GT(s.pane_start(p) + s.pane, t) << "t " << t;
    ASSERT_EQ(p, ref_pane_of(s, t));
  }
}

TEST_P(PaneGeometry, WindowsOfAPaneMatchBruteForce) {
  const Geometry g = GetParam();
  const PaneSpec s = panes_of(g);
  for (std::int64_t p = -300; p <= 300; ++p) {
    const std::vector<std::int64_t> ks = ref_windows_of_pane(s, p);
    if (ks.empty()) {
      // A gap between hopping windows: no window contains the pane.
      EXPECT_GT(s.first_window(p), s.last_window(p)) << "pane " << p;
      continue;
    }
    EXPECT_EQ(s.first_window(p), ks.front()) << "pane " << p;
    EXPECT_EQ(s.last_window(p), ks.back()) << "pane " << p;
    for (std::size_t i = 1; i < ks.size(); ++i) ASSERT_EQ(ks[i], ks[i - 1] + 1);
    // Each event time of the pane lies in exactly these windows (brute force over all windows).
    for (std::int64_t t = s.pane_start(p); t < s.pane_start(p) + s.pane; ++t) {
      std::vector<std::int64_t> containing;
      for (std::int64_t k = -500; k <= 500; ++k)
        if (s.window_start(k) <= t && t < s.window_end(k)) containing.push_back(k);
      ASSERT_EQ(containing, ks) << "t " << t;
    }
  }
}

TEST_P(PaneGeometry, WindowStartEndAndIndex) {
  const Geometry g = GetParam();
  const PaneSpec s = panes_of(g);
  for (std::int64_t k = -100; k <= 100; ++k) {
    EXPECT_EQ(s.window_start(k), ref_window_start(s, k));
    EXPECT_EQ(s.window_end(k), ref_window_end(s, k));
    if (!g.cumulate) {
      EXPECT_EQ(s.window_start(k), g.offset + k * g.slide);
      EXPECT_EQ(s.window_end(k), g.offset + k * g.slide + g.size);
      EXPECT_EQ(s.window_index(s.window_start(k)), k);
    } else {
      // A period's windows share its start, end a step apart, and the last spans the period.
      EXPECT_EQ(s.window_index(s.window_start(k)), s.period_first(k));
      EXPECT_EQ(s.window_end(k) - s.window_start(k), (k - s.period_first(k) + 1) * g.slide);
    }
    // The panes of a window are the ones whose windows include it.
    for (std::int64_t p = s.first_pane_of(k) - 3; p <= s.last_pane_of(k) + 3; ++p) {
      const std::vector<std::int64_t> ks = ref_windows_of_pane(s, p);
      const bool covered = std::find(ks.begin(), ks.end(), k) != ks.end();
      EXPECT_EQ(covered, p >= s.first_pane_of(k) && p <= s.last_pane_of(k))
          << "k " << k << " p " << p;
    }
  }
}

TEST_P(PaneGeometry, CutAndExpiryMatchBruteForce) {
  const Geometry g = GetParam();
  const PaneSpec s = panes_of(g);
  for (std::int64_t p = -60; p <= 60; ++p) {
    if (ref_windows_of_pane(s, p).empty()) continue;
    for (std::int64_t wm = -800; wm <= 800; wm += 1) {
      ASSERT_EQ(s.cut_of(p, wm), ref_cut(s, p, wm)) << "pane " << p << " wm " << wm;
      ASSERT_EQ(s.pane_expired(p, wm), ref_pane_expired(s, p, wm)) << "pane " << p << " wm " << wm;
    }
    EXPECT_EQ(s.cut_of(p, kNoWatermark), 0u);
    EXPECT_FALSE(s.pane_expired(p, kNoWatermark));
    EXPECT_EQ(s.cut_of(p, kFinalWatermark), kLateCut);
    EXPECT_TRUE(s.pane_expired(p, kFinalWatermark));
  }
  for (std::int64_t k = -60; k <= 60; ++k) {
    for (std::int64_t wm = -800; wm <= 800; ++wm)
      ASSERT_EQ(s.window_alive(k, wm), ref_window_alive(s, k, wm)) << "k " << k << " wm " << wm;
    EXPECT_TRUE(s.window_alive(k, kNoWatermark));
    EXPECT_FALSE(s.window_alive(k, kFinalWatermark));
  }
}

TEST_P(PaneGeometry, CutBoundsAgreeWithCutOf) {
  const Geometry g = GetParam();
  const PaneSpec s = panes_of(g);
  for (std::int64_t wm = -800; wm <= 800; wm += 3) {
    const detail::CutBounds b = s.cut_bounds(wm);
    for (std::int64_t p = -80; p <= 80; ++p) {
      const std::uint32_t cut = s.cut_of(p, wm);
      if (p < b.alive) {
        ASSERT_EQ(cut, kLateCut) << "pane " << p << " wm " << wm;
      }
      if (p >= b.full && g.slide <= g.size) {
        ASSERT_EQ(cut, 0u) << "pane " << p << " wm " << wm;
      }
      // The bounds are tight: the first pane still alive, the first with every window alive.
      if (p == b.alive - 1 && !ref_windows_of_pane(s, b.alive).empty()) {
        ASSERT_NE(s.cut_of(b.alive, wm), kLateCut) << "wm " << wm;
      }
      if (p == b.full - 1 && g.slide <= g.size) {
        ASSERT_NE(cut, 0u) << "wm " << wm;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Geometries, PaneGeometry, ::testing::ValuesIn(kGeometries));

TEST(FastDivisor, ExactForEveryDividendAndDivisor) {
  SLUICE_SEEDED_RNG(rng);
  std::vector<std::int64_t> divisors = {1,
                                        2,
                                        3,
                                        7,
                                        10,
                                        1000,
                                        10000,
                                        86400000,
                                        1LL << 32,
                                        (1LL << 62) + 1,
                                        std::numeric_limits<std::int64_t>::max()};
  for (int i = 0; i < 200; ++i)
    divisors.push_back(1 + static_cast<std::int64_t>(rng() >> (rng() % 63 + 1)));
  for (std::int64_t d : divisors) {
    const detail::FastDivisor div(d);
    const std::int64_t edges[] = {0,
                                  1,
                                  -1,
                                  d,
                                  -d,
                                  d - 1,
                                  -(d - 1),
                                  d < std::numeric_limits<std::int64_t>::max() ? d + 1 : d,
                                  std::numeric_limits<std::int64_t>::max(),
                                  std::numeric_limits<std::int64_t>::min()};
    for (std::int64_t a : edges)
      ASSERT_EQ(div.floor_divide(a), ref_floor_div(a, d)) << a << " / " << d;
    for (int j = 0; j < 2000; ++j) {
      const auto a = static_cast<std::int64_t>(rng());
      ASSERT_EQ(div.floor_divide(a), ref_floor_div(a, d)) << a << " / " << d;
      const std::uint64_t u = rng();
      ASSERT_EQ(div.divide(u), u / static_cast<std::uint64_t>(d)) << u << " / " << d;
    }
  }
}

TEST(PaneSpec, CutCountsTheWindowsAlreadyPastLateness) {
  // Sliding 10/4 (panes of 2), no offset, lateness 3. Pane 5 = [10, 12) lies in windows
  // k = 1 ([4,14)), 2 ([8,18)); k = 0 is [0,10) and does not contain it.
  const PaneSpec s = make_panes(10, 4, 0, 3);
  ASSERT_EQ(s.pane, 2);
  EXPECT_EQ(s.first_window(5), 1);
  EXPECT_EQ(s.last_window(5), 2);
  EXPECT_EQ(s.cut_of(5, 16), 0u);        // window 1 ends 14, 14 + 3 > 16: alive
  EXPECT_EQ(s.cut_of(5, 17), 1u);        // 14 + 3 > 17 fails: only window 2 ([8,18)) remains
  EXPECT_EQ(s.cut_of(5, 20), 1u);        // 18 + 3 > 20
  EXPECT_EQ(s.cut_of(5, 21), kLateCut);  // every window past lateness
  EXPECT_FALSE(s.pane_expired(5, 20));
  EXPECT_TRUE(s.pane_expired(5, 21));
}

TEST(PaneSpec, NegativeTimesUseFloorDivision) {
  const PaneSpec s = make_panes(10, 10);
  EXPECT_EQ(s.pane_of(-1), -1);
  EXPECT_EQ(s.pane_of(-10), -1);
  EXPECT_EQ(s.pane_of(-11), -2);
  EXPECT_EQ(s.pane_of(0), 0);
  EXPECT_EQ(s.first_window(-1), -1);
  EXPECT_EQ(s.window_start(-1), -10);
  EXPECT_EQ(s.window_end(-1), 0);
}

TEST(PaneSpec, GlobalWindowCoversAllTime) {
  const PaneSpec s = make_global_panes();
  SLUICE_SEEDED_RNG(rng);
  for (int i = 0; i < 1000; ++i) {
    const auto t = static_cast<std::int64_t>(rng());
    EXPECT_EQ(s.pane_of(t), 0);
    EXPECT_EQ(s.cut_of(0, t), 0u);
    EXPECT_TRUE(s.window_alive(0, t));
    if (t != kFinalWatermark) {
      EXPECT_FALSE(s.pane_expired(0, t));
    }
  }
  EXPECT_EQ(s.first_window(0), 0);
  EXPECT_EQ(s.last_window(0), 0);
  EXPECT_EQ(s.window_end(0), kFinalWatermark);
  EXPECT_TRUE(s.pane_expired(0, kFinalWatermark));
}

TEST(PaneSpec, LargeTimesNearTheWatermarkEdges) {
  // Millisecond timestamps in 2023 with one-hour windows sliding every 15 minutes.
  const PaneSpec s = make_panes(3600000, 900000, 0, 60000);
  SLUICE_SEEDED_RNG(rng);
  std::uniform_int_distribution<std::int64_t> tdist(1700000000000LL, 1800000000000LL);
  for (int i = 0; i < 20000; ++i) {
    const std::int64_t t = tdist(rng);
    const std::int64_t p = s.pane_of(t);
    ASSERT_EQ(p, ref_pane_of(s, t));
    const std::int64_t wm = t + static_cast<std::int64_t>(rng() % 7200000) - 3600000;
    ASSERT_EQ(s.cut_of(p, wm), ref_cut(s, p, wm)) << "t " << t << " wm " << wm;
    ASSERT_EQ(s.pane_expired(p, wm), ref_pane_expired(s, p, wm));
  }
  // A huge lateness must not overflow near the final watermark.
  const PaneSpec forever = make_panes(10, 10, 0, std::numeric_limits<std::int64_t>::max() / 2);
  EXPECT_TRUE(forever.window_alive(5, 1000000));
  EXPECT_FALSE(forever.window_alive(5, kFinalWatermark));
}

}  // namespace
}  // namespace sluice::test
