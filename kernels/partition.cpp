// partition for the host executor.
#include "kernels/exec/host_exec.hpp"
#include "kernels/partition.inl"

namespace sluice::detail {
SLUICE_INSTANTIATE_PARTITION(HostExec)
}  // namespace sluice::detail
