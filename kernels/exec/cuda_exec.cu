// CudaExec: streams, the memory pool, copies, events and synchronization.
#include "kernels/exec/cuda_exec.cuh"

#include <cstdint>

namespace sluice::detail {

CudaEvent::~CudaEvent() {
  if (event_ != nullptr) cudaEventDestroy(event_);
}

void CudaEvent::record(cudaStream_t stream) {
  if (event_ == nullptr) SLUICE_CUDA_TRY(cudaEventCreateWithFlags(&event_, cudaEventDisableTiming));
  SLUICE_CUDA_TRY(cudaEventRecord(event_, stream));
}

CudaExec::CudaExec(int device, std::size_t memory_limit) : device_(device) {
  SLUICE_CUDA_TRY(cudaSetDevice(device_));
  SLUICE_CUDA_TRY(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  SLUICE_CUDA_TRY(cudaStreamCreateWithFlags(&copy_in_, cudaStreamNonBlocking));
  SLUICE_CUDA_TRY(cudaStreamCreateWithFlags(&copy_out_, cudaStreamNonBlocking));
  cudaMemPoolProps props{};
  props.allocType = cudaMemAllocationTypePinned;
  props.handleTypes = cudaMemHandleTypeNone;
  props.location.type = cudaMemLocationTypeDevice;
  props.location.id = device_;
  props.maxSize = memory_limit;
  SLUICE_CUDA_TRY(cudaMemPoolCreate(&pool_, &props));
  // Freed memory stays in the pool: steady-state allocations are served without the driver.
  std::uint64_t keep_everything = UINT64_MAX;
  SLUICE_CUDA_TRY(
      cudaMemPoolSetAttribute(pool_, cudaMemPoolAttrReleaseThreshold, &keep_everything));
  SLUICE_CUDA_TRY(
      cudaDeviceGetAttribute(&multiprocessors_, cudaDevAttrMultiProcessorCount, device_));
  max_blocks_ = static_cast<std::size_t>(multiprocessors_) * 32;
  allocator_.stream = stream_;
  allocator_.pool = pool_;
  // Direct copies between this device and the others that allow it (partials exchanged between
  // workers): this device reads their memory, and they read this pool's. Peer access to a
  // device does not extend to its stream-ordered pools; each pool grants it separately, or
  // copies of pool memory are staged through the host.
  int devices = 0;
  SLUICE_CUDA_TRY(cudaGetDeviceCount(&devices));
  for (int peer = 0; peer < devices; ++peer) {
    if (peer == device_) continue;
    int peer_reads_here = 0;
    SLUICE_CUDA_TRY(cudaDeviceCanAccessPeer(&peer_reads_here, peer, device_));
    if (peer_reads_here != 0) {
      cudaMemAccessDesc access{};
      access.location.type = cudaMemLocationTypeDevice;
      access.location.id = peer;
      access.flags = cudaMemAccessFlagsProtReadWrite;
      SLUICE_CUDA_TRY(cudaMemPoolSetAccess(pool_, &access, 1));
    }
    int reads_peer = 0;
    SLUICE_CUDA_TRY(cudaDeviceCanAccessPeer(&reads_peer, device_, peer));
    if (reads_peer == 0) continue;
    const cudaError_t err = cudaDeviceEnablePeerAccess(peer, 0);
    if (err == cudaErrorPeerAccessAlreadyEnabled)
      cudaGetLastError();
    else
      SLUICE_CUDA_TRY(err);
  }
}

CudaExec::~CudaExec() {
  // Errors cannot be reported from a destructor; the job has already reported the first one.
  cudaSetDevice(device_);
  for (cudaStream_t s : {stream_, copy_in_, copy_out_}) {
    if (s == nullptr) continue;
    cudaStreamSynchronize(s);
    cudaStreamDestroy(s);
  }
  // Allocations still outstanding (owned by members destroyed later) keep the pool alive
  // until they are freed.
  if (pool_ != nullptr) cudaMemPoolDestroy(pool_);
}

void* CudaExec::allocate(std::size_t bytes) {
  void* p = nullptr;
  SLUICE_CUDA_TRY(cudaMallocFromPoolAsync(&p, bytes == 0 ? 1 : bytes, pool_, stream_));
  return p;
}
// Frees run in destructors, also while an error unwinds: they never throw. A failed free leaves
// the memory to the pool, which is destroyed with the executor.
void CudaExec::deallocate(void* p, std::size_t) noexcept {
  if (p != nullptr && cudaFreeAsync(p, stream_) != cudaSuccess) cudaGetLastError();
}
void CudaExec::copy_within(void* dst, const void* src, std::size_t bytes) {
  if (bytes == 0) return;
  SLUICE_CUDA_TRY(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream_));
}
void CudaExec::copy_to_host(void* dst, const void* src, std::size_t bytes) {
  if (bytes > 0) SLUICE_CUDA_TRY(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream_));
  SLUICE_CUDA_TRY(cudaStreamSynchronize(stream_));
}
void CudaExec::copy_from_host(void* dst, const void* src, std::size_t bytes) {
  if (bytes == 0) return;
  SLUICE_CUDA_TRY(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream_));
}
void CudaExec::fill_bytes(void* dst, int value, std::size_t bytes) {
  if (bytes == 0) return;
  SLUICE_CUDA_TRY(cudaMemsetAsync(dst, value, bytes, stream_));
}
void CudaExec::synchronize() { SLUICE_CUDA_TRY(cudaStreamSynchronize(stream_)); }
void CudaExec::quiesce() noexcept {
  for (cudaStream_t s : {stream_, copy_in_, copy_out_})
    if (s != nullptr && cudaStreamSynchronize(s) != cudaSuccess) cudaGetLastError();
}

void CudaExec::wait(Lane lane, const Event& event) {
  if (event.get() != nullptr) SLUICE_CUDA_TRY(cudaStreamWaitEvent(stream(lane), event.get(), 0));
}
void CudaExec::wait_host(const Event& event) {
  if (event.get() != nullptr) SLUICE_CUDA_TRY(cudaEventSynchronize(event.get()));
}
void CudaExec::copy_from_host_on(Lane lane, void* dst, const void* src, std::size_t bytes) {
  if (bytes == 0) return;
  SLUICE_CUDA_TRY(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream(lane)));
}
void CudaExec::copy_to_host_on(Lane lane, void* dst, const void* src, std::size_t bytes) {
  if (bytes == 0) return;
  SLUICE_CUDA_TRY(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream(lane)));
}
void CudaExec::copy_from_peer(void* dst, const void* src, int src_device, std::size_t bytes) {
  if (bytes == 0) return;
  SLUICE_CUDA_TRY(cudaMemcpyPeerAsync(dst, device_, src, src_device, bytes, stream_));
}
void* CudaExec::allocate_host(std::size_t bytes) {
  void* p = nullptr;
  SLUICE_CUDA_TRY(cudaHostAlloc(&p, bytes == 0 ? 1 : bytes, cudaHostAllocPortable));
  return p;
}
void CudaExec::deallocate_host(void* p, std::size_t) noexcept {
  if (p != nullptr && cudaFreeHost(p) != cudaSuccess) cudaGetLastError();
}

}  // namespace sluice::detail
