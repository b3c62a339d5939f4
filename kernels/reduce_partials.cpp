// reduce_partials for the host executor.
#include "kernels/exec/host_exec.hpp"
#include "kernels/reduce_partials.inl"

namespace sluice::detail {
SLUICE_INSTANTIATE_REDUCE_PARTIALS(HostExec)
}  // namespace sluice::detail
