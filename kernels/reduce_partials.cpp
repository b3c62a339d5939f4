// reduce_partials for the host executor.
#include "kernels/reduce_partials.inl"
#include "kernels/exec/host_exec.hpp"

namespace sluice::detail {
SLUICE_INSTANTIATE_REDUCE_PARTIALS(HostExec)
}  // namespace sluice::detail
