// Fuzz target: a SQL script is planned (tokens, parse, checks) and, when it plans, its query is
// built as `sluice sql` builds it and compiled against its table. A bad script must end in a
// sluice::Error whose message names a line and column; anything else is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "host/query_compiler.hpp"
#include "host/sql/sql_plan.hpp"
#include "sluice/query.hpp"
#include "sluice/status.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  sluice::sql::SqlPlan plan;
  try {
    plan = sluice::sql::plan_sql(text);
  } catch (const sluice::Error& e) {
    if (std::string_view(e.what()).rfind("line ", 0) != 0) std::abort();  // no place named
    return 0;
  }
  try {
    sluice::Query query;
    if (plan.where) query.filter(*plan.where);
    if (!plan.keys.empty()) query.key_by(plan.keys);
    query.event_time(plan.time_column, plan.max_delay)
        .window(plan.window)
        .aggregate(plan.aggregates)
        .sink(sluice::BatchSink([](const sluice::Batch&) {}));
    if (plan.having) query.having(*plan.having);
    sluice::StringDictionary dictionary;
    sluice::detail::compile_query(plan.schema, query, dictionary, 1, sluice::PartitionSpec{});
  } catch (const sluice::Error&) {
  }
  return 0;
}
