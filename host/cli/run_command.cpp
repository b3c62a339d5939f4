// `sluice run`: streams a CSV file through a windowed query and writes the windows as CSV.
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "host/cli/cli_options.hpp"
#include "host/cli/commands.hpp"
#include "host/cli/result_writer.hpp"
#include "host/cli/run_options.hpp"
#include "host/io/csv_reader.hpp"
#include "sluice/engine.hpp"
#include "sluice/status.hpp"

namespace sluice::cli {
namespace {

// Errors in what the user asked for, as opposed to failures while running it.
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

Job start_job(const Engine& engine, const RunOptions& options, ResultWriter& writer) {
  try {
    return engine.start(options.schema, make_query(options, [&writer](const Batch& windows) {
                          writer.write(windows);
                        }));
  } catch (const Error& e) {
    if (is_usage_error(e.code())) throw UsageError(e.what());
    throw;
  }
}

std::istream& open_input(const std::string& path, std::ifstream& file) {
  if (path == "-") return std::cin;
  file.open(path, std::ios::in | std::ios::binary);
  if (!file) {
    throw Error(ErrorCode::io_error, "cannot open input '" + path + "': " + std::strerror(errno));
  }
  return file;
}

/// The header: window_start, window_end, the keys and the aggregates as written.
std::vector<std::string> header_of(const RunOptions& options) {
  std::vector<std::string> names{"window_start", "window_end"};
  for (const std::string& key : options.keys) names.push_back(key);
  for (const AggregateSpec& spec : options.aggregates) names.push_back(spec.name);
  return names;
}

// Pushes the reader's batches as they are parsed: they own their typed columns, coded with the
// job's dictionary, so the job reads them in place while the next block is parsed.
void stream_input(detail::CsvReader& reader, Job& job) {
  Batch batch;
  while (reader.next(batch))
    if (batch.rows() > 0) job.push(batch);
}

// The job's dictionary (its string columns share one): what the reader codes strings with.
DictionaryPtr job_dictionary(const Job& job, const Schema& schema) {
  const BatchBuilder builder = job.make_builder();
  for (std::size_t c = 0; c < schema.size(); ++c)
    if (schema.field(c).type.id == TypeId::string) return builder.dictionary(c);
  return nullptr;
}

void print_summary(const Engine& engine, const Metrics& m, std::uint64_t malformed) {
  const std::size_t workers = m.batches_per_worker.empty()
                                  ? static_cast<std::size_t>(engine.config().workers)
                                  : m.batches_per_worker.size();
  std::cerr << "sluice run: events=" << m.events_in << " filtered=" << m.events_filtered
            << " late=" << m.events_late << " malformed=" << malformed
            << " windows=" << m.windows_fired
            << " events/s=" << static_cast<std::uint64_t>(m.events_per_second)
            << " backend=" << to_string(engine.backend()) << " workers=" << workers << '\n';
}

int execute(const RunOptions& options) {
  const Engine engine = make_engine(options.engine);
  ResultWriter writer(header_of(options));
  Job job = start_job(engine, options, writer);
  try {
    std::ifstream file;
    std::istream& in = open_input(options.input, file);
    detail::CsvReader reader(in, options.input == "-" ? "stdin" : options.input, options.schema,
                             job_dictionary(job, options.schema),
                             {.on_malformed = options.on_error});
    writer.open(options.output);
    writer.write_header();
    stream_input(reader, job);
    job.finish();
    writer.close();
    print_summary(engine, job.metrics(), reader.malformed());
  } catch (...) {
    writer.stop();  // the job's destructor flushes windows of a failed run; drop them
    throw;
  }
  return kExitOk;
}

}  // namespace

int run_main(std::span<char* const> args) {
  RunOptions options;
  try {
    options = parse_run_options(args);
  } catch (const UsageError& e) {
    return report_usage_error("run", e.what());
  }
  if (options.help) {
    std::cout << run_usage();
    return kExitOk;
  }
  try {
    return execute(options);
  } catch (const UsageError& e) {
    return report_usage_error("run", e.what());
  } catch (const std::exception& e) {
    return report_runtime_error("run", e.what());
  }
}

}  // namespace sluice::cli
