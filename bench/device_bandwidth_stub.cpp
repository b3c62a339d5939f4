// measure_device_bandwidth for builds without the CUDA backend: reports it unavailable.
#include "bench/bandwidth.hpp"

namespace sluice::bench {

DeviceBandwidth measure_device_bandwidth(std::size_t bytes, int /*repetitions*/) {
  DeviceBandwidth out;
  out.bytes = bytes;
  out.why = "sluice-bench was built without the CUDA backend";
  return out;
}

}  // namespace sluice::bench
