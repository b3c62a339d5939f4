// event_partials for the host executor.
#include "kernels/event_partials.inl"
#include "kernels/exec/host_exec.hpp"

namespace sluice::detail {
SLUICE_INSTANTIATE_EVENT_PARTIALS(HostExec)
}  // namespace sluice::detail
