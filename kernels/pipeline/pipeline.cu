// WorkerPipeline on the CUDA executor, with its CUDA fast paths.
#include "kernels/cuda/hash_preaggregate.cuh"
#include "kernels/exec/cuda_exec.cuh"
#include "kernels/pipeline.inl"

namespace sluice::detail {

/// The CUDA executor pre-aggregates through hash tables in shared and global memory (agrees
/// with reduce_partials; kernels/cuda/hash_preaggregate.cuh).
template <>
class Preaggregator<CudaExec> {
 public:
  explicit Preaggregator(CudaExec& exec) : impl_(exec) {}
  void operator()(CudaExec& exec, PartialsView events, const StateSpec& states,
                  Partials<CudaExec>& out) {
    impl_(exec, events, states, out);
  }

 private:
  CudaPreaggregator impl_;
};

std::unique_ptr<WorkerPipeline> make_cuda_pipeline(const PipelinePlan& plan, int device,
                                                   std::size_t memory_limit) {
  return std::make_unique<PipelineImpl<CudaExec>>(plan, device, memory_limit);
}

}  // namespace sluice::detail
