// The `sluice` program: dispatches to the run, sql and demo subcommands.
#include <iostream>
#include <span>
#include <string>
#include <string_view>

#include "host/cli/commands.hpp"
#include "host/cli/suggest.hpp"
#include "sluice/engine.hpp"
#include "sluice/ranks.hpp"

namespace sluice::cli {
namespace {

constexpr std::string_view kUsage = R"usage(Usage: sluice COMMAND [options]

Sluice: stream analytics on the GPU or the CPU.

Commands:
  run     run a windowed aggregation over a CSV stream and write the windows as CSV
  sql     run a Flink-style SQL window query (CREATE TABLE ...; SELECT ...) the same way
  serve   run a windowed aggregation over InfluxDB line protocol and JSON lines that clients
          send over HTTP or TCP, with the latest windows and Prometheus metrics on HTTP
  demo    aggregate a generated telemetry stream in memory and print the windows

Run 'sluice COMMAND --help' for the options of a command, 'sluice --version' for the
version and the backends this build has.
)usage";

/// "sluice 0.1.0", then whether the GPU backend and ranks across processes are there.
void print_version() {
  std::string why;
  const bool gpu = sluice::Engine::gpu_available(&why);
  std::cout << "sluice " << SLUICE_VERSION << "\n"
            << "gpu backend: " << (gpu ? std::string("available") : "unavailable (" + why + ")")
            << "\n"
            << "ranks across processes (MPI): "
            << (sluice::Ranks::mpi_available() ? "built" : "not built") << "\n";
}

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
  if (command == "--version" || command == "version") {
    print_version();
    return kExitOk;
  }
  if (command == "run") return run_main(args.subspan(1));
  if (command == "sql") return sql_main(args.subspan(1));
  if (command == "serve") return serve_main(args.subspan(1));
  if (command == "demo") return demo_main(args.subspan(1));
  constexpr std::string_view kCommands[] = {"run", "sql", "serve", "demo", "help", "version"};
  std::cerr << "sluice: unknown command '" << command << "'" << did_you_mean(command, kCommands)
            << "\n"
            << "Try 'sluice --help' for more information.\n";
  return kExitUsage;
}
