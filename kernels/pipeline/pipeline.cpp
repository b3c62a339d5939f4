// WorkerPipeline on the host executor, with the host's stages (kernels/host/).
#include <omp.h>

#include "kernels/host/host_round.hpp"
#include "kernels/pipeline/pipeline.inl"
#include "sluice/status.hpp"

namespace sluice::detail {

/// The host merge runs one thread per partition: as many partitions as threads.
template <>
int state_partitions(const HostExec&) {
  int p = 1;
  while (p < omp_get_max_threads() && p < kMaxStatePartitions) p *= 2;
  return p;
}

std::unique_ptr<WorkerPipeline> make_host_pipeline(const PipelinePlan& plan) {
  return std::make_unique<PipelineImpl<HostExec>>(plan);
}

#if !defined(SLUICE_WITH_CUDA)
std::unique_ptr<WorkerPipeline> make_cuda_pipeline(const PipelinePlan&, int, std::size_t) {
  throw Error(ErrorCode::backend_unavailable, "this Sluice was built without the CUDA backend");
}
#endif

}  // namespace sluice::detail
