// event_partials for the host executor.
#include "kernels/exec/host_exec.hpp"
#include "kernels/event_partials.inl"

namespace sluice::detail {
SLUICE_INSTANTIATE_EVENT_PARTIALS(HostExec)
}  // namespace sluice::detail
