// End-to-end tests of integer sums at the ends of the i64 range: exact while partial sums leave
// it, a named error when a window's sum does not fit.
#include <gtest/gtest.h>

#include <limits>
#include <map>
#include <random>
#include <tuple>
#include <vector>

#include "api/expect_error.hpp"
#include "harness.hpp"

namespace sluice::e2e {
namespace {

using namespace std::chrono_literals;

__extension__ using int128 = __int128;
constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();

Schema sums_schema() {
  return Schema({{"ts", DataType::timestamp(TimeUnit::ms)},
                 {"k", TypeId::i64},
                 {"v", TypeId::i64},
                 {"small", TypeId::i32}});
}

struct Row {
  std::int64_t ts, k, v;
  std::int32_t small;
};

Query sums_query(std::vector<WindowResult>& out) {
  Query q;
  q.key_by({"k"})
      .event_time("ts", 1s)  // the whole stream is within the delay: nothing is late
      .window(WindowSpec::tumbling(10ms))
      .aggregate({sum(col("v")), sum(col("small")), count()});
  q.sink([&out](std::span<const WindowResult> rows) {
    out.insert(out.end(), rows.begin(), rows.end());
  });
  return q;
}

void push_rows(Job& job, const std::vector<Row>& rows, std::size_t batch) {
  for (std::size_t i = 0; i < rows.size(); i += batch) {
    BatchBuilder b(sums_schema());
    for (std::size_t j = i; j < std::min(rows.size(), i + batch); ++j)
      b.append_row({Value(rows[j].ts), Value(rows[j].k), Value(rows[j].v),
                    Value(std::int64_t{rows[j].small})});
    job.push(b.finish());
  }
}

/// Values near both ends of the range, balanced per (window, key) so each window's sum fits
/// while the partial sums of every order leave the range; and i32 values whose sum needs more
/// than 32 bits.
std::vector<Row> balanced_stream(std::mt19937_64& rng, std::size_t pairs) {
  std::vector<Row> rows;
  for (std::size_t p = 0; p < pairs; ++p) {
    const std::int64_t ts = static_cast<std::int64_t>(rng() % 50);
    const std::int64_t k = static_cast<std::int64_t>(rng() % 3);
    const std::int64_t big = kMax - static_cast<std::int64_t>(rng() % 1000);
    const auto small = static_cast<std::int32_t>(std::numeric_limits<std::int32_t>::max() -
                                                 static_cast<std::int32_t>(rng() % 10));
    rows.push_back({ts, k, big, small});
    // The other half of the pair, in the same window.
    rows.push_back({ts - ts % 10 + static_cast<std::int64_t>(rng() % 10), k,
                    -big + static_cast<std::int64_t>(rng() % 100), small});  // >= -kMax
  }
  std::shuffle(rows.begin(), rows.end(), rng);  // out of order: the watermark is the end
  return rows;
}

TEST(IntegerSums, PartialSumsBeyondTheRangeStayExactWithAnyWorkersAndBatches) {
  std::mt19937_64 rng(11);
  for (std::size_t pairs : {std::size_t{1}, std::size_t{40}, std::size_t{3000}}) {
    const std::vector<Row> rows = balanced_stream(rng, pairs);
    std::map<std::tuple<std::int64_t, std::int64_t>, std::tuple<int128, int128, std::int64_t>> want;
    for (const Row& r : rows) {
      auto& [v, small, n] = want[{r.ts - r.ts % 10, r.k}];
      v += r.v;
      small += r.small;
      ++n;
    }
    for (int workers : {1, 3})
      for (std::size_t batch : {std::size_t{1}, std::size_t{7}, std::size_t{1000}}) {
        SCOPED_TRACE(std::to_string(pairs) + " pairs, " + std::to_string(workers) +
                     " workers, batches of " + std::to_string(batch));
        std::vector<WindowResult> out;
        Engine engine(make_config(workers, batch));
        Job job = engine.start(sums_schema(), sums_query(out));
        ASSERT_NO_THROW({
          push_rows(job, rows, batch);
          job.finish();
        });
        ASSERT_EQ(out.size(), want.size());
        for (const WindowResult& w : out) {
          const auto it = want.find({w.window_start, std::get<std::int64_t>(w.keys[0])});
          ASSERT_NE(it, want.end());
          const auto& [v, small, n] = it->second;
          EXPECT_TRUE(std::get<std::int64_t>(w.values[0]) == v);
          EXPECT_TRUE(std::get<std::int64_t>(w.values[1]) == small);
          EXPECT_EQ(std::get<std::int64_t>(w.values[2]), n);
        }
      }
  }
}

TEST(IntegerSums, ASumBeyondTheRangeIsANamedErrorNotAWrappedValue) {
  for (const auto& [a, b] : {std::pair{kMax, std::int64_t{1}}, std::pair{kMin, std::int64_t{-1}}})
    for (int workers : {1, 2}) {
      SCOPED_TRACE(std::to_string(workers) + " workers, " + std::to_string(a));
      std::vector<WindowResult> out;
      Engine engine(make_config(workers, 100));
      Job job = engine.start(sums_schema(), sums_query(out));
      push_rows(job, {{1, 4, 5, 0}, {21, 7, a, 0}, {22, 7, b, 0}, {23, 8, 9, 0}}, 100);
      const std::string msg =
          test::error_message([&] { job.finish(); }, ErrorCode::arithmetic_overflow);
      EXPECT_TRUE(test::contains(msg, "'sum(v)'")) << msg;
      EXPECT_TRUE(test::contains(msg, "[20, 30)")) << msg;
      EXPECT_TRUE(test::contains(msg, "key (7)")) << msg;
      EXPECT_EQ(job.status().code(), ErrorCode::arithmetic_overflow);
      for (const WindowResult& w : out) EXPECT_NE(w.window_start, 20) << "no wrapped row";
    }
}

}  // namespace
}  // namespace sluice::e2e
