// Tests of make_event_partials and collect_late_rows on HostExec against per-event references.
#include "kernels/event_partials.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <tuple>
#include <vector>

#include "kernel_test_util.hpp"

namespace sluice::test {
namespace {

using detail::collect_late_rows;
using detail::EventLayout;
using detail::make_event_partials;

struct Case {
  const char* name;
  PaneSpec panes;
};

std::vector<Case> cases() {
  return {{"tumbling 10", make_panes(10, 10)},
          {"tumbling 10 offset 3 lateness 5", make_panes(10, 10, 3, 5)},
          {"sliding 10/5", make_panes(10, 5, 0, 0)},
          {"sliding 10/4 offset -7 lateness 3", make_panes(10, 4, -7, 3)},
          {"sliding 7/3 lateness 20", make_panes(7, 3, 2, 20)},
          {"global", make_global_panes()}};
}

/// Projected events: output 0 a double input, output 1 the time, outputs [2, 2 + kw) the key
/// words, output 2 + kw an integer input; column stride m + 3.
struct Events {
  std::size_t m = 0;
  int key_words = 1;
  std::size_t stride = 0;
  std::vector<std::uint64_t> words;
  int time() const { return 1; }
  int key_begin() const { return 2; }
  int int_input() const { return 2 + key_words; }
  std::uint64_t& at(int output, std::size_t i) { return words[output * stride + i]; }
  std::uint64_t at(int output, std::size_t i) const { return words[output * stride + i]; }
  EventLayout layout() const { return EventLayout{words.data(), stride, time(), key_begin()}; }
};

Events random_events(std::size_t m, int key_words, std::mt19937_64& rng) {
  Events e;
  e.m = m;
  e.key_words = key_words;
  e.stride = m + 3;
  e.words.assign(e.stride * (3 + key_words), 0);
  std::uniform_int_distribution<std::int64_t> time(-5000, 5000);
  std::uniform_real_distribution<double> value(-100.0, 100.0);
  const std::size_t keys = 1 + rng() % 50;
  for (std::size_t i = 0; i < m; ++i) {
    e.at(0, i) = dbits(value(rng));
    e.at(1, i) = static_cast<std::uint64_t>(time(rng));
    const Key k = key_words_of(rng() % keys, key_words, 12345);
    for (int j = 0; j < key_words; ++j) e.at(2 + j, i) = k[j];
    e.at(e.int_input(), i) = static_cast<std::uint64_t>(time(rng));
  }
  return e;
}

void check(const Events& e, const PaneSpec& panes, std::int64_t wm, KeyHasher hasher) {
  // count, sum of the double, min of the integer, max of the double.
  const detail::StateSpec states =
      make_states({StateOp::sum_i64, StateOp::sum_f64, StateOp::min_i64, StateOp::max_f64},
                  {-1, 0, e.int_input(), 0});
  HostExec exec;
  Partials<HostExec> out(exec, e.key_words, states.count);
  out.resize_discard(e.m);
  const std::size_t late =
      make_event_partials(exec, e.layout(), e.m, states, panes, wm, hasher, out.view());
  const HostRows got = from_view(out.view());
  ASSERT_EQ(got.size(), e.m);
  std::size_t want_late = 0;
  for (std::size_t i = 0; i < e.m; ++i) {
    const auto t = static_cast<std::int64_t>(e.at(e.time(), i));
    std::uint64_t key[kMaxTestKeyWords];
    for (int j = 0; j < e.key_words; ++j) key[j] = e.at(e.key_begin() + j, i);
    ASSERT_EQ(got.hash[i], ref_key_hash(key, e.key_words, hasher.mask)) << "event " << i;
    for (int j = 0; j < e.key_words; ++j) ASSERT_EQ(got.keys[i * e.key_words + j], key[j]);
    const std::int64_t pane = ref_pane_of(panes, t);
    ASSERT_EQ(got.pane[i], pane) << "event " << i << " time " << t;
    const std::uint32_t cut = ref_cut(panes, pane, wm);
    ASSERT_EQ(got.cut[i], cut) << "event " << i << " time " << t << " wm " << wm;
    want_late += cut == kLateCut;
    ASSERT_EQ(got.state(i, 0), 1u);
    ASSERT_EQ(got.state(i, 1), e.at(0, i));
    ASSERT_EQ(got.state(i, 2), e.at(e.int_input(), i));
    ASSERT_EQ(got.state(i, 3), e.at(0, i));
  }
  EXPECT_EQ(late, want_late);

  // collect_late_rows maps late partials back to their (increasing, gappy) batch rows.
  std::vector<std::uint32_t> rows(e.m);
  for (std::size_t i = 0; i < e.m; ++i) rows[i] = static_cast<std::uint32_t>(3 * i + 1);
  std::vector<std::uint32_t> late_rows(e.m + 1, 0xffffffffu);
  const std::size_t collected = collect_late_rows(exec, out.view(), rows.data(), late_rows.data());
  std::vector<std::uint32_t> want_rows;
  for (std::size_t i = 0; i < e.m; ++i)
    if (ref_cut(panes, ref_pane_of(panes, static_cast<std::int64_t>(e.at(e.time(), i))), wm) ==
        kLateCut)
      want_rows.push_back(rows[i]);
  ASSERT_EQ(collected, want_rows.size());
  late_rows.resize(collected);
  EXPECT_EQ(late_rows, want_rows);
}

class EventPartialsSizes : public ::testing::TestWithParam<std::tuple<std::size_t, int>> {};

TEST_P(EventPartialsSizes, MatchesPerEventReference) {
  const auto [m, key_words] = GetParam();
  SLUICE_SEEDED_RNG(rng);
  const Events e = random_events(m, key_words, rng);
  std::uniform_int_distribution<std::int64_t> wm(-2000, 2000);
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    check(e, c.panes, kNoWatermark, KeyHasher{});
    const std::int64_t w = wm(rng);
    SCOPED_TRACE(::testing::Message() << "wm " << w);
    check(e, c.panes, w, KeyHasher{});
    if (m == kLarge) break;  // one geometry for the large batch
  }
}

INSTANTIATE_TEST_SUITE_P(SizesAndKeyWords, EventPartialsSizes,
                         ::testing::Combine(::testing::Values(std::size_t{0}, std::size_t{1},
                                                              std::size_t{31}, std::size_t{1000},
                                                              kLarge),
                                            ::testing::Values(1, 2)));

TEST(EventPartials, NarrowedHashStillHashesTheKeyWords) {
  SLUICE_SEEDED_RNG(rng);
  const Events e = random_events(1000, 2, rng);
  check(e, make_panes(10, 4, 0, 3), 100, KeyHasher{0x7});
  check(e, make_panes(10, 4, 0, 3), 100, KeyHasher{0});
}

TEST(EventPartials, EveryEventLateAndNoneLate) {
  SLUICE_SEEDED_RNG(rng);
  const Events e = random_events(1000, 1, rng);  // times within [-5000, 5000]
  const PaneSpec panes = make_panes(10, 4, 0, 3);
  check(e, panes, 1000000, KeyHasher{});   // far past every window: all late
  check(e, panes, -1000000, KeyHasher{});  // before every window: none late
  HostExec exec;
  const detail::StateSpec states = make_states({StateOp::sum_i64});
  Partials<HostExec> out(exec, 1, 1);
  out.resize_discard(e.m);
  EXPECT_EQ(
      make_event_partials(exec, e.layout(), e.m, states, panes, 1000000, KeyHasher{}, out.view()),
      e.m);
  EXPECT_EQ(
      make_event_partials(exec, e.layout(), e.m, states, panes, -1000000, KeyHasher{}, out.view()),
      0u);
}

TEST(EventPartials, LatenessBoundaryForOneEvent) {
  // Tumbling 10, lateness 5: an event at t = 3 (window [0, 10)) is accepted until the watermark
  // reaches 15 = end + lateness.
  const PaneSpec panes = make_panes(10, 10, 0, 5);
  Events e;
  e.m = 1;
  e.key_words = 1;
  e.stride = 4;
  e.words.assign(e.stride * 4, 0);
  e.at(1, 0) = 3;
  for (std::int64_t wm : {std::int64_t{-100}, std::int64_t{9}, std::int64_t{10}, std::int64_t{14},
                          std::int64_t{15}, std::int64_t{16}}) {
    HostExec exec;
    const detail::StateSpec states = make_states({StateOp::sum_i64});
    Partials<HostExec> out(exec, 1, 1);
    out.resize_discard(1);
    const std::size_t late =
        make_event_partials(exec, e.layout(), 1, states, panes, wm, KeyHasher{}, out.view());
    EXPECT_EQ(late, wm >= 15 ? 1u : 0u) << "wm " << wm;
    EXPECT_EQ(out.view().cut[0], wm >= 15 ? kLateCut : 0u) << "wm " << wm;
    EXPECT_EQ(out.view().pane[0], 0);
  }
}

}  // namespace
}  // namespace sluice::test
