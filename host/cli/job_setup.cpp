// The job set-up and reporting that the sluice subcommands share.
#include "host/cli/job_setup.hpp"

#include <iostream>

#include "host/cli/cli_options.hpp"

namespace sluice::cli {

bool is_usage_error(ErrorCode code) {
  return code == ErrorCode::invalid_argument || code == ErrorCode::unknown_column ||
         code == ErrorCode::type_mismatch || code == ErrorCode::parse_error;
}

Engine make_engine(const EngineConfig& config) {
  try {
    return Engine(config);
  } catch (const Error& e) {
    if (is_usage_error(e.code())) throw UsageError(e.what());
    throw;
  }
}

Outputs::Outputs(const RunOptions& options)
    : windows(output_columns(options), options.style, options.updates) {
  if (!options.update_output.empty())
    updates.emplace(output_columns(options), options.style, UpdateRows::only);
  if (!options.late_output.empty()) late.emplace(options.style);
  if (options.kafka_sink) kafka = std::make_unique<KafkaOutput>(options);
}

void Outputs::stop() {
  windows.stop();
  if (updates) updates->stop();
  if (late) late->stop();
  if (recent) recent->stop();
  if (kafka) kafka->stop();
}

Job start_job(const Engine& engine, const RunOptions& options, Outputs& outputs,
              const std::vector<Batch>& broadcast_rows) {
  try {
    Query query = make_query(
        options,
        [&outputs](const Batch& windows) {
          outputs.windows.write(windows);
          if (outputs.updates) outputs.updates->write(windows);
          if (outputs.recent) outputs.recent->write(windows);
          if (outputs.kafka) outputs.kafka->write(windows);
        },
        broadcast_rows);
    if (outputs.late) query.late_sink([&outputs](const Batch& rows) { outputs.late->write(rows); });
    return options.resume ? engine.resume(options.schema, query)
                          : engine.start(options.schema, query);
  } catch (const Error& e) {
    if (is_usage_error(e.code())) throw UsageError(e.what());
    throw;
  }
}

void print_summary(const std::string& who, const Engine& engine, const Metrics& m, bool verbose) {
  if (m.events_unrepresentable > 0)
    std::cerr << who << ": skipped " << m.events_unrepresentable << " row"
              << (m.events_unrepresentable == 1 ? "" : "s")
              << " whose event time lies too near the ends of the 64-bit range for the window "
                 "(counted as malformed)\n";
  const std::size_t workers = m.batches_per_worker.empty()
                                  ? static_cast<std::size_t>(engine.config().workers)
                                  : m.batches_per_worker.size();
  std::cerr << who << ": events=" << m.events_in << " filtered=" << m.events_filtered
            << " late=" << m.events_late << " malformed=" << m.events_malformed
            << " windows=" << m.windows_fired
            << " events/s=" << static_cast<std::uint64_t>(m.events_per_second)
            << " backend=" << to_string(engine.backend()) << " workers=" << workers;
  if (engine.ranks().size() > 1)
    std::cerr << " ranks=" << engine.ranks().size() << " (" << engine.ranks().transport_name()
              << ')';
  std::cerr << '\n';
  if (verbose)
    std::cerr << who << ": batches=" << m.batches << " updates=" << m.window_updates
              << " state_groups=" << m.state_groups << " state_bytes=" << m.state_bytes
              << " dictionary_strings=" << m.dictionary_strings
              << " strings_reclaimed=" << m.strings_reclaimed << " checkpoints=" << m.checkpoints
              << " checkpoint_bytes=" << m.checkpoint_bytes
              << " exchange_bytes=" << m.exchange_bytes << " seconds=" << m.elapsed_seconds << '\n';
}

}  // namespace sluice::cli
