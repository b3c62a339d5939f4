// Projector: a stateless query's filter and outputs for one batch, brought to host memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/exec/buffer.hpp"
#include "kernels/filter_project.hpp"
#include "kernels/pipeline/plan.hpp"
#include "kernels/pipeline/worker_pipeline.hpp"

namespace sluice::detail {

/// @brief Runs filter_project (the portable operator) on the executor and copies the kept rows
/// and output columns to the host. Stateless queries synchronize once per batch here: the kept
/// count decides how much to copy.
template <class Exec>
class Projector {
 public:
  Projector(Exec& exec, const PipelinePlan& plan)
      : exec_(&exec), plan_(plan), rows_(exec), scratch_(exec), count_(exec, 1) {
    for (int j = 0; j < plan.outputs_count; ++j) columns_.emplace_back(exec);
    spec_.filter_begin = plan.filter_begin;
    spec_.filter_count = plan.filter_count;
    spec_.outputs_begin = plan.outputs_begin;
    spec_.outputs_count = plan.outputs_count;
  }

  const ProjectedView& operator()(const InputColumns& in, std::size_t n, ProgramSetView programs,
                                  std::vector<std::uint32_t>& kept) {
    rows_.resize_discard(n);
    scratch_.resize_discard(n + 1);
    OutputColumns out;
    for (int j = 0; j < spec_.outputs_count; ++j) {
      const VType t = plan_.programs[static_cast<std::size_t>(spec_.outputs_begin + j)].result;
      columns_[static_cast<std::size_t>(j)].resize_discard(n * value_width(t));
      out.data[j] = columns_[static_cast<std::size_t>(j)].data();
    }
    filter_project(*exec_, in, n, programs, spec_, rows_.data(), count_.data(), scratch_.data(),
                   out);
    const auto m = static_cast<std::size_t>(exec_->read(count_.data()));
    kept.resize(m);
    exec_->copy_to_host(kept.data(), rows_.data(), m * sizeof(std::uint32_t));
    host_columns_.resize(static_cast<std::size_t>(spec_.outputs_count));
    view_.columns.resize(host_columns_.size());
    for (int j = 0; j < spec_.outputs_count; ++j) {
      const VType t = plan_.programs[static_cast<std::size_t>(spec_.outputs_begin + j)].result;
      std::vector<std::byte>& h = host_columns_[static_cast<std::size_t>(j)];
      h.resize(m * value_width(t) + 1);
      exec_->copy_to_host(h.data(), columns_[static_cast<std::size_t>(j)].data(),
                          m * value_width(t));
      view_.columns[static_cast<std::size_t>(j)] = h.data();
    }
    view_.rows = m;
    return view_;
  }

 private:
  Exec* exec_;
  const PipelinePlan& plan_;
  ProjectionSpec spec_;
  Buffer<std::uint32_t, Exec> rows_;
  Buffer<unsigned long long, Exec> scratch_;
  Buffer<unsigned long long, Exec> count_;
  std::vector<Buffer<std::byte, Exec>> columns_;
  std::vector<std::vector<std::byte>> host_columns_;
  ProjectedView view_;
};

}  // namespace sluice::detail
