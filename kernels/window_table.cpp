// window_table for the host executor.
#include "kernels/exec/host_exec.hpp"
#include "kernels/window_table.inl"

namespace sluice::detail {
template class WindowTable<HostExec>;
}  // namespace sluice::detail
