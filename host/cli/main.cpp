// The `sluice` program: dispatches to the run and demo subcommands.
#include <iostream>
#include <span>
#include <string_view>

#include "host/cli/commands.hpp"

namespace sluice::cli {
namespace {

constexpr std::string_view kUsage = R"usage(Usage: sluice COMMAND [options]

Sluice: stream analytics on the GPU or the CPU.

Commands:
  run     run a windowed aggregation over a CSV stream and write the windows as CSV
  demo    aggregate a generated telemetry stream in memory and print the windows

Run 'sluice COMMAND --help' for the options of a command.
)usage";

}  // namespace

int report_usage_error(std::string_view command, std::string_view message) {
  std::cerr << "sluice " << command << ": " << message << "\n"
            << "Try 'sluice " << command << " --help' for more information.\n";
  return kExitUsage;
}

int report_runtime_error(std::string_view command, std::string_view message) {
  std::cerr << "sluice " << command << ": " << message << "\n";
  return kExitRuntime;
}

}  // namespace sluice::cli

int main(int argc, char** argv) {
  using namespace sluice::cli;
  std::ios::sync_with_stdio(false);
  const std::span<char* const> args(argv + 1, argc > 0 ? argc - 1 : 0);
  if (args.empty()) {
    std::cerr << kUsage;
    return kExitUsage;
  }
  const std::string_view command = args[0];
  if (command == "--help" || command == "-h" || command == "help") {
    std::cout << kUsage;
    return kExitOk;
  }
  if (command == "run") return run_main(args.subspan(1));
  if (command == "demo") return demo_main(args.subspan(1));
  std::cerr << "sluice: unknown command '" << command << "'\n"
            << "Try 'sluice --help' for more information.\n";
  return kExitUsage;
}
