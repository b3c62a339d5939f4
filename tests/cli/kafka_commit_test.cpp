// The Kafka clients' parts that need no broker: BROKERS/TOPIC and KEY=VALUE parsing, and the
// CommitTracker against a brute-force rule on random chunk streams.
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <map>
#include <random>
#include <vector>

#include "host/kafka/commit_tracker.hpp"
#include "host/kafka/kafka_client.hpp"
#include "host/kafka/kafka_source.hpp"
#include "sluice/status.hpp"

namespace sluice::kafka {
namespace {

constexpr std::int64_t kNoRows = std::numeric_limits<std::int64_t>::min();

TEST(KafkaEndpoint, SplitsBrokersFromTheTopicAtTheLastSlash) {
  const Endpoint e = parse_endpoint("10.0.0.1:9092,10.0.0.2:9092/cpu.metrics_v-2");
  EXPECT_EQ(e.brokers, "10.0.0.1:9092,10.0.0.2:9092");
  EXPECT_EQ(e.topic, "cpu.metrics_v-2");
  EXPECT_EQ(parse_endpoint("[::1]:9092/t").brokers, "[::1]:9092");
}

TEST(KafkaEndpoint, RefusesWhatKafkaWouldWithTheReason) {
  const auto message = [](const char* text) {
    try {
      parse_endpoint(text);
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(message("localhost:9092").find("BROKERS/TOPIC"), std::string::npos);
  EXPECT_NE(message("/topic").find("no brokers"), std::string::npos);
  EXPECT_NE(message("b:1/").find("1 to 249"), std::string::npos);
  EXPECT_NE(message(("b:1/" + std::string(250, 'x')).c_str()).find("1 to 249"), std::string::npos);
  EXPECT_NE(message("b:1/a topic").find("ASCII letters"), std::string::npos);
  EXPECT_NE(message("b:1/ünï").find("ASCII letters"), std::string::npos);
}

TEST(KafkaClientOption, SplitsAtTheFirstEquals) {
  EXPECT_EQ(parse_client_option("sasl.password=a=b"),
            (std::pair<std::string, std::string>{"sasl.password", "a=b"}));
  EXPECT_EQ(parse_client_option("k=").second, "");
  EXPECT_THROW(parse_client_option("novalue"), Error);
  EXPECT_THROW(parse_client_option("=v"), Error);
}

TEST(KafkaValueFormat, NamesTheThree) {
  EXPECT_EQ(parse_value_format("json"), ValueFormat::json);
  EXPECT_EQ(parse_value_format("csv"), ValueFormat::csv);
  EXPECT_EQ(parse_value_format("line"), ValueFormat::line_protocol);
  EXPECT_THROW(parse_value_format("avro"), Error);
}

TEST(CommitTracker, CommitsAPrefixOnceItsWindowsFired) {
  using Moves = std::vector<std::pair<std::int32_t, std::int64_t>>;
  CommitTracker u({CommitRule::Kind::after_horizon, 10});
  u.record(0, 5, 100);   // offsets 0-4, times up to 100: out once the watermark is 110
  u.record(0, 9, 300);   // up to 310
  u.record(0, 12, 150);  // up to 160, but behind the chunk before it
  u.record(1, 3, 50);
  EXPECT_EQ(u.advance(59), Moves{});
  EXPECT_EQ(u.advance(60), (Moves{{1, 3}}));
  EXPECT_EQ(u.advance(109), Moves{});
  EXPECT_EQ(u.advance(200), (Moves{{0, 5}}));  // offsets 9-11 wait for 5-8
  EXPECT_EQ(u.pending_chunks(), 2u);
  EXPECT_EQ(u.advance(310), (Moves{{0, 12}}));
  EXPECT_EQ(u.pending_chunks(), 0u);
  EXPECT_EQ(u.advance(1000), Moves{});
}

TEST(CommitTracker, ChunksWithoutRowsHoldNothingBack) {
  using Moves = std::vector<std::pair<std::int32_t, std::int64_t>>;
  CommitTracker t({CommitRule::Kind::after_horizon, 0});
  t.record(3, 4, kNoRows);  // every message malformed
  EXPECT_EQ(t.advance(kNoRows), (Moves{{3, 4}}));
  t.record(3, 8, 1000);
  t.record(3, 9, kNoRows);  // joins the chunk before it
  EXPECT_EQ(t.pending_chunks(), 1u);
  EXPECT_EQ(t.advance(999), Moves{});
  EXPECT_EQ(t.advance(1000), (Moves{{3, 9}}));
}

TEST(CommitTracker, NearTheTopOfTheRangeAndGlobalWindowsWaitForTheEnd) {
  using Moves = std::vector<std::pair<std::int32_t, std::int64_t>>;
  CommitTracker near({CommitRule::Kind::after_horizon, 1000});
  near.record(0, 1, std::numeric_limits<std::int64_t>::max() - 10);
  EXPECT_EQ(near.advance(std::numeric_limits<std::int64_t>::max()), Moves{});
  EXPECT_EQ(near.drain(), (Moves{{0, 1}}));
  CommitTracker global({CommitRule::Kind::at_end, 0});
  global.record(0, 7, 5);
  global.record(2, 3, kNoRows);
  EXPECT_EQ(global.advance(std::numeric_limits<std::int64_t>::max()), Moves{});
  EXPECT_EQ(global.drain(), (Moves{{0, 7}, {2, 3}}));
  EXPECT_EQ(global.drain(), Moves{});
}

TEST(CommitTracker, ForgetsARevokedPartition) {
  using Moves = std::vector<std::pair<std::int32_t, std::int64_t>>;
  CommitTracker t({CommitRule::Kind::after_horizon, 1});
  t.record(0, 2, 10);
  t.record(1, 2, 10);
  t.forget(0);
  EXPECT_EQ(t.advance(100), (Moves{{1, 2}}));
}

TEST(CommitTracker, NeverCommitsPastAnUnfiredEventOnRandomStreams) {
  // Brute force: the committed offset of a partition is the largest offset o such that every
  // message before o has all its rows' windows fired (time + horizon <= watermark).
  std::mt19937_64 rng(11);
  for (int round = 0; round < 200; ++round) {
    const std::int64_t horizon = static_cast<std::int64_t>(rng() % 50);
    CommitTracker t({CommitRule::Kind::after_horizon, horizon});
    std::map<std::int32_t, std::vector<std::int64_t>> message_times;  // per offset; kNoRows
    std::map<std::int32_t, std::int64_t> committed;
    std::int64_t watermark = kNoRows;
    for (int step = 0; step < 60; ++step) {
      const auto p = static_cast<std::int32_t>(rng() % 3);
      if (rng() % 3 != 0) {
        // A chunk of 1-5 messages, times around the step, some with no rows.
        std::vector<std::int64_t>& times = message_times[p];
        std::int64_t max_time = kNoRows;
        for (std::uint64_t n = 1 + rng() % 5; n > 0; --n) {
          const std::int64_t time =
              rng() % 6 == 0 ? kNoRows : step * 10 + static_cast<std::int64_t>(rng() % 80) - 40;
          times.push_back(time);
          max_time = std::max(max_time, time);
        }
        t.record(p, static_cast<std::int64_t>(times.size()), max_time);
      } else {
        watermark = std::max(watermark, step * 10 - static_cast<std::int64_t>(rng() % 60));
        for (const auto& [partition, offset] : t.advance(watermark)) {
          ASSERT_GT(offset, committed[partition]) << "a commit moves forward";
          committed[partition] = offset;
        }
        for (const auto& [partition, times] : message_times) {
          const std::int64_t at = committed.count(partition) ? committed[partition] : 0;
          for (std::int64_t o = 0; o < at; ++o)
            ASSERT_TRUE(times[o] == kNoRows || times[o] + horizon <= watermark)
                << "partition " << partition << " committed to " << at << " past offset " << o;
        }
      }
    }
    for (const auto& [partition, offset] : t.drain()) {
      EXPECT_EQ(offset, static_cast<std::int64_t>(message_times[partition].size()));
      committed[partition] = offset;
    }
  }
}

}  // namespace
}  // namespace sluice::kafka
