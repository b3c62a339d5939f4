// filter_project for the host executor.
#include "kernels/exec/host_exec.hpp"
#include "kernels/filter_project.inl"

namespace sluice::detail {
SLUICE_INSTANTIATE_FILTER_PROJECT(HostExec)
}  // namespace sluice::detail
