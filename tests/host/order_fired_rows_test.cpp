// order_fired_rows (host/engine/emitter.hpp): the order of a stable sort by (window, keys), for
// rows whose columns pack into one sort word and for rows whose columns do not.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

#include "host/engine/emitter.hpp"
#include "kernels/ops/key_word.hpp"

namespace sluice::detail {
namespace {

struct Rows {
  std::vector<std::int64_t> window;
  std::vector<std::uint64_t> keys;  // [column][n]
  std::vector<std::uint8_t> update;
  FiredView view() const {
    FiredView v;
    v.size = window.size();
    v.stride = window.size();
    v.window = window.data();
    v.keys = keys.data();
    v.update = update.data();
    return v;
  }
};

/// The reference order: std::stable_sort by window, then each key by its value.
std::vector<std::uint32_t> reference(const Rows& rows, const std::vector<Sem>& sems) {
  const std::size_t n = rows.window.size();
  std::vector<std::uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  const auto key = [&](std::size_t c, std::uint32_t r) { return rows.keys[c * n + r]; };
  std::stable_sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
    if (rows.window[a] != rows.window[b]) return rows.window[a] < rows.window[b];
    for (std::size_t c = 0; c < sems.size(); ++c) {
      const std::uint64_t x = key(c, a), y = key(c, b);
      if (x == y) continue;
      switch (sems[c]) {
        case Sem::integer:
          return static_cast<std::int64_t>(x) < static_cast<std::int64_t>(y);
        case Sem::floating:
          return bits_double(x) < bits_double(y);
        default:
          return x < y;
      }
    }
    return false;
  });
  return order;
}

TEST(OrderFiredRows, StableSortByWindowThenKeys) {
  std::mt19937_64 rng(11);
  struct Shape {
    std::vector<Sem> sems;
    std::uint64_t key_range;  // 0: any 64-bit word (the columns do not pack)
    std::int64_t windows;
  };
  const Shape shapes[] = {
      {{Sem::string}, 100000, 3},             // packs: a few windows, codes
      {{Sem::integer, Sem::string}, 50, 40},  // packs: two keys, negative integers
      {{Sem::integer}, 0, 5},                 // does not pack: full-range integers
      {{Sem::floating, Sem::integer}, 0, 2},  // does not pack: doubles
      {{}, 0, 1000},                          // no keys
  };
  OrderScratch scratch;
  std::vector<std::uint32_t> order;
  for (const Shape& s : shapes) {
    for (std::size_t n : {0u, 1u, 2u, 63u, 64u, 65u, 1000u, 70001u}) {
      SCOPED_TRACE(std::to_string(s.sems.size()) + " keys, " + std::to_string(n) + " rows");
      Rows rows;
      for (std::size_t r = 0; r < n; ++r) {
        rows.window.push_back(
            static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(s.windows)) -
            s.windows / 2);
        rows.update.push_back(0);
      }
      for (std::size_t c = 0; c < s.sems.size(); ++c)
        for (std::size_t r = 0; r < n; ++r) {
          std::uint64_t w = rng();
          if (s.sems[c] == Sem::floating)
            w = double_bits(std::uniform_real_distribution<double>(-1e6, 1e6)(rng));
          else if (s.key_range > 0)
            w = s.sems[c] == Sem::integer
                    ? static_cast<std::uint64_t>(static_cast<std::int64_t>(w % s.key_range) - 25)
                    : w % s.key_range;
          rows.keys.push_back(w);
        }
      order_fired_rows(rows.view(), s.sems, order, scratch);
      ASSERT_EQ(order, reference(rows, s.sems));
    }
  }
}

}  // namespace
}  // namespace sluice::detail
