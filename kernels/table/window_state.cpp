// WindowState and GroupTable for the host executor.
#include "kernels/table/window_state.inl"
#include "kernels/exec/host_exec.hpp"

namespace sluice::detail {
// The host executor's merge lives in kernels/host/host_merge.cpp.
template <>
void WindowState<HostExec>::merge_rows(const GroupRowLists& lists, std::int64_t fired_wm);

SLUICE_INSTANTIATE_GROUP_TABLE(HostExec)
SLUICE_INSTANTIATE_WINDOW_STATE(HostExec)
}  // namespace sluice::detail
