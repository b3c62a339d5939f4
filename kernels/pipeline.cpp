// WorkerPipeline on the host executor.
#include "kernels/pipeline.inl"
#include "kernels/exec/host_exec.hpp"
#include "kernels/host/filter_project_vector.hpp"
#include "kernels/host/local_preaggregate.hpp"
#include "sluice/status.hpp"

namespace sluice::detail {

/// The host executor pre-aggregates through per-thread tables (agrees with reduce_partials).
template <>
class Preaggregator<HostExec> {
 public:
  explicit Preaggregator(HostExec& exec) : scratch_(exec) {}
  void operator()(HostExec& exec, PartialsView events, const StateSpec& states,
                  Partials<HostExec>& out) {
    local_preaggregate(exec, events, states, out, scratch_);
  }

 private:
  LocalPreaggregateScratch scratch_;
};

/// The host executor interprets programs a vector of rows at a time (agrees with filter_project).
template <>
class Projector<HostExec> {
 public:
  explicit Projector(HostExec&) {}
  std::size_t operator()(HostExec& exec, const InputColumns& in, std::size_t n,
                         ProgramSetView programs, const ProjectionSpec& spec,
                         std::uint32_t* out_rows, std::uint64_t* out_words,
                         std::size_t out_stride) {
    return filter_project_vector(exec, in, n, programs, spec, out_rows, out_words, out_stride,
                                 scratch_);
  }

 private:
  std::vector<std::uint32_t> scratch_;
};

std::unique_ptr<WorkerPipeline> make_host_pipeline(const PipelinePlan& plan) {
  return std::make_unique<PipelineImpl<HostExec>>(plan);
}

#if !defined(SLUICE_WITH_CUDA)
std::unique_ptr<WorkerPipeline> make_cuda_pipeline(const PipelinePlan&, int, std::size_t) {
  throw Error(ErrorCode::backend_unavailable, "this Sluice was built without the CUDA backend");
}
#endif

}  // namespace sluice::detail
