// Schema inference of `sluice serve` without --schema: the types the first write gives the
// columns a query reads (a table of line-protocol and JSON values, then random bodies against a
// first-seen-wins reference), and IngestTarget starting its job from the first body that fixes
// them, once, with concurrent writers.
#include "host/cli/served_schema.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "host/server/ingest_target.hpp"
#include "sluice/engine.hpp"
#include "sluice/query.hpp"

namespace {

using namespace std::chrono_literals;
using sluice::DataType;
using sluice::Schema;
using sluice::TimeUnit;
using sluice::TypeId;
using sluice::cli::infer_served_schema;
using sluice::cli::ServedSchemaRules;
using sluice::detail::TextFormat;

ServedSchemaRules rules(std::vector<std::string> columns, std::string measurement = "") {
  ServedSchemaRules r;
  r.columns = std::move(columns);
  r.time_column = "time";
  r.measurement = std::move(measurement);
  return r;
}

std::string inferred(std::string_view body, TextFormat format, const ServedSchemaRules& r) {
  std::string problem;
  const std::optional<Schema> schema = infer_served_schema(body, format, r, problem);
  return schema ? schema->to_string() : "none: " + problem;
}

TEST(ServedSchema, LineProtocolTagsAreStringsAndFieldsTakeTheirLiteralsType) {
  const ServedSchemaRules r = rules({"time", "host", "usage", "count", "big", "up", "note"});
  EXPECT_EQ(inferred("cpu,host=a usage=0.5,count=3i,big=7u,up=t,note=\"x\" 1764694805000000000",
                     TextFormat::line_protocol, r),
            "time:timestamp[ns],host:string,usage:f64,count:i64,big:i64,up:bool,note:string");
  // A float field without a fraction is still a float; a numeric-looking tag a string; the
  // first line that gives a column decides, malformed lines and comments give nothing.
  EXPECT_EQ(inferred("# comment\n"
                     "cpu,host=a usage==1\n"
                     "cpu,host=7 usage=1\n"
                     "cpu,host=a,usage=x usage=2i,count=1.5,big=1i,up=false,note=\"\"\n",
                     TextFormat::line_protocol, rules({"time", "host", "usage"})),
            "time:timestamp[ns],host:string,usage:f64");
  // Columns can come from different lines; another measurement's points are skipped.
  EXPECT_EQ(inferred("mem,host=a usage=1i\ncpu,host=a x=1\ncpu usage=2i\n",
                     TextFormat::line_protocol, rules({"time", "host", "usage"}, "cpu")),
            "time:timestamp[ns],host:string,usage:i64");
}

TEST(ServedSchema, JsonLinesTypesAndTheTimeUnitFromTheValue) {
  const ServedSchemaRules r = rules({"time", "host", "usage", "count", "up"});
  EXPECT_EQ(
      inferred(R"({"time": 1764694805123, "host": "a", "usage": 2.0, "count": 3, "up": true})",
               TextFormat::json_lines, r),
      "time:timestamp[ms],host:string,usage:f64,count:i64,up:bool");
  EXPECT_EQ(inferred(R"({"time": "2025-12-02T17:00:05.123456Z", "host": null, "usage": 1e3})"
                     "\n"
                     R"({"time": 5, "host": {"a": 1}, "usage": 1})"
                     "\n"
                     R"({"host": "b", "count": 1, "up": false, "usage": "x"})",
                     TextFormat::json_lines, r),
            "time:timestamp[us],host:string,usage:f64,count:i64,up:bool");
  EXPECT_EQ(inferred(R"({"time": 1764694805, "host": "a"})", TextFormat::json_lines,
                     rules({"time", "host"})),
            "time:timestamp[s],host:string");
  EXPECT_EQ(
      inferred(R"({"time": "soon", "host": "a"})", TextFormat::json_lines, rules({"time", "host"})),
      "none: the event time 'soon' is neither RFC 3339 text nor a number");
}

TEST(ServedSchema, AColumnNoLineGivesIsNamedUnlessTypesGiveIt) {
  ServedSchemaRules r = rules({"time", "host", "region"}, "cpu");
  const std::string message = inferred("cpu,host=a v=1\n", TextFormat::line_protocol, r);
  EXPECT_NE(message.find("no point of measurement cpu of the first write gives column 'region'"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("the query reads time, host, region"), std::string::npos) << message;
  EXPECT_NE(inferred("", TextFormat::json_lines, r)
                .find("no line of the first write gives "
                      "column 'time'"),
            std::string::npos);
  // --types: these columns are given, and override what the lines say.
  r.overrides = sluice::parse_schema("region:string,host:i64,time:timestamp[ms]");
  EXPECT_EQ(inferred("cpu,host=a v=1\n", TextFormat::line_protocol, r),
            "time:timestamp[ms],host:i64,region:string");
}

TEST(ServedSchema, RandomBodiesTakeEachColumnsFirstValue) {
  std::mt19937_64 rng(20261204);
  const char* const types[] = {"string", "f64", "i64", "i64", "bool", "string"};
  int completed = 0;
  for (int round = 0; round < 300; ++round) {
    const int columns = 1 + static_cast<int>(rng() % 5);
    std::vector<std::string> names = {"time"};
    for (int c = 0; c < columns; ++c) names.push_back("c" + std::to_string(c));
    std::map<std::string, std::string> first;  // the reference: first kind seen per column
    std::string body;
    const int lines = static_cast<int>(rng() % 6);
    for (int l = 0; l < lines; ++l) {
      std::string tags, fields;
      std::vector<std::pair<std::string, int>> seen;
      for (int c = 0; c < columns + 1; ++c) {  // c == columns: a column the query does not read
        if (rng() % 3 == 0) continue;
        const int kind = static_cast<int>(rng() % 6);
        const std::string name = c == columns ? "other" : names[c + 1];
        if (kind == 0) {
          tags += "," + name + "=v" + std::to_string(rng() % 9);
        } else {
          const std::string value = kind == 1   ? "1.5"
                                    : kind == 2 ? "-3i"
                                    : kind == 3 ? "3u"
                                    : kind == 4 ? "true"
                                                : "\"s\"";
          fields += (fields.empty() ? "" : ",") + name + "=" + value;
        }
        seen.emplace_back(name, kind);
      }
      if (fields.empty()) fields = "pad=1";  // a point needs a field
      const bool malformed = rng() % 7 == 0;
      body += "m" + tags + " " + fields + (malformed ? " x" : "") + "\n";
      if (malformed) continue;
      // A field wins over a tag of the same name on one line; the first line decides.
      std::map<std::string, int> line;
      for (const auto& [name, kind] : seen)
        if (!line.count(name) || line[name] == 0) line[name] = kind;
      for (const auto& [name, kind] : line) first.emplace(name, types[kind]);
    }
    std::string want = "time:timestamp[ns]";
    bool complete = true;
    for (int c = 0; c < columns; ++c) {
      const auto it = first.find(names[c + 1]);
      if (it == first.end()) {
        complete = false;
        break;
      }
      want += "," + names[c + 1] + ":" + it->second;
    }
    const std::string got = inferred(body, TextFormat::line_protocol, rules(names));
    completed += complete;
    if (complete) {
      EXPECT_EQ(got, want) << body;
    } else {
      EXPECT_EQ(got.rfind("none: no point of the first write gives column", 0), 0u) << got << "\n"
                                                                                    << body;
    }
  }
  EXPECT_GT(completed, 60);  // both outcomes are tried
  EXPECT_LT(completed, 240);
}

/// A job counting rows per host in one global window, its rows gathered.
struct CountingJob {
  std::mutex mutex;
  std::map<std::string, std::int64_t> counts;
  sluice::Engine engine{config()};

  static sluice::EngineConfig config() {
    sluice::EngineConfig c;
    c.backend = sluice::Backend::cpu;
    c.workers = 2;
    c.threads = 1;
    c.batch_timeout = 1h;
    return c;
  }
  sluice::Job start(const Schema& schema) {
    sluice::Query q;
    q.key_by({"host"})
        .event_time("time")
        .window(sluice::WindowSpec::global())
        .aggregate({sluice::count()})
        .sink([this](const sluice::Batch& b) {
          std::lock_guard lock(mutex);
          for (std::size_t r = 0; r < b.rows(); ++r)
            counts[std::get<std::string>(b.at(r, 2))] += std::get<std::int64_t>(b.at(r, 3));
        });
    return engine.start(schema, q);
  }
};

TEST(IngestTarget, StartsItsJobOnceFromTheFirstBodyThatFixesTheSchema) {
  CountingJob counting;
  std::optional<sluice::Job> job;
  std::atomic<int> starts{0}, refusals{0};
  const ServedSchemaRules r = rules({"time", "host"});
  sluice::server::IngestTarget target(
      [&](std::string_view body, TextFormat format, std::string& problem) -> sluice::Job* {
        const std::optional<Schema> schema = infer_served_schema(body, format, r, problem);
        if (!schema) {
          ++refusals;
          return nullptr;
        }
        ++starts;
        return &job.emplace(counting.start(*schema));
      },
      {.time_column = "time", .measurement = ""});
  EXPECT_EQ(target.job(), nullptr);
  // A body without a host: every line rejected with the reason, counted once the job runs.
  const auto refused = target.write_line_protocol("cpu v=1 5\n\ncpu v=2 6\n", 1);
  EXPECT_EQ(refused.malformed, 2u);
  ASSERT_EQ(refused.problems.size(), 2u);
  EXPECT_EQ(refused.problems[1].line, 3u);
  EXPECT_NE(refused.problems[0].message.find("column 'host'"), std::string::npos);
  target.count_malformed(1);
  EXPECT_EQ(target.job(), nullptr);
  // Eight writers at once: one job, every good line in it.
  std::vector<std::thread> writers;
  for (int w = 0; w < 8; ++w)
    writers.emplace_back([&target, w] {
      for (int i = 0; i < 50; ++i) {
        if (w % 2 == 0) {
          target.write_line_protocol("cpu,host=h" + std::to_string(w) + " v=1 " +
                                         std::to_string(1000 + i) + "\ncpu,host=x v=1 7\n",
                                     1);
        } else {
          // A time of this era in ns: whichever writer starts the job, the unit is ns.
          target.write_json_lines(
              R"({"time": 1764694805000000000, "host": "h)" + std::to_string(w) + "\"}\n{\"x\"", 1);
        }
      }
    });
  for (std::thread& t : writers) t.join();
  EXPECT_EQ(starts.load(), 1);
  EXPECT_EQ(refusals.load(), 1);
  ASSERT_NE(target.job(), nullptr);
  EXPECT_EQ(target.job()->schema().to_string(), "time:timestamp[ns],host:string");
  target.job()->finish();
  std::map<std::string, std::int64_t> want;
  for (int w = 0; w < 8; ++w) want["h" + std::to_string(w)] = 50;
  want["x"] = 4 * 50;
  EXPECT_EQ(counting.counts, want);
  // The 2 + 1 lines rejected before the start, and the 4 * 50 malformed JSON lines after.
  EXPECT_EQ(target.job()->total_metrics().events_malformed, 3u + 4 * 50);
}

TEST(IngestTarget, BeforeTheStartLinesAreRefusedAsTheJobsParsersWouldTakeThem) {
  CountingJob counting;
  std::optional<sluice::Job> job;
  const ServedSchemaRules r = rules({"time", "host"}, "cpu");
  sluice::server::IngestTarget target(
      [&](std::string_view body, TextFormat format, std::string& problem) -> sluice::Job* {
        const std::optional<Schema> schema = infer_served_schema(body, format, r, problem);
        return schema ? &job.emplace(counting.start(*schema)) : nullptr;
      },
      {.time_column = "time", .measurement = "cpu"});
  // A comment and a point of another measurement are skipped; a malformed line says what is
  // wrong with it; a good point lacking the host says that.
  const auto points = target.write_line_protocol(
      "# written by a test\nmem,host=a v=1 5\ncpu v=1 5\ncpu,host=a\n  # indented\n", 1);
  EXPECT_EQ(points.malformed, 2u);
  ASSERT_EQ(points.problems.size(), 2u);
  EXPECT_EQ(points.problems[0].line, 3u);
  EXPECT_NE(points.problems[0].message.find("column 'host'"), std::string::npos);
  EXPECT_EQ(points.problems[1].line, 4u);
  EXPECT_EQ(points.problems[1].message, "no fields");
  const auto json = target.write_json_lines("{\"time\": 5}\n{\"time\": \n", 7);
  EXPECT_EQ(json.malformed, 2u);
  ASSERT_EQ(json.problems.size(), 2u);
  EXPECT_EQ(json.problems[0].line, 7u);
  EXPECT_NE(json.problems[0].message.find("column 'host'"), std::string::npos);
  EXPECT_EQ(json.problems[1].line, 8u);
  EXPECT_EQ(json.problems[1].message.find("column 'host'"), std::string::npos);
  EXPECT_FALSE(json.problems[1].message.empty());
  EXPECT_EQ(target.job(), nullptr);
  const auto started = target.write_line_protocol("cpu,host=a v=1 5\nmem v=1 5\n", 1);
  EXPECT_EQ(started.rows, 1u);
  EXPECT_EQ(started.malformed, 0u);
  ASSERT_NE(target.job(), nullptr);
  target.job()->finish();
  EXPECT_EQ(counting.counts, (std::map<std::string, std::int64_t>{{"a", 1}}));
  EXPECT_EQ(target.job()->total_metrics().events_malformed, 4u);
}

}  // namespace
