// The sluice subcommands' entry points and the shared reporting of their errors.
#pragma once

#include <span>
#include <string_view>

namespace sluice::cli {

/// Exit statuses of the `sluice` program.
inline constexpr int kExitOk = 0;
inline constexpr int kExitRuntime = 1;  ///< bad input, engine failure, unavailable backend
inline constexpr int kExitUsage = 2;    ///< unknown flag, missing or bad flag value

/// @brief `sluice run ARGS...` (the arguments after "run"). @return the exit status.
int run_main(std::span<char* const> args);
/// @brief `sluice sql ARGS...` (the arguments after "sql"). @return the exit status.
int sql_main(std::span<char* const> args);
/// @brief `sluice serve ARGS...` (the arguments after "serve"). @return the exit status.
int serve_main(std::span<char* const> args);
/// @brief `sluice demo ARGS...` (the arguments after "demo"). @return the exit status.
int demo_main(std::span<char* const> args);

/// @brief Prints "sluice COMMAND: MESSAGE" and a --help hint to stderr. @return kExitUsage.
int report_usage_error(std::string_view command, std::string_view message);
/// @brief Prints "sluice COMMAND: MESSAGE" to stderr. @return kExitRuntime.
int report_runtime_error(std::string_view command, std::string_view message);

}  // namespace sluice::cli
