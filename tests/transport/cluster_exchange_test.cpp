// ClusterExchange over in-process ranks: every part reaches its member, in member order, for
// 1-3 ranks of 1-2 workers and parts of 0, 1 and many rows; string codes translated between
// dictionaries; a failure on one rank named on every other; malformed descriptions rejected.
#include "transport/cluster_exchange.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <exception>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "host/engine/string_codes.hpp"
#include "sluice/status.hpp"
#include "transport/thread_ranks.hpp"

namespace sluice::detail {
namespace {

using namespace std::chrono_literals;

constexpr std::uint32_t kRowWords = 4;

/// Runs `body(rank, exchange, member)` for every member of `ranks` x `workers`, each on its own
/// thread, with one ClusterExchange per rank; rethrows the first failure.
template <class Body>
void run_members(int ranks, int workers, Body body, std::chrono::milliseconds timeout = 10s) {
  auto group = std::make_shared<ThreadRankGroup>(ranks, timeout);
  std::vector<std::unique_ptr<ClusterExchange>> exchanges;
  for (int r = 0; r < ranks; ++r)
    exchanges.push_back(
        std::make_unique<ClusterExchange>(std::make_shared<ThreadRanks>(group, r), workers));
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(ranks * workers));
  std::vector<std::thread> threads;
  for (int m = 0; m < ranks * workers; ++m)
    threads.emplace_back([&, m] {
      try {
        body(m / workers, *exchanges[static_cast<std::size_t>(m / workers)], m);
      } catch (...) {
        errors[static_cast<std::size_t>(m)] = std::current_exception();
      }
    });
  for (auto& t : threads) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

/// Row i of the part from `from` to `to` in collective `round`: [from, to, i, round].
std::vector<std::uint64_t> row(int from, int to, std::uint64_t i, int round) {
  return {static_cast<std::uint64_t>(from), static_cast<std::uint64_t>(to), i,
          static_cast<std::uint64_t>(round)};
}

/// The number of rows `from` sends `to` in `round`: 0, 1 or up to 300, from a shared seed.
std::uint64_t part_rows(int from, int to, int round) {
  std::mt19937_64 rng(static_cast<std::uint64_t>(from * 1000 + to * 10 + round) * 7919);
  switch (rng() % 4) {
    case 0:
      return 0;
    case 1:
      return 1;
    default:
      return rng() % 300;
  }
}

class ClusterShapes : public ::testing::TestWithParam<std::tuple<int, int>> {};

TEST_P(ClusterShapes, EveryPartReachesItsMemberInMemberOrder) {
  const auto [ranks, workers] = GetParam();
  const int members = ranks * workers;
  run_members(ranks, workers, [&](int /*rank*/, ClusterExchange& exchange, int me) {
    std::vector<std::uint64_t> outbox;
    std::vector<PartDescriptor> parts(static_cast<std::size_t>(members));
    std::vector<ReceivedPart> received;
    for (int round = 0; round < 5; ++round) {
      // Parts in destination order, but their rows laid out in reverse to test first_row.
      outbox.clear();
      for (int to = members - 1; to >= 0; --to) {
        const std::uint64_t n = part_rows(me, to, round);
        parts[static_cast<std::size_t>(to)] = {outbox.size() / kRowWords, n};
        for (std::uint64_t i = 0; i < n; ++i) {
          const auto r = row(me, to, i, round);
          outbox.insert(outbox.end(), r.begin(), r.end());
        }
      }
      exchange.all_to_all(me, parts, OutboxView{outbox.data(), -1, kRowWords}, received, nullptr);
      int expected_from = 0;
      for (const ReceivedPart& p : received) {
        ASSERT_GE(p.source, expected_from) << "parts out of member order";
        for (; expected_from < p.source; ++expected_from)
          EXPECT_EQ(part_rows(expected_from, me, round), 0u)
              << "missing part from " << expected_from;
        ++expected_from;
        ASSERT_EQ(p.part.rows, part_rows(p.source, me, round)) << "from " << p.source;
        ASSERT_EQ(p.outbox.row_words, kRowWords);
        for (std::uint64_t i = 0; i < p.part.rows; ++i) {
          const std::uint64_t* got = p.outbox.data + (p.part.first_row + i) * kRowWords;
          ASSERT_EQ(std::vector<std::uint64_t>(got, got + kRowWords), row(p.source, me, i, round));
        }
      }
      for (; expected_from < members; ++expected_from)
        EXPECT_EQ(part_rows(expected_from, me, round), 0u) << "missing part from " << expected_from;
      // Every member's value, the minimum everywhere.
      EXPECT_EQ(exchange.all_reduce_min(me, 1000 - me * 7 + round),
                1000 - (members - 1) * 7 + round);
      exchange.barrier(me);
    }
  });
}

INSTANTIATE_TEST_SUITE_P(RanksByWorkers, ClusterShapes,
                         ::testing::Combine(::testing::Values(1, 2, 3), ::testing::Values(1, 2)));

TEST(ClusterExchange, StringCodesAreTranslatedIntoTheReceiversDictionary) {
  // Each rank interns the same strings in its own order, so their codes differ; rows carry
  // [hash, code, 7, 0]; after the exchange a row's code names the same text in the receiver's
  // dictionary, and its hash is recomputed from that code.
  const int ranks = 3;
  const std::vector<std::string> words{"alpha", "beta", "", "gamma-long-enough-to-span-words", "δ"};
  std::vector<DictionaryPtr> dictionaries;
  std::vector<std::unique_ptr<StringCodeSync>> syncs;
  std::vector<std::unique_ptr<StringRowTranslator>> translators;
  for (int r = 0; r < ranks; ++r) {
    auto d = std::make_shared<StringDictionary>();
    d->intern("only-on-rank-" + std::to_string(r));
    for (std::size_t i = 0; i < words.size(); ++i)
      d->intern(words[(i + static_cast<std::size_t>(r) * 2) % words.size()]);
    dictionaries.push_back(d);
    syncs.push_back(std::make_unique<StringCodeSync>(d, ranks));
    translators.push_back(std::make_unique<StringRowTranslator>(
        *syncs.back(), std::vector<std::uint32_t>{1}, true, 1, 1, KeyHasher{}));
  }
  run_members(ranks, 1, [&](int rank, ClusterExchange& exchange, int me) {
    const StringDictionary& mine = *dictionaries[static_cast<std::size_t>(rank)];
    std::vector<std::uint64_t> outbox;
    std::vector<PartDescriptor> parts(ranks);
    std::vector<ReceivedPart> received;
    for (int round = 0; round < 3; ++round) {
      outbox.clear();
      for (int to = 0; to < ranks; ++to) {
        parts[static_cast<std::size_t>(to)] = {outbox.size() / kRowWords, words.size() + 1};
        for (std::size_t i = 0; i <= words.size(); ++i) {
          const std::string text = i < words.size()
                                       ? words[(i + static_cast<std::size_t>(round)) % words.size()]
                                       : "only-on-rank-" + std::to_string(rank);
          const std::uint64_t code = *mine.find(text);
          outbox.insert(outbox.end(), {0xdead, code, 7, 0});
        }
      }
      exchange.all_to_all(me, parts, OutboxView{outbox.data(), -1, kRowWords}, received,
                          translators[static_cast<std::size_t>(rank)].get());
      ASSERT_EQ(received.size(), static_cast<std::size_t>(ranks));
      for (const ReceivedPart& p : received)
        for (std::uint64_t i = 0; i < p.part.rows; ++i) {
          const std::uint64_t* got = p.outbox.data + (p.part.first_row + i) * kRowWords;
          const std::string want = i < words.size()
                                       ? words[(i + static_cast<std::size_t>(round)) % words.size()]
                                       : "only-on-rank-" + std::to_string(p.source);
          EXPECT_EQ(mine.at(static_cast<std::uint32_t>(got[1])), want) << "from rank " << p.source;
          if (p.source != rank) {
            EXPECT_EQ(got[0], KeyHasher{}(got + 1, 1, 1, 0));
          }
          EXPECT_EQ(got[2], 7u);
        }
    }
  });
}

TEST(ClusterExchange, AFailedMemberIsNamedOnEveryRank) {
  for (int failing : {0, 3}) {
    SCOPED_TRACE("member " + std::to_string(failing) + " fails");
    std::vector<std::string> messages(4);
    run_members(2, 2, [&](int /*rank*/, ClusterExchange& exchange, int me) {
      try {
        if (me == failing) {
          exchange.abort(me, "boom");
          return;
        }
        for (int i = 0; i < 3; ++i) exchange.barrier(me);
      } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::peer_failure);
        messages[static_cast<std::size_t>(me)] = e.what();
      }
    });
    for (int m = 0; m < 4; ++m) {
      if (m == failing) continue;
      EXPECT_NE(messages[static_cast<std::size_t>(m)].find("rank " + std::to_string(failing / 2) +
                                                           " failed"),
                std::string::npos)
          << messages[static_cast<std::size_t>(m)];
      EXPECT_NE(messages[static_cast<std::size_t>(m)].find("boom"), std::string::npos);
    }
  }
}

