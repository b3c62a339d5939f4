// cuda_probe for builds without the CUDA backend.
#include "host/cuda_probe.hpp"

#if !defined(SLUICE_WITH_CUDA)
namespace sluice::detail {

bool cuda_device_available(std::string* why) {
  if (why != nullptr) *why = "this Sluice was built without the CUDA backend";
  return false;
}
int cuda_device_count() { return 0; }

}  // namespace sluice::detail
#endif
