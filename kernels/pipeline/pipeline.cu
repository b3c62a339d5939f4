// WorkerPipeline on the CUDA executor, with its fused fold (kernels/cuda/fused_aggregate.cuh).
#include "kernels/cuda/fused_aggregate.cuh"
#include "kernels/exec/cuda_exec.cuh"
#include "kernels/pipeline/pipeline.inl"

namespace sluice::detail {

std::unique_ptr<WorkerPipeline> make_cuda_pipeline(const PipelinePlan& plan, int device,
                                                   std::size_t memory_limit) {
  return std::make_unique<PipelineImpl<CudaExec>>(plan, device, memory_limit);
}

}  // namespace sluice::detail
