// The host executor's round stages: fused aggregation, exchange of row lists, projection.
#include "kernels/host/host_round.hpp"

#include <omp.h>

#include <algorithm>
#include <cstring>

#include "kernels/host/vector_program.hpp"
#include "kernels/ops/hash.hpp"
#include "sluice/status.hpp"

namespace sluice::detail {

RoundGroups<HostExec>::RoundGroups(HostExec& /*exec*/, const PipelinePlan& plan,
                                   ProgramSetView programs, WindowState<HostExec>& state)
    : plan_(plan),
      state_(&state),
      aggregator_(plan.aggregation, programs, plan.input_types, state.partitions(), 8192,
                  plan.time_column) {}

void RoundGroups<HostExec>::begin_round(std::size_t max_rows, std::size_t batches) {
  aggregator_.clear();
  outcomes_.clear();
  outcomes_.reserve(batches);
  late_rows_.clear();
  late_rows_.reserve(max_rows);
  received_ = false;
}

void RoundGroups<HostExec>::aggregate(const BatchView& batch, const InputColumns& /*columns*/,
                                      std::int64_t wm_before) {
  Outcome o;
  o.late_first = late_rows_.size();
  o.kept = aggregator_.add_batch(batch, wm_before, late_rows_);
  o.late = late_rows_.size() - o.late_first;
  outcomes_.push_back(o);
}

namespace {

constexpr std::uint32_t kCombined = 0x80000000u;
/// A round whose combined rows were more than this share of the rows it tried found too few
/// duplicates to pay for the table: the next kCombineRest rounds send their rows as they are.
constexpr double kCombineWorthIt = 0.8;
constexpr int kCombineRest = 16;

}  // namespace

std::span<const PartDescriptor> RoundGroups<HostExec>::pack(const Partitioner& partitioner,
                                                            const PackOptions& options) {
  const GroupRowLists lists = aggregator_.lists();
  const auto width = static_cast<std::size_t>(aggregator_.row_words());
  const auto owners = static_cast<std::size_t>(partitioner.parts);
  const int key_words = plan_.aggregation.key_words;
  const std::uint32_t string_mask = plan_.aggregation.string_key_mask;
  const std::span<const std::uint64_t> string_hashes = options.string_hashes;
  const bool by_text =
      !string_hashes.empty() && string_mask != 0 && partitioner.kind == Partitioner::Kind::hash;
  // A row of the lists is a packed partial row: [hash, pane, cut, keys, states].
  const auto owner_of = [&](const std::uint64_t* row) {
    PartialsView v;
    v.size = 1;
    v.stride = 1;
    v.key_words = key_words;
    v.hash = const_cast<std::uint64_t*>(row);
    v.keys = const_cast<std::uint64_t*>(row + 3);
    std::uint64_t text_hash = 0;
    if (by_text) {
      // The key hash with each string code replaced by the hash of its text.
      text_hash = kKeyHashSeed;
      for (int j = 0; j < key_words; ++j) {
        std::uint64_t w = row[3 + j];
        if ((string_mask >> j) & 1U) {
          if (w >= string_hashes.size())
            throw Error(ErrorCode::internal, "string code " + std::to_string(w) +
                                                 " beyond the dictionary's " +
                                                 std::to_string(string_hashes.size()));
          w = string_hashes[w];
        }
        text_hash = hash_combine(text_hash, w);
      }
      text_hash &= plan_.aggregation.hasher.mask;
      v.hash = &text_hash;
    }
    return static_cast<std::uint32_t>(partitioner(v, 0));
  };
  const int lists_count = lists.producers * lists.partitions;
  std::size_t total = 0;
  for (int l = 0; l < lists_count; ++l) total += lists.rows[l];
  parts_.assign(owners, PartDescriptor{});
  owners_.resize(total);
  combined_.clear();
  combined_owner_.clear();
  bool combining = !options.combine.empty() && combine_rest_ == 0;
  if (combine_rest_ > 0) --combine_rest_;
  if (combining) {
    std::size_t slots = 64;
    while (slots < 2 * total) slots *= 2;
    slots_.assign(slots, 0);
  }
  const std::size_t mask = slots_.size() - 1;
  const std::size_t key_end = 3 + static_cast<std::size_t>(key_words);
  const StateSpec& states = plan_.aggregation.states;
  std::size_t tried = 0;
  std::size_t i = 0;
  for (int l = 0; l < lists_count; ++l)
    for (std::size_t r = 0; r < lists.rows[l]; ++r, ++i) {
      const std::uint64_t* row = lists.data[l] + r * width;
      const std::uint32_t owner = owner_of(row);
      if (!combining || !options.combine[owner]) {
        owners_[i] = owner;
        ++parts_[owner].rows;
        continue;
      }
      owners_[i] = owner | kCombined;
      ++tried;
      const auto pane = static_cast<std::int64_t>(row[1]);
      std::size_t s = group_hash(row[0], pane, static_cast<std::uint32_t>(row[2])) & mask;
      for (;; s = (s + 1) & mask) {
        const std::uint32_t at = slots_[s];
        if (at == 0) {
          slots_[s] = static_cast<std::uint32_t>(combined_owner_.size() + 1);
          combined_.insert(combined_.end(), row, row + width);
          combined_owner_.push_back(owner);
          ++parts_[owner].rows;
          break;
        }
        std::uint64_t* mine = combined_.data() + (at - 1) * width;
        if (mine[0] == row[0] && std::equal(row + 1, row + key_end, mine + 1)) {
          combine_states(
              states, [&](int k) -> std::uint64_t& { return mine[key_end + k]; },
              [&](int k) { return row[key_end + k]; });
          break;
        }
      }
    }
  if (combining &&
      static_cast<double>(combined_owner_.size()) > kCombineWorthIt * static_cast<double>(tried))
    combine_rest_ = kCombineRest;
  std::uint64_t first = 0;
  for (std::size_t d = 0; d < owners; ++d) {
    parts_[d].first_row = first;
    first += parts_[d].rows;
  }
  outbox_.resize(first * width);
  cursor_.resize(owners);
  for (std::size_t d = 0; d < owners; ++d) cursor_[d] = parts_[d].first_row;
  i = 0;
  for (int l = 0; l < lists_count; ++l)
    for (std::size_t r = 0; r < lists.rows[l]; ++r, ++i) {
      if (owners_[i] & kCombined) continue;
      std::memcpy(outbox_.data() + cursor_[owners_[i]]++ * width, lists.data[l] + r * width,
                  width * sizeof(std::uint64_t));
    }
  for (std::size_t c = 0; c < combined_owner_.size(); ++c)
    std::memcpy(outbox_.data() + cursor_[combined_owner_[c]]++ * width,
                combined_.data() + c * width, width * sizeof(std::uint64_t));
  return parts_;
}

OutboxView RoundGroups<HostExec>::outbox() const {
  return OutboxView{outbox_.data(), -1, static_cast<std::uint32_t>(aggregator_.row_words())};
}

void RoundGroups<HostExec>::unpack(std::span<const ReceivedPart> parts) {
  const auto width = static_cast<std::size_t>(aggregator_.row_words());
  received_ = true;
  received_data_.clear();
  received_rows_.clear();
  received_lists_ = GroupRowLists{};
  for (const ReceivedPart& p : parts) {
    const std::uint64_t* rows = p.outbox.data + p.part.first_row * width;
    received_data_.push_back(rows);
    received_rows_.push_back(p.part.rows);
    for (std::size_t i = 0; i < p.part.rows; ++i) {
      const auto pane = static_cast<std::int64_t>(rows[i * width + 1]);
      received_lists_.first_pane = std::min(received_lists_.first_pane, pane);
      received_lists_.last_pane = std::max(received_lists_.last_pane, pane);
    }
  }
  received_lists_.data = received_data_.data();
  received_lists_.rows = received_rows_.data();
  received_lists_.producers = static_cast<int>(received_data_.size());
  received_lists_.partitions = 1;
}

BatchOutcome RoundGroups<HostExec>::outcome(std::size_t i) {
  const Outcome& o = outcomes_.at(i);
  BatchOutcome r;
  r.kept = o.kept;
  r.late = o.late;
  r.late_rows = std::span<const std::uint32_t>(late_rows_.data() + o.late_first, o.late);
  return r;
}

void RoundGroups<HostExec>::merge(std::int64_t fired_wm) {
  state_->merge_rows(received_ ? received_lists_ : aggregator_.lists(), fired_wm);
}

Projector<HostExec>::Projector(HostExec& /*exec*/, const PipelinePlan& plan) : plan_(plan) {
  columns_.resize(static_cast<std::size_t>(plan.outputs_count));
}

const ProjectedView& Projector<HostExec>::operator()(const BatchView& batch,
                                                     ProgramSetView programs,
                                                     std::vector<std::uint32_t>& kept) {
  const std::size_t n = batch.rows;
  kept.resize(n);
  // Blocks of kVectorRows rows within slices: [slice, first row in it, logical first row].
  std::vector<ProjectionBlock>& blocks = blocks_;
  blocks.clear();
  std::size_t logical = 0;
  for (int s = 0; s < batch.num_slices; ++s) {
    for (std::size_t f = 0; f < batch.slices[s].rows; f += kVectorRows)
      blocks.push_back({s, f, std::min(kVectorRows, batch.slices[s].rows - f), logical + f});
    logical += batch.slices[s].rows;
  }
  block_counts_.assign(blocks.size() + 1, 0);
  const auto input_columns = [&](int s) {
    InputColumns in;
    in.lookups = host_lookups(batch);
    in.count = static_cast<int>(plan_.input_types.size());
    for (int c = 0; c < in.count; ++c) {
      in.data[c] = batch.slices[s].columns[c];
      in.type[c] = plan_.input_types[static_cast<std::size_t>(c)];
    }
    return in;
  };
  const auto count = static_cast<std::int64_t>(blocks.size());
  for (int j = 0; j < plan_.outputs_count; ++j) {
    const VType t = plan_.programs[static_cast<std::size_t>(plan_.outputs_begin + j)].result;
    columns_[static_cast<std::size_t>(j)].resize(n * value_width(t) + 1);
  }
  // Run by each thread of the team, or by the calling thread alone (HostExec::team_helps).
  const auto project_share = [&] {
    thread_local VectorStack stack;
    std::uint32_t sel[kVectorRows];
#pragma omp for schedule(static)
    for (std::int64_t b = 0; b < count; ++b) {
      const ProjectionBlock& blk = blocks[static_cast<std::size_t>(b)];
      const InputColumns in = input_columns(blk.slice);
      std::size_t m = blk.rows;
      for (std::size_t i = 0; i < m; ++i) sel[i] = static_cast<std::uint32_t>(blk.first + i);
      for (int c = 0; c < plan_.filter_count && m > 0; ++c) {
        const ValueVector& v = run_program_vector(
            programs.code, programs.programs[plan_.filter_begin + c], in, 0, sel, m, stack);
        const std::uint8_t* keep = v.as<std::uint8_t>();
        std::size_t k = 0;
        for (std::size_t i = 0; i < m; ++i) {
          sel[k] = sel[i];
          k += keep[i] != 0 ? 1 : 0;
        }
        m = k;
      }
      for (std::size_t i = 0; i < m; ++i)
        kept[blk.logical + i] = static_cast<std::uint32_t>(blk.logical - blk.first + sel[i]);
      block_counts_[static_cast<std::size_t>(b)] = static_cast<std::uint32_t>(m);
    }
#pragma omp single
    {
      std::uint32_t total = 0;
      for (std::int64_t b = 0; b <= count; ++b) {
        const std::uint32_t c = b < count ? block_counts_[static_cast<std::size_t>(b)] : 0;
        block_counts_[static_cast<std::size_t>(b)] = total;
        total += c;
      }
    }
#pragma omp for schedule(static)
    for (std::int64_t b = 0; b < count; ++b) {
      const ProjectionBlock& blk = blocks[static_cast<std::size_t>(b)];
      const InputColumns in = input_columns(blk.slice);
      const std::size_t at = block_counts_[static_cast<std::size_t>(b)];
      const std::size_t m = block_counts_[static_cast<std::size_t>(b) + 1] - at;
      for (std::size_t i = 0; i < m; ++i)
        sel[i] = static_cast<std::uint32_t>(kept[blk.logical + i] - (blk.logical - blk.first));
      for (int j = 0; j < plan_.outputs_count && m > 0; ++j) {
        const ProgramRef p = programs.programs[plan_.outputs_begin + j];
        const ValueVector& v = run_program_vector(programs.code, p, in, 0, sel, m, stack);
        const std::size_t w = value_width(p.result);
        std::memcpy(columns_[static_cast<std::size_t>(j)].data() + at * w, v.bytes, m * w);
      }
    }
  };
  if (HostExec::team_helps(static_cast<std::int64_t>(n))) {
#pragma omp parallel
    project_share();
  } else {
    project_share();
  }
  // The kept rows, compacted (each block's rows lie at its logical start).
  std::size_t total = 0;
  for (std::size_t b = 0; b < blocks.size(); ++b) {
    const std::size_t m = block_counts_[b + 1] - block_counts_[b];
    std::memmove(kept.data() + total, kept.data() + blocks[b].logical, m * sizeof(std::uint32_t));
    total += m;
  }
  kept.resize(total);
  view_.rows = total;
  view_.columns.resize(columns_.size());
  for (std::size_t j = 0; j < columns_.size(); ++j) view_.columns[j] = columns_[j].data();
  return view_;
}

}  // namespace sluice::detail
