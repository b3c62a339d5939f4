// sluice-bench state: the memory the window state takes per live (key, pane) group.
#pragma once

#include <string_view>
#include <vector>

namespace sluice::bench {

/// @brief Runs `sluice-bench state [options]` (args after the workload name); returns the exit
/// status. Prints its usage for -h/--help.
int run_state_command(const std::vector<std::string_view>& args);

}  // namespace sluice::bench
