// Fuzz target: the first byte picks a parser (schema, type, duration, window, aggregates,
// trigger), the rest is its text. What parses is printed and parsed again where the API
// promises a round trip, and windows, aggregates and triggers are compiled into a query.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "host/query_compiler.hpp"
#include "sluice/aggregate.hpp"
#include "sluice/duration.hpp"
#include "sluice/query.hpp"
#include "sluice/schema.hpp"
#include "sluice/status.hpp"
#include "sluice/trigger.hpp"
#include "sluice/types.hpp"
#include "sluice/window.hpp"

namespace {

const sluice::Schema& event_schema() {
  static const sluice::Schema schema =
      sluice::parse_schema("ts:timestamp[ms],host:string,cpu:f32,status:i32,n:i64");
  return schema;
}

/// Compiles a windowed query with these parts; bad combinations are sluice::Errors.
void compile(const sluice::WindowSpec* window, const std::vector<sluice::AggregateSpec>* aggregates,
             const sluice::TriggerSpec* trigger) {
  try {
    sluice::Query query;
    query.key_by({"host"}).event_time("ts", sluice::Duration(std::chrono::seconds(1)));
    query.window(window != nullptr ? *window
                                   : sluice::WindowSpec::tumbling(std::chrono::seconds(10)));
    query.aggregate(aggregates != nullptr ? *aggregates
                                          : std::vector<sluice::AggregateSpec>{sluice::count()});
    if (trigger != nullptr) query.trigger(*trigger);
    query.sink(sluice::BatchSink([](const sluice::Batch&) {}));
    sluice::StringDictionary dictionary;
    sluice::detail::compile_query(event_schema(), query, dictionary, 2, sluice::PartitionSpec{});
  } catch (const sluice::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    switch (data[0] % 6) {
      case 0: {
        const sluice::Schema schema = sluice::parse_schema(text);
        if (sluice::parse_schema(schema.to_string()).to_string() != schema.to_string())
          std::abort();
        break;
      }
      case 1: {
        const sluice::DataType type = sluice::parse_type(text);
        if (sluice::parse_type(sluice::to_string(type)) != type) std::abort();
        break;
      }
      case 2: {
        const sluice::Duration d = sluice::parse_duration(text);
        if (sluice::parse_duration(sluice::to_string(d)) != d) std::abort();
        break;
      }
      case 3: {
        const sluice::WindowSpec window = sluice::parse_window(text);
        compile(&window, nullptr, nullptr);
        break;
      }
      case 4: {
        const std::vector<sluice::AggregateSpec> aggregates = sluice::parse_aggregates(text);
        compile(nullptr, &aggregates, nullptr);
        break;
      }
      default: {
        const sluice::TriggerSpec trigger = sluice::parse_trigger(text);
        if (sluice::to_string(sluice::parse_trigger(sluice::to_string(trigger))) !=
            sluice::to_string(trigger))
          std::abort();
        compile(nullptr, nullptr, &trigger);
        break;
      }
    }
  } catch (const sluice::Error&) {
  }
  return 0;
}
