// Vectorized filter + projection on the host: filter per block, compact, evaluate outputs.
#include "kernels/host/filter_project_vector.hpp"

#include <omp.h>

#include "kernels/host/vector_program.hpp"

namespace sluice::detail {

std::size_t filter_project_vector(HostExec& /*exec*/, const InputColumns& in, std::size_t n,
                                  ProgramSetView programs, const ProjectionSpec& spec,
                                  std::uint32_t* out_rows, std::uint64_t* out_words,
                                  std::size_t out_stride, std::vector<std::uint32_t>& scratch) {
  if (n == 0) return 0;
  const std::size_t blocks = (n + kVectorRows - 1) / kVectorRows;
  // scratch: [0, n) selected rows of each block at the block's own start; [n, n + blocks]
  // the blocks' counts, scanned into offsets.
  scratch.resize(n + blocks + 1);
  std::uint32_t* selected = scratch.data();
  std::uint32_t* offsets = scratch.data() + n;
  const auto count = static_cast<std::int64_t>(blocks);
  const bool parallel = n > static_cast<std::size_t>(HostExec::kSerialBelow);
#pragma omp parallel if (parallel)
  {
    thread_local VectorStack stack;
    std::uint64_t result[kVectorRows];
#pragma omp for schedule(static)
    for (std::int64_t b = 0; b < count; ++b) {
      const std::size_t first = static_cast<std::size_t>(b) * kVectorRows;
      const std::size_t rows = first + kVectorRows < n ? kVectorRows : n - first;
      std::size_t kept = 0;
      if (spec.filter >= 0) {
        run_program_vector(programs.code, programs.programs[spec.filter], in, first, nullptr, rows,
                           stack, result);
        for (std::size_t i = 0; i < rows; ++i) {
          selected[first + kept] = static_cast<std::uint32_t>(first + i);
          kept += result[i] != 0 ? 1 : 0;
        }
      } else {
        for (std::size_t i = 0; i < rows; ++i)
          selected[first + i] = static_cast<std::uint32_t>(first + i);
        kept = rows;
      }
      offsets[b] = static_cast<std::uint32_t>(kept);
    }
#pragma omp single
    {
      std::uint32_t total = 0;
      for (std::int64_t b = 0; b <= count; ++b) {
        const std::uint32_t c = b < count ? offsets[b] : 0;
        offsets[b] = total;
        total += c;
      }
    }
#pragma omp for schedule(static)
    for (std::int64_t b = 0; b < count; ++b) {
      const std::size_t first = static_cast<std::size_t>(b) * kVectorRows;
      const std::size_t at = offsets[b];
      const std::size_t kept = offsets[b + 1] - at;
      for (std::size_t i = 0; i < kept; ++i) out_rows[at + i] = selected[first + i];
      for (int j = 0; j < spec.num_outputs; ++j) {
        const ProgramRef program = programs.programs[spec.first_output + j];
        std::uint64_t* out = out_words + static_cast<std::size_t>(j) * out_stride + at;
        run_program_vector(programs.code, program, in, 0, out_rows + at, kept, stack, out);
        if (j >= spec.key_begin && j < spec.key_end && program.kind == ValueKind::f64)
          for (std::size_t i = 0; i < kept; ++i) out[i] = float_key_word(bits_double(out[i]));
      }
    }
  }
  return offsets[count];
}

}  // namespace sluice::detail
