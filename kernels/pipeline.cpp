// WorkerPipeline on the host executor.
#include "kernels/exec/host_exec.hpp"
#include "kernels/pipeline.inl"
#include "sluice/status.hpp"

namespace sluice::detail {

std::unique_ptr<WorkerPipeline> make_host_pipeline(const PipelinePlan& plan) {
  return std::make_unique<PipelineImpl<HostExec>>(plan);
}

#if !defined(SLUICE_WITH_CUDA)
std::unique_ptr<WorkerPipeline> make_cuda_pipeline(const PipelinePlan&, int) {
  throw Error(ErrorCode::backend_unavailable, "this Sluice was built without the CUDA backend");
}
#endif

}  // namespace sluice::detail
