// CudaExec: stream and memory-pool management, copies and synchronization.
#include "kernels/exec/cuda_exec.cuh"

#include <cstdint>

namespace sluice::detail {

CudaExec::CudaExec(int device) : device_(device) {
  SLUICE_CUDA_TRY(cudaSetDevice(device_));
  SLUICE_CUDA_TRY(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  cudaMemPool_t pool = nullptr;
  SLUICE_CUDA_TRY(cudaDeviceGetDefaultMemPool(&pool, device_));
  std::uint64_t keep_everything = UINT64_MAX;
  SLUICE_CUDA_TRY(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep_everything));
  int sms = 0;
  SLUICE_CUDA_TRY(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device_));
  max_blocks_ = static_cast<std::size_t>(sms) * 32;
  allocator_.stream = stream_;
}

CudaExec::~CudaExec() {
  if (stream_ != nullptr) {
    cudaStreamSynchronize(stream_);
    cudaStreamDestroy(stream_);
  }
}

void* CudaExec::allocate(std::size_t bytes) {
  void* p = nullptr;
  SLUICE_CUDA_TRY(cudaMallocAsync(&p, bytes == 0 ? 1 : bytes, stream_));
  return p;
}
void CudaExec::deallocate(void* p, std::size_t) { SLUICE_CUDA_TRY(cudaFreeAsync(p, stream_)); }
void CudaExec::copy_within(void* dst, const void* src, std::size_t bytes) {
  SLUICE_CUDA_TRY(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream_));
}
void CudaExec::copy_to_host(void* dst, const void* src, std::size_t bytes) {
  SLUICE_CUDA_TRY(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream_));
  SLUICE_CUDA_TRY(cudaStreamSynchronize(stream_));
}
void CudaExec::copy_from_host(void* dst, const void* src, std::size_t bytes) {
  SLUICE_CUDA_TRY(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream_));
}
void CudaExec::fill_bytes(void* dst, int value, std::size_t bytes) {
  SLUICE_CUDA_TRY(cudaMemsetAsync(dst, value, bytes, stream_));
}
void CudaExec::synchronize() { SLUICE_CUDA_TRY(cudaStreamSynchronize(stream_)); }

}  // namespace sluice::detail
