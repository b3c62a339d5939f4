// Host fast path of the tumbling fire: blocks of output rows, each walking the spans in order
// instead of searching every row's (EmitTumblingRows' portable form).
#include "kernels/exec/host_exec.hpp"
#include "kernels/table/window_state.inl"

namespace sluice::detail {
namespace {

/// Block b emits rows [b * kRows, (b + 1) * kRows) of `rows`.
struct EmitTumblingBlock {
  static constexpr std::size_t kRows = 4096;
  EmitTumblingRows rows;
  unsigned long long total;
  void operator()(std::size_t b) const {
    const unsigned long long begin = b * kRows;
    const unsigned long long end = begin + kRows < total ? begin + kRows : total;
    std::uint32_t s = find_span(rows.spans, rows.num_spans, begin);
    for (unsigned long long i = begin; i < end; ++i) {
      while (s + 1 < rows.num_spans && rows.spans[s + 1].first <= i) ++s;
      rows.emit(rows.spans[s], i);
    }
  }
};

}  // namespace

template <>
void emit_tumbling(HostExec& exec, const EmitTumblingRows& rows, unsigned long long total) {
  exec.for_each_block((total + EmitTumblingBlock::kRows - 1) / EmitTumblingBlock::kRows,
                      EmitTumblingBlock{rows, total});
}

}  // namespace sluice::detail
