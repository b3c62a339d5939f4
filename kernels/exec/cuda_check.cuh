// SLUICE_CUDA_TRY and launch checks: every CUDA call turned into a sluice::Error naming it.
#pragma once

#include <cuda_runtime_api.h>

#include <string>

#include "sluice/status.hpp"

namespace sluice::detail {

[[noreturn]] inline void throw_cuda_error(cudaError_t err, const char* call, const char* file,
                                          int line) {
  cudaGetLastError();  // clears a non-sticky error, so later checks do not report it again
  const ErrorCode code =
      err == cudaErrorMemoryAllocation ? ErrorCode::out_of_memory : ErrorCode::device_error;
  throw Error(code, std::string(call) + " failed: " + cudaGetErrorName(err) + " (" +
                        cudaGetErrorString(err) + ") at " + file + ":" + std::to_string(line));
}

}  // namespace sluice::detail

/// Checks a CUDA runtime call; throws sluice::Error naming the call, file and line.
#define SLUICE_CUDA_TRY(call)                                                     \
  do {                                                                            \
    const cudaError_t sluice_err_ = (call);                                       \
    if (sluice_err_ != cudaSuccess)                                               \
      ::sluice::detail::throw_cuda_error(sluice_err_, #call, __FILE__, __LINE__); \
  } while (0)

/// Checks the most recent kernel launch; the error names the kernel (`what`).
#define SLUICE_CHECK_LAUNCH(what)                                                             \
  do {                                                                                        \
    const cudaError_t sluice_err_ = cudaGetLastError();                                       \
    if (sluice_err_ != cudaSuccess)                                                           \
      ::sluice::detail::throw_cuda_error(sluice_err_, "launch of " what, __FILE__, __LINE__); \
  } while (0)
