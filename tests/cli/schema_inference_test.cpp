// Schema inference: each column's type from sampled cells, the event-time column's unit,
// overrides; sampling (whole rows, limits, live input that pauses); replaying the sample.
#include "host/cli/schema_inference.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <istream>
#include <sstream>
#include <string>
#include <thread>

#include "host/io/csv_reader.hpp"
#include "host/io/live_input.hpp"
#include "sluice/status.hpp"

namespace {

using namespace sluice;
using namespace sluice::cli;
using namespace std::chrono_literals;

CsvSample sample_of(const std::string& text) {
  std::istringstream in(text);
  return sample_csv(in, false);
}

std::string types_of(const std::vector<InferredColumn>& columns) {
  std::string out;
  for (const InferredColumn& c : columns)
    out += (out.empty() ? "" : ",") + c.name + ":" + to_string(c.type);
  return out;
}

TEST(SchemaInference, EachColumnTakesTheFirstTypeThatReadsAllItsCells) {
  const std::string csv =
      "ts,host,cpu,status,ok,when,empty,mixed\n"
      "1764694805000,web-1,78.87,200,true,2026-12-02T17:00:05.123Z,,1\n"
      "1764694806000,\"web, 2\",12,500,FALSE,2026-12-02 17:00:06,,x\n"
      " 1764694811000 ,web-1,-5e-3,-1,true,2026-12-02T17:00:11.5+01:00,,2\n";
  const auto columns = infer_columns(sample_of(csv), "mem", "ts");
  EXPECT_EQ(types_of(columns),
            "ts:timestamp[ms],host:string,cpu:f64,status:i64,ok:bool,when:timestamp[ms],"
            "empty:string,mixed:string");
  EXPECT_EQ(columns[0].reason, "integers of the event time, unit from their size");
  EXPECT_EQ(columns[5].reason, "RFC 3339 times with 3 fraction digits");
}

TEST(SchemaInference, TheTimeColumnsUnitFollowsTheSizeOfItsNumbers) {
  for (const auto& [cell, unit] :
       std::vector<std::pair<std::string, std::string>>{{"1764694805", "s"},
                                                        {"1764694805.25", "s"},
                                                        {"1764694805000", "ms"},
                                                        {"1764694805000000", "us"},
                                                        {"1764694805000000000", "ns"},
                                                        {"12", "s"}}) {
    const auto columns = infer_columns(sample_of("t,v\n" + cell + ",1\n"), "mem", "t");
    EXPECT_EQ(to_string(columns[0].type), "timestamp[" + unit + "]") << cell;
    // Not the event time: a plain number.
    EXPECT_NE(infer_columns(sample_of("t,v\n" + cell + ",1\n"), "mem", "v")[0].type.id,
              TypeId::timestamp);
  }
  EXPECT_EQ(
      to_string(infer_columns(sample_of("t\n2026-12-02T17:00:05.123456Z\n"), "m", "")[0].type),
      "timestamp[us]");
  EXPECT_EQ(to_string(infer_columns(sample_of("t\n2026-12-02\n"), "m", "")[0].type),
            "timestamp[s]");
}

TEST(SchemaInference, OverridesReplaceTheTypesTheyNameAndUnknownColumnsAreErrors) {
  const CsvSample sample = sample_of("ts,cpu,status\n1000,1.5,200\n");
  const auto columns = infer_columns(sample, "mem", "ts", "cpu:f32,status:i32");
  EXPECT_EQ(types_of(columns), "ts:timestamp[s],cpu:f32,status:i32");
  EXPECT_TRUE(columns[1].overridden);
  EXPECT_EQ(columns[1].reason, "--types");
  try {
    infer_columns(sample, "mem", "ts", "load:f32");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("column 'load' is not in the header of mem"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(schema_of(columns, {"status", "ts"}).to_string(), "ts:timestamp[s],status:i32");
}

TEST(SchemaInference, SamplesWholeRowsWithinItsLimits) {
  std::string csv = "a,b\n";
  for (int i = 0; i < 50; ++i) csv += std::to_string(i) + ",x\n";
  std::istringstream in(csv + "50,unterminated");
  const CsvSample s = sample_csv(in, false, 10);
  EXPECT_EQ(s.rows, 10u);
  EXPECT_EQ(std::string(s.text()), csv.substr(0, csv.find("10,x")));
  // At the end of input a last line without a break counts.
  std::istringstream all("a,b\n1,x\n2,y");
  const CsvSample t = sample_csv(all, false);
  EXPECT_EQ(t.rows, 2u);
  EXPECT_EQ(std::string(t.text()), "a,b\n1,x\n2,y");
}

TEST(SchemaInference, LiveInputIsSampledUntilItPausesAndThenReplayedWhole) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ASSERT_EQ(::write(fds[1], "t,s\n1,a\n2,b\n", 12), 12);
  detail::LiveInputBuffer buffer(fds[0]);
  std::istream in(&buffer);
  // The writer stays open: the sample ends when the input pauses.
  const CsvSample sample = sample_csv(in, true, 1000, 1 << 20, 50);
  EXPECT_EQ(sample.rows, 2u);
  ReplayBuffer replay(sample.read, in.rdbuf());
  std::istream again(&replay);
  std::thread later([&] {
    std::this_thread::sleep_for(20ms);
    ASSERT_EQ(::write(fds[1], "3,c\n", 4), 4);
    ::close(fds[1]);
  });
  detail::CsvReader reader(again, "pipe", parse_schema("t:i64,s:string"), nullptr,
                           {.live = true, .live_gather = 1ms});
  std::size_t rows = 0;
  Batch batch;
  while (reader.next(batch)) rows += batch.rows();
  later.join();
  ::close(fds[0]);
  EXPECT_EQ(rows, 3u);
}

}  // namespace
