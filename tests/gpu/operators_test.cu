// The exchange-side operators on CudaExec against HostExec and the reference: partition_partials
// (every partitioner; the packed outbox complete when it returns), unpack_partials, and the
// group table's fold of received partials.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <tuple>
#include <vector>

#include "gpu_test_util.hpp"
#include "kernels/partials_reference.hpp"
#include "kernels/partition.hpp"
#include "kernels/partition_reference.hpp"
#include "kernels/table/group_table.hpp"

namespace sluice::test {
namespace {

using detail::packed_row_words;
using detail::Partitioner;
using detail::PartitionScratch;

struct Packed {
  std::vector<std::size_t> sizes;
  std::vector<std::uint64_t> words;
  HostRows unpacked;
};

/// Packs `rows` on `exec` into a poisoned outbox, reads it back at once (no synchronization
/// after partition_partials returns: the outbox must already be complete), and unpacks it.
template <class Exec>
Packed pack_on(Exec& exec, const HostRows& rows, const Partitioner& p,
               PartitionScratch<Exec>& scratch) {
  Partials<Exec> in(exec, rows.key_words, rows.state_words);
  upload_rows(exec, rows, in);
  const std::size_t width = packed_row_words(rows.key_words, rows.state_words);
  auto outbox = poisoned_buffer<std::uint64_t>(exec, rows.size() * width + 1);
  Packed out;
  out.sizes = detail::partition_partials(exec, in.view(), nullptr, p, outbox.data(), scratch);
  // A copy on another stream, not ordered after the partitioning kernels by the stream: what a
  // peer's copy sees.
  out.words.resize(rows.size() * width + 1);
  exec.copy_to_host_on(detail::Lane::copy_out, out.words.data(), outbox.data(),
                       out.words.size() * sizeof(std::uint64_t));
  exec.synchronize();
  typename Exec::Event done;
  exec.record(done, detail::Lane::copy_out);
  exec.wait_host(done);
  Partials<Exec> back(exec, rows.key_words, rows.state_words);
  detail::unpack_partials(exec, outbox.data(), rows.size(), back);
  out.unpacked = download_rows(exec, back.view());
  return out;
}

class PartitionGpu : public GpuTestWithParam<RowsParams> {};

/// The same sizes and packed words as HostExec (the packing is stable and deterministic), rows
/// at the reference destination in input order, the poisoned word past the end untouched, and
/// unpacking restores the packed order.
TEST_P(PartitionGpu, EveryPartitionerMatchesTheHostAndTheReference) {
  SLUICE_GPU_RNG(rng);
  DevExec exec;
  HostExec host;
  RowsParams rp = GetParam();
  rp.rows = test_size(rp.rows, std::min<std::size_t>(rp.rows, 20011));
  const HostRows rows = random_rows(rp, rng);
  PartitionScratch<DevExec> scratch(exec);
  PartitionScratch<HostExec> host_scratch(host);
  for (PartKind kind :
       {PartKind::hash1, PartKind::hash3, PartKind::hash8, PartKind::key7, PartKind::range_i64}) {
    SCOPED_TRACE(to_string(kind));
    const Partitioner p = make_partitioner(kind);
    const Packed got = pack_on(exec, rows, p, scratch);
    const Packed want = pack_on(host, rows, p, host_scratch);
    ASSERT_EQ(got.sizes, want.sizes);
    EXPECT_EQ(got.words.back(), poison_value<std::uint64_t>()) << "written past the outbox";
    EXPECT_EQ(got.words, want.words);
    std::vector<std::size_t> per(static_cast<std::size_t>(p.parts), 0);
    for (std::size_t i = 0; i < rows.size(); ++i)
      ++per[static_cast<std::size_t>(ref_destination(kind, p, rows, i))];
    EXPECT_EQ(got.sizes, per);
    ASSERT_EQ(got.unpacked.size(), rows.size());
    EXPECT_EQ(got.unpacked.hash, want.unpacked.hash);
    EXPECT_EQ(got.unpacked.keys, want.unpacked.keys);
    EXPECT_EQ(got.unpacked.states, want.unpacked.states);
  }
}

INSTANTIATE_TEST_SUITE_P(SizesKeysAndSkew, PartitionGpu,
                         ::testing::Values(RowsParams{0, 1, KeyDist::uniform, 1},
                                           RowsParams{1, 1, KeyDist::uniform, 1},
                                           RowsParams{511, 40, KeyDist::uniform, 2},
                                           RowsParams{513, 3, KeyDist::hot90, 1},
                                           RowsParams{200003, 100000, KeyDist::zipf, 1}));

class GroupTableGpu : public GpuTestWithParam<RowsParams> {};

/// Received partials (repeats of a group from several senders, some late) fold into one row per
/// group: the reference's groups, float sums within their rounding.
TEST_P(GroupTableGpu, PartialsFoldIntoUniqueGroups) {
  SLUICE_GPU_RNG(rng);
  DevExec exec;
  RowsParams rp = GetParam();
  rp.rows = test_size(rp.rows, std::min<std::size_t>(rp.rows, 20011));
  const HostRows rows = random_rows(rp, rng);
  const detail::StateSpec spec = make_states(kAllOps);
  Partials<DevExec> in(exec, rp.key_words, rows.state_words);
  upload_rows(exec, rows, in);
  detail::GroupTable<DevExec> table(exec, rp.key_words, spec);
  table.reserve(rows.size());
  table.add_partials(in.view(), nullptr);
  Partials<DevExec> out(exec, rp.key_words, rows.state_words);
  out.resize_discard(table.row_capacity());
  poison_partials(exec, out.view());
  auto count = poisoned_buffer<unsigned long long>(exec, 1);
  table.compact(out, count.data());
  PartialsView v = out.view();
  v.size = static_cast<std::size_t>(download(exec, count.data(), 1)[0]);
  const HostRows got_rows = download_rows(exec, v);
  using GroupKey3 = std::tuple<Key, std::int64_t, std::uint32_t>;
  std::map<GroupKey3, std::vector<std::uint64_t>> want, got;
  std::map<GroupKey3, double> magnitude;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (rows.cut[i] == kLateCut) continue;
    const GroupKey3 k{rows.key(i), rows.pane[i], rows.cut[i]};
    std::vector<std::uint64_t>& acc = want[k];
    if (acc.empty())
      for (StateOp op : kAllOps) acc.push_back(ref_init(op));
    for (std::size_t s = 0; s < kAllOps.size(); ++s) {
      acc[s] = ref_merge(kAllOps[s], acc[s], rows.state(i, static_cast<int>(s)));
      if (kAllOps[s] == StateOp::sum_f64)
        magnitude[k] += std::fabs(bitsd(rows.state(i, static_cast<int>(s))));
    }
  }
  for (std::size_t i = 0; i < got_rows.size(); ++i) {
    const GroupKey3 k{got_rows.key(i), got_rows.pane[i], got_rows.cut[i]};
    EXPECT_TRUE(got.count(k) == 0) << "group twice";
    for (int s = 0; s < got_rows.state_words; ++s) got[k].push_back(got_rows.state(i, s));
  }
  ASSERT_EQ(got.size(), want.size());
  for (const auto& [k, states] : want) {
    const auto it = got.find(k);
    ASSERT_NE(it, got.end());
    for (std::size_t s = 0; s < kAllOps.size(); ++s)
      ASSERT_TRUE(state_close(kAllOps[s], it->second[s], states[s], magnitude[k])) << "state " << s;
  }
}

INSTANTIATE_TEST_SUITE_P(SizesKeysAndSkew, GroupTableGpu,
                         ::testing::Values(RowsParams{0, 1, KeyDist::uniform, 1},
                                           RowsParams{1, 1, KeyDist::uniform, 1},
                                           RowsParams{1000, 10, KeyDist::zipf, 2},
                                           RowsParams{50000, 20000, KeyDist::uniform, 1},
                                           RowsParams{3000, 200, KeyDist::hot90, 2, 0x7}));

}  // namespace
}  // namespace sluice::test
