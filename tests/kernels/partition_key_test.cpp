// partition_partials by key: destination = first key word (an integer) mod parts, non-negative.
#include <gtest/gtest.h>

#include <vector>

#include "kernel_test_util.hpp"
#include "kernels/partition.hpp"

namespace sluice::test {
namespace {

TEST(PartitionByKey, DestinationIsKeyModuloPartsAndStable) {
  SLUICE_SEEDED_RNG(rng);
  HostExec exec;
  for (int parts : {1, 3, 4, 7}) {
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{31}, std::size_t{5000}}) {
      SCOPED_TRACE(::testing::Message() << "parts " << parts << " n " << n);
      Partials<HostExec> in(exec, 1, 1);
      in.resize_discard(n);
      PartialsView v = in.view();
      for (std::size_t i = 0; i < n; ++i) {
        const auto key = static_cast<std::int64_t>(rng() % 2001) - 1000;  // negatives too
        v.keys[i] = static_cast<std::uint64_t>(key);
        v.hash[i] = rng();
        v.pane[i] = 0;
        v.cut[i] = 0;
        v.states[i] = i;  // position, to check stability
      }
      detail::Partitioner partitioner;
      partitioner.kind = detail::Partitioner::Kind::key;
      partitioner.parts = parts;
      const std::size_t width = detail::packed_row_words(1, 1);
      std::vector<std::uint64_t> packed(n * width + 1);
      detail::PartitionScratch<HostExec> scratch(exec);
      const std::vector<std::size_t> sizes =
          detail::partition_partials(exec, v, nullptr, partitioner, packed.data(), scratch);
      // Reference: rows of each destination, in input order.
      std::vector<std::vector<std::size_t>> expected(static_cast<std::size_t>(parts));
      for (std::size_t i = 0; i < n; ++i) {
        const auto key = static_cast<std::int64_t>(v.keys[i]);
        const std::int64_t d = ((key % parts) + parts) % parts;
        expected[static_cast<std::size_t>(d)].push_back(i);
      }
      std::size_t row = 0;
      for (int d = 0; d < parts; ++d) {
        ASSERT_EQ(sizes[d], expected[d].size());
        for (std::size_t i : expected[d]) {
          EXPECT_EQ(packed[row * width + 3], v.keys[i]);
          EXPECT_EQ(packed[row * width + 4], i);
          ++row;
        }
      }
    }
  }
}

}  // namespace
}  // namespace sluice::test
