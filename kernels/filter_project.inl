// Operator template: filter_project, instantiated by filter_project.cpp and filter_project.cu.
#pragma once

#include <thrust/copy.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/sequence.h>

#include "kernels/filter_project.hpp"

namespace sluice::detail {

struct RowPassesFilter {
  InputColumns in;
  ProgramSetView programs;
  int filter;
  SLUICE_HD bool operator()(std::uint32_t row) const {
    return run_program(programs.code, programs.programs[filter], in, row) != 0;
  }
};

struct EvaluateOutputs {
  InputColumns in;
  ProgramSetView programs;
  ProjectionSpec spec;
  const std::uint32_t* rows;
  std::uint64_t* out;
  std::size_t stride;
  SLUICE_HD void operator()(std::size_t i) const {
    const std::uint32_t row = rows[i];
    for (int j = 0; j < spec.num_outputs; ++j) {
      const ProgramRef program = programs.programs[spec.first_output + j];
      std::uint64_t word = run_program(programs.code, program, in, row);
      if (j >= spec.key_begin && j < spec.key_end && program.kind == ValueKind::f64)
        word = float_key_word(bits_double(word));
      out[j * stride + i] = word;
    }
  }
};

template <class Exec>
std::size_t filter_project(Exec& exec, const InputColumns& in, std::size_t n,
                           ProgramSetView programs, const ProjectionSpec& spec,
                           std::uint32_t* out_rows, std::uint64_t* out_words,
                           std::size_t out_stride) {
  if (n == 0) return 0;
  std::size_t kept = n;
  const thrust::counting_iterator<std::uint32_t> first(0);
  if (spec.filter >= 0) {
    std::uint32_t* last = thrust::copy_if(exec.policy(), first, first + n, out_rows,
                                          RowPassesFilter{in, programs, spec.filter});
    kept = static_cast<std::size_t>(last - out_rows);
  } else {
    thrust::sequence(exec.policy(), out_rows, out_rows + n);
  }
  exec.for_each_index(kept, EvaluateOutputs{in, programs, spec, out_rows, out_words, out_stride});
  return kept;
}

#define SLUICE_INSTANTIATE_FILTER_PROJECT(Exec)                                                    \
  template std::size_t filter_project<Exec>(Exec&, const InputColumns&, std::size_t,               \
                                            ProgramSetView, const ProjectionSpec&, std::uint32_t*, \
                                            std::uint64_t*, std::size_t);

}  // namespace sluice::detail
