// Operator templates: partition_partials and unpack_partials.
#pragma once

#include <thrust/scan.h>

#include "kernels/partition.hpp"

namespace sluice::detail {

// Rows are cut into chunks; each chunk counts its rows per destination, one exclusive scan over
// the destination-major counts gives every (destination, chunk) its first output row, and each
// chunk then scatters its rows in order. Stable on both executors without atomics.
inline constexpr std::size_t kPartitionChunk = 512;

SLUICE_HD inline std::size_t partition_rows(const PartialsView& in,
                                            const unsigned long long* count) {
  return count == nullptr ? in.size : static_cast<std::size_t>(*count);
}

struct CountChunkDestinations {
  PartialsView in;
  const unsigned long long* count;
  Partitioner partitioner;
  std::size_t chunks;
  std::uint64_t* counts;  // [parts][chunks]
  SLUICE_HD void operator()(std::size_t c) const {
    const std::size_t n = partition_rows(in, count);
    const std::size_t begin = c * kPartitionChunk;
    const std::size_t end = begin + kPartitionChunk < n ? begin + kPartitionChunk : n;
    for (int d = 0; d < partitioner.parts; ++d) counts[d * chunks + c] = 0;
    for (std::size_t i = begin; i < end; ++i) ++counts[partitioner(in, i) * chunks + c];
  }
};

SLUICE_HD inline void pack_row(const PartialsView& in, std::size_t i, std::uint64_t* row) {
  row[0] = in.hash[i];
  row[1] = static_cast<std::uint64_t>(in.pane[i]);
  row[2] = in.cut[i];
  for (int j = 0; j < in.key_words; ++j) row[3 + j] = in.key(j, i);
  for (int s = 0; s < in.state_words; ++s) row[3 + in.key_words + s] = in.state(s, i);
}

struct ScatterChunk {
  PartialsView in;
  const unsigned long long* count;
  Partitioner partitioner;
  std::size_t chunks;
  std::uint64_t* cursor;  // [parts][chunks], exclusive offsets, advanced in place
  std::uint64_t* out;
  std::size_t width;
  SLUICE_HD void operator()(std::size_t c) const {
    const std::size_t n = partition_rows(in, count);
    const std::size_t begin = c * kPartitionChunk;
    const std::size_t end = begin + kPartitionChunk < n ? begin + kPartitionChunk : n;
    for (std::size_t i = begin; i < end; ++i) {
      const int d = partitioner(in, i);
      const std::uint64_t at = cursor[d * chunks + c]++;
      pack_row(in, i, out + at * width);
    }
  }
};

struct UnpackRow {
  const std::uint64_t* packed;
  std::size_t width;
  PartialsView out;
  SLUICE_HD void operator()(std::size_t i) const {
    const std::uint64_t* row = packed + i * width;
    out.hash[i] = row[0];
    out.pane[i] = static_cast<std::int64_t>(row[1]);
    out.cut[i] = static_cast<std::uint32_t>(row[2]);
    for (int j = 0; j < out.key_words; ++j) out.keys[j * out.stride + i] = row[3 + j];
    for (int s = 0; s < out.state_words; ++s)
      out.states[s * out.stride + i] = row[3 + out.key_words + s];
  }
};

struct GatherDestinationEnds {
  const std::uint64_t* cursor;  // after the scatter: (d, c) holds the start of (d, c + 1)
  std::size_t chunks;
  std::uint64_t* ends;
  SLUICE_HD void operator()(std::size_t d) const { ends[d] = cursor[d * chunks + chunks - 1]; }
};

template <class Exec>
const std::vector<std::size_t>& partition_partials(Exec& exec, PartialsView in,
                                                   const unsigned long long* count,
                                                   const Partitioner& partitioner,
                                                   std::uint64_t* out,
                                                   PartitionScratch<Exec>& scratch) {
  const auto parts = static_cast<std::size_t>(partitioner.parts);
  scratch.sizes.assign(parts, 0);
  if (in.size == 0) return scratch.sizes;
  const std::size_t chunks = (in.size + kPartitionChunk - 1) / kPartitionChunk;
  scratch.counts.resize_discard(parts * chunks + 1);
  scratch.ends.resize_discard(parts);
  std::uint64_t* counts = scratch.counts.data();
  exec.for_each_index(chunks, CountChunkDestinations{in, count, partitioner, chunks, counts});
  exec.fill_bytes(counts + parts * chunks, 0, sizeof(std::uint64_t));
  thrust::exclusive_scan(exec.policy(), counts, counts + parts * chunks + 1, counts);
  exec.for_each_index(chunks, ScatterChunk{in, count, partitioner, chunks, counts, out,
                                           packed_row_words(in.key_words, in.state_words)});
  // Each destination ends where its last chunk's cursor stopped.
  exec.for_each_index(parts, GatherDestinationEnds{counts, chunks, scratch.ends.data()});
  scratch.ends_host.resize(parts);
  exec.copy_to_host(scratch.ends_host.data(), scratch.ends.data(), parts * sizeof(std::uint64_t));
  for (std::size_t d = 0; d < parts; ++d)
    scratch.sizes[d] =
        static_cast<std::size_t>(scratch.ends_host[d] - (d == 0 ? 0 : scratch.ends_host[d - 1]));
  return scratch.sizes;
}

template <class Exec>
void unpack_partials(Exec& exec, const std::uint64_t* packed, std::size_t n, Partials<Exec>& out) {
  out.resize_discard(n);
  exec.for_each_index(
      n, UnpackRow{packed, packed_row_words(out.key_words(), out.state_words()), out.view()});
}

#define SLUICE_INSTANTIATE_PARTITION(Exec)                                                \
  template const std::vector<std::size_t>& partition_partials<Exec>(                      \
      Exec&, PartialsView, const unsigned long long*, const Partitioner&, std::uint64_t*, \
      PartitionScratch<Exec>&);                                                           \
  template void unpack_partials<Exec>(Exec&, const std::uint64_t*, std::size_t, Partials<Exec>&);

}  // namespace sluice::detail