TEST(StringCodeSync, MalformedOrMissingDescriptionsAreErrors) {
  auto d = std::make_shared<StringDictionary>();
  StringCodeSync sync(d, 2);
  const auto expect_peer_failure = [](auto f) {
    try {
      f();
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::peer_failure);
      EXPECT_NE(std::string(e.what()).find("rank 1"), std::string::npos) << e.what();
    }
  };
  std::vector<std::byte> bytes(6);  // shorter than an entry's header
  expect_peer_failure([&] { sync.learn(1, bytes); });
  std::vector<std::byte> long_text(8);
  const std::uint32_t code = 3, length = 1000;  // longer than what follows
  std::memcpy(long_text.data(), &code, 4);
  std::memcpy(long_text.data() + 4, &length, 4);
  expect_peer_failure([&] { sync.learn(1, long_text); });
  expect_peer_failure([&] { (void)sync.local(1, 12); });
  // A good description, then its code resolves; a code only told once is told once.
  std::vector<std::byte> out;
  auto other = std::make_shared<StringDictionary>();
  other->intern("x");
  StringCodeSync teller(other, 2);
  teller.describe(1, 0, out);
  const std::size_t once = out.size();
  teller.describe(1, 0, out);
  EXPECT_EQ(out.size(), once);
  sync.learn(1, out);
  EXPECT_EQ(d->at(sync.local(1, 0)), "x");
}

TEST(TextHash, EqualTextsHashEqualAndDifferentOnesApart) {
  EXPECT_EQ(text_hash("host-17"), text_hash(std::string("host-17")));
  EXPECT_NE(text_hash("host-17"), text_hash("host-71"));
  EXPECT_NE(text_hash(""), text_hash(std::string_view("\0", 1)));
  EXPECT_NE(text_hash("abcdefgh"), text_hash(std::string_view("abcdefgh\0", 9)));
}

}  // namespace
}  // namespace sluice::detail
