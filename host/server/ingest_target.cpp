// IngestTarget: bodies parsed into batches of the job's dictionary and pushed.
#include "host/server/ingest_target.hpp"

#include <chrono>

#include "host/io/line_protocol.hpp"
#include "sluice/status.hpp"

namespace sluice::server {

IngestTarget::IngestTarget(Job& job, IngestSettings settings)
    : job_(job),
      settings_(std::move(settings)),
      json_(job.schema(), detail::JsonLinesOptions{.max_problems = settings_.max_problems,
                                                   .max_line_bytes = settings_.max_line_bytes}) {
  // The line-protocol parser checks the time column; made once here so that a bad one fails
  // at start rather than at the first request.
  detail::LineProtocolOptions check;
  check.time_column = settings_.time_column;
  detail::LineProtocolParser(job.schema(), check);
}

template <class Parse>
detail::LineOutcome IngestTarget::push_rows(std::string_view body, Parse&& parse) {
  bytes_.fetch_add(body.size(), std::memory_order_relaxed);
  BatchBuilder builder = job_.make_builder();
  detail::LineOutcome outcome = parse(builder);
  if (builder.rows() > 0) job_.push(builder.finish());
  if (outcome.malformed > 0) job_.count_malformed(outcome.malformed);
  return outcome;
}

detail::LineOutcome IngestTarget::write_line_protocol(std::string_view body, std::int64_t tick_ns,
                                                      std::uint64_t first_line) {
  const std::int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count();
  const detail::LineProtocolParser parser(job_.schema(),
                                          {.measurement = settings_.measurement,
                                           .time_column = settings_.time_column,
                                           .tick_ns = tick_ns,
                                           .now_ns = now_ns,
                                           .max_problems = settings_.max_problems,
                                           .max_line_bytes = settings_.max_line_bytes});
  return push_rows(body,
                   [&](BatchBuilder& builder) { return parser.parse(body, builder, first_line); });
}

detail::LineOutcome IngestTarget::write_json_lines(std::string_view body,
                                                   std::uint64_t first_line) {
  return push_rows(body,
                   [&](BatchBuilder& builder) { return json_.parse(body, builder, first_line); });
}

}  // namespace sluice::server
