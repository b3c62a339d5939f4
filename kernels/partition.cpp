// partition for the host executor.
#include "kernels/partition.inl"
#include "kernels/exec/host_exec.hpp"

namespace sluice::detail {
SLUICE_INSTANTIATE_PARTITION(HostExec)
}  // namespace sluice::detail
