// IngestTarget: bodies parsed into batches of the job's dictionary and pushed.
#include "host/server/ingest_target.hpp"

#include <chrono>
#include <vector>

#include "host/io/line_protocol.hpp"
#include "sluice/status.hpp"

namespace sluice::server {

IngestTarget::IngestTarget(Job& job, IngestSettings settings) : settings_(std::move(settings)) {
  bind(job);
  job_.store(&job, std::memory_order_release);
}

IngestTarget::IngestTarget(JobStarter start, IngestSettings settings)
    : settings_(std::move(settings)), start_(std::move(start)) {
  const Schema time_only({{settings_.time_column, DataType::timestamp(TimeUnit::ns)}});
  probe_points_.emplace(time_only,
                        detail::LineProtocolOptions{.measurement = settings_.measurement,
                                                    .time_column = settings_.time_column,
                                                    .max_line_bytes = settings_.max_line_bytes});
  probe_json_.emplace(time_only,
                      detail::JsonLinesOptions{.max_line_bytes = settings_.max_line_bytes});
}

void IngestTarget::bind(Job& job) {
  // The line-protocol parser checks the time column; made once here so that a bad one fails
  // before the first row rather than at each body.
  detail::LineProtocolOptions check;
  check.time_column = settings_.time_column;
  detail::LineProtocolParser(job.schema(), check);
  json_.emplace(job.schema(), detail::JsonLinesOptions{.max_problems = settings_.max_problems,
                                                       .max_line_bytes = settings_.max_line_bytes});
}

void IngestTarget::count_malformed(std::uint64_t lines) {
  if (Job* job = this->job()) {
    job->count_malformed(lines);
    return;
  }
  std::lock_guard lock(start_mutex_);  // the job may start meanwhile: count where it will see
  if (Job* job = this->job()) {
    job->count_malformed(lines);
  } else {
    malformed_before_start_.fetch_add(lines, std::memory_order_relaxed);
  }
}

Job* IngestTarget::job_for(std::string_view body, detail::TextFormat format,
                           std::uint64_t first_line, detail::LineOutcome& outcome) {
  if (Job* job = this->job()) return job;
  std::lock_guard lock(start_mutex_);
  if (Job* job = this->job()) return job;
  std::string problem;
  Job* job = start_(body, format, problem);
  if (job != nullptr) {
    bind(*job);
    job_.store(job, std::memory_order_release);
    job->count_malformed(malformed_before_start_.exchange(0));
    return job;
  }
  bytes_.fetch_add(body.size(), std::memory_order_relaxed);
  std::vector<detail::PointValueKind> kinds;
  std::vector<detail::JsonValueSeen> values;
  detail::for_each_line(body, first_line, [&](std::string_view line, std::uint64_t number) {
    const std::size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string_view::npos) return;
    std::string malformed;
    if (format == detail::TextFormat::line_protocol) {
      if (line[first] == '#') return;  // a comment
      bool other_measurement = false;
      malformed = probe_points_->value_kinds(line, kinds, other_measurement);
      if (malformed.empty() && other_measurement) return;
    } else {
      malformed = probe_json_->values_of(line, values);
    }
    outcome.reject(number, malformed.empty() ? problem : std::move(malformed),
                   settings_.max_problems);
  });
  malformed_before_start_.fetch_add(outcome.malformed, std::memory_order_relaxed);
  return nullptr;
}

template <class Parse>
detail::LineOutcome IngestTarget::push_rows(Job& job, std::string_view body, Parse&& parse) {
  bytes_.fetch_add(body.size(), std::memory_order_relaxed);
  BatchBuilder builder = job.make_builder();
  detail::LineOutcome outcome = parse(builder);
  if (builder.rows() > 0) job.push(builder.finish());
  if (outcome.malformed > 0) job.count_malformed(outcome.malformed);
  return outcome;
}

detail::LineOutcome IngestTarget::write_line_protocol(std::string_view body, std::int64_t tick_ns,
                                                      std::uint64_t first_line) {
  detail::LineOutcome rejected;
  Job* job = job_for(body, detail::TextFormat::line_protocol, first_line, rejected);
  if (job == nullptr) return rejected;
  const std::int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count();
  const detail::LineProtocolParser parser(job->schema(),
                                          {.measurement = settings_.measurement,
                                           .time_column = settings_.time_column,
                                           .tick_ns = tick_ns,
                                           .now_ns = now_ns,
                                           .max_problems = settings_.max_problems,
                                           .max_line_bytes = settings_.max_line_bytes});
  return push_rows(*job, body,
                   [&](BatchBuilder& builder) { return parser.parse(body, builder, first_line); });
}

detail::LineOutcome IngestTarget::write_json_lines(std::string_view body,
                                                   std::uint64_t first_line) {
  detail::LineOutcome rejected;
  Job* job = job_for(body, detail::TextFormat::json_lines, first_line, rejected);
  if (job == nullptr) return rejected;
  return push_rows(*job, body,
                   [&](BatchBuilder& builder) { return json_->parse(body, builder, first_line); });
}

}  // namespace sluice::server
