// Fuzz target: an expression text is parsed, printed, parsed again (the same text must come
// back), and compiled as a filter and a map of a query over a fixed schema. Anything but a
// sluice::Error for bad input is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "host/query_compiler.hpp"
#include "sluice/expr.hpp"
#include "sluice/query.hpp"
#include "sluice/schema.hpp"
#include "sluice/status.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  sluice::Expr expr;
  try {
    expr = sluice::parse_expression(text);
  } catch (const sluice::Error&) {
    return 0;
  }
  const std::string printed = expr.to_string();
  try {
    if (sluice::parse_expression(printed).to_string() != printed) std::abort();
  } catch (const sluice::Error&) {
    std::abort();  // what to_string prints must parse
  }
  static const sluice::Schema schema =
      sluice::parse_schema("ts:timestamp[ms],host:string,cpu:f32,status:i32,n:i64,ok:bool");
  for (int as_map = 0; as_map < 2; ++as_map) {
    try {
      sluice::Query query;
      if (as_map != 0)
        query.map("x", expr).project({"x"});
      else
        query.filter(expr);
      query.sink(sluice::BatchSink([](const sluice::Batch&) {}));
      sluice::StringDictionary dictionary;
      sluice::detail::compile_query(schema, query, dictionary, 1, sluice::PartitionSpec{});
    } catch (const sluice::Error&) {
    }
  }
  return 0;
}
