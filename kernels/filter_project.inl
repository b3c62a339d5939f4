// Operator template: filter_project, instantiated by filter_project.cpp and filter_project.cu.
#pragma once

#include <thrust/scan.h>

#include "kernels/filter_project.hpp"

namespace sluice::detail {

struct MarkKeptRows {
  InputColumns in;
  ProgramSetView programs;
  ProjectionSpec spec;
  std::size_t n;
  unsigned long long* flags;
  SLUICE_HD void operator()(std::size_t row) const {
    if (row >= n) {
      flags[row] = 0;
      return;
    }
    bool keep = true;
    for (int c = 0; c < spec.filter_count && keep; ++c)
      keep = run_program(programs.code, programs.programs[spec.filter_begin + c], in, row) != 0;
    flags[row] = keep ? 1 : 0;
  }
};

struct WriteKeptOutputs {
  InputColumns in;
  ProgramSetView programs;
  ProjectionSpec spec;
  const unsigned long long* positions;
  std::uint32_t* kept_rows;
  OutputColumns out;
  SLUICE_HD void operator()(std::size_t row) const {
    const unsigned long long at = positions[row];
    if (positions[row + 1] == at) return;
    kept_rows[at] = static_cast<std::uint32_t>(row);
    for (int j = 0; j < spec.outputs_count; ++j) {
      const ProgramRef p = programs.programs[spec.outputs_begin + j];
      store_value(static_cast<unsigned char*>(out.data[j]) + at * value_width(p.result), p.result,
                  run_program(programs.code, p, in, row));
    }
  }
};

template <class Exec>
void filter_project(Exec& exec, const InputColumns& in, std::size_t n, ProgramSetView programs,
                    const ProjectionSpec& spec, std::uint32_t* kept_rows, unsigned long long* kept,
                    unsigned long long* scratch, OutputColumns out) {
  // scratch: n + 1 flags, scanned in place into positions; positions[n] is the count.
  exec.for_each_index(n + 1, MarkKeptRows{in, programs, spec, n, scratch});
  thrust::exclusive_scan(exec.policy(), scratch, scratch + n + 1, scratch);
  if (n > 0) exec.for_each_index(n, WriteKeptOutputs{in, programs, spec, scratch, kept_rows, out});
  exec.copy_within(kept, scratch + n, sizeof(unsigned long long));
}

#define SLUICE_INSTANTIATE_FILTER_PROJECT(Exec)                                                  \
  template void filter_project<Exec>(Exec&, const InputColumns&, std::size_t, ProgramSetView,    \
                                     const ProjectionSpec&, std::uint32_t*, unsigned long long*, \
                                     unsigned long long*, OutputColumns);

}  // namespace sluice::detail
