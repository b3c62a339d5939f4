// The SQL front end: tokens, the script's parse, its plan (the query's parts) and errors that
// point at the place, with line, column and caret.
#include <gtest/gtest.h>

#include <string>

#include "host/sql/sql_ast.hpp"
#include "host/sql/sql_lexer.hpp"
#include "host/sql/sql_plan.hpp"
#include "sluice/status.hpp"

namespace {

using sluice::DataType;
using sluice::Error;
using sluice::ErrorCode;
using sluice::TimeUnit;
using sluice::TypeId;
using sluice::WindowSpec;
using sluice::sql::plan_sql;
using sluice::sql::SqlCommand;
using sluice::sql::SqlConnector;
using sluice::sql::SqlPlan;
using namespace std::chrono_literals;

constexpr const char* kTable = R"sql(
CREATE TABLE events (
  ts TIMESTAMP(3),
  host STRING,
  cpu FLOAT,
  status INT,
  WATERMARK FOR ts AS ts - INTERVAL '2' SECOND
) WITH ('connector' = 'csv', 'path' = 'events.csv');
)sql";

std::string with_table(const std::string& query) { return kTable + query; }

/// The message of the error plan_sql throws for `script`, and its code.
std::string error_of(const std::string& script, ErrorCode* code = nullptr,
                     SqlCommand command = SqlCommand::sql) {
  try {
    plan_sql(script, command);
  } catch (const Error& e) {
    if (code != nullptr) *code = e.code();
    return e.what();
  }
  ADD_FAILURE() << "no error for: " << script;
  return {};
}

TEST(SqlLexer, TokensKeepTheirPlaceAndQuotes) {
  const auto tokens = sluice::sql::tokenize("SELECT `a b`, 'it''s' -- note\n/* x */ 1.5e3 <> x");
  ASSERT_EQ(tokens.size(), 8u);
  EXPECT_TRUE(tokens[0].is_word("SELECT"));
  EXPECT_EQ(tokens[1].kind, sluice::sql::Token::Kind::quoted);
  EXPECT_EQ(tokens[1].text, "a b");
  EXPECT_EQ(tokens[3].kind, sluice::sql::Token::Kind::string);
  EXPECT_EQ(tokens[3].text, "it's");
  EXPECT_EQ(tokens[4].kind, sluice::sql::Token::Kind::decimal);
  EXPECT_EQ(tokens[5].text, "<>");
  EXPECT_EQ(tokens[5].offset, 44u);
  EXPECT_EQ(tokens[7].kind, sluice::sql::Token::Kind::end);
}

TEST(SqlLexer, MessagesNameLineAndColumnWithACaret) {
  EXPECT_EQ(sluice::sql::message_at("SELECT a\nFROM  bad", 15, "unknown table 'bad'"),
            "line 2, column 7: unknown table 'bad'\n  FROM  bad\n        ^");
  // A tab before the place stays a tab, so the caret lines up in a terminal.
  EXPECT_EQ(sluice::sql::message_at("\tx", 1, "m"), "line 1, column 2: m\n  \tx\n  \t^");
  // The end of the script points past its last character.
  EXPECT_EQ(sluice::sql::message_at("ab", 2, "m"), "line 1, column 3: m\n  ab\n    ^");
}

TEST(SqlPlan, TumbleQueryHasTheFlagsParts) {
  const SqlPlan p = plan_sql(with_table(R"sql(
SELECT window_start, window_end, host, COUNT(*) AS n, AVG(cpu) AS a, max(cpu)
FROM TABLE(TUMBLE(TABLE events, DESCRIPTOR(ts), INTERVAL '10' SECOND))
WHERE status = 200
GROUP BY window_start, window_end, host;)sql"));
  EXPECT_EQ(p.input, "events.csv");
  EXPECT_EQ(p.schema.to_string(), "ts:timestamp[ms],host:string,cpu:f32,status:i32");
  EXPECT_EQ(p.time_column, "ts");
  EXPECT_EQ(p.max_delay, 2s);
  EXPECT_EQ(p.window.kind, WindowSpec::Kind::tumbling);
  EXPECT_EQ(p.window.size, 10s);
  ASSERT_TRUE(p.where.has_value());
  EXPECT_EQ(p.where->to_string(), "(status == 200)");
  EXPECT_EQ(p.keys, std::vector<std::string>{"host"});
  ASSERT_EQ(p.aggregates.size(), 3u);
  EXPECT_EQ(p.aggregates[0].kind, sluice::AggKind::count);
  EXPECT_EQ(p.aggregates[1].kind, sluice::AggKind::avg);
  EXPECT_EQ(p.aggregates[2].kind, sluice::AggKind::max);
  EXPECT_EQ(p.aggregates[2].name, "max(cpu)");
  ASSERT_EQ(p.outputs.size(), 6u);
  const std::vector<std::pair<std::string, std::string>> outputs = {
      {"window_start", "window_start"},
      {"window_end", "window_end"},
      {"host", "host"},
      {"n", "n"},
      {"a", "a"},
      {"max(cpu)", "max(cpu)"}};
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    EXPECT_EQ(p.outputs[i].source, outputs[i].first) << i;
    EXPECT_EQ(p.outputs[i].name, outputs[i].second) << i;
  }
  EXPECT_FALSE(p.explain);
  EXPECT_TRUE(p.output.empty());
}

TEST(SqlPlan, HopTakesSlideThenSizeAndAnOffset) {
  const SqlPlan p = plan_sql(with_table(R"sql(
SELECT window_start, window_end, COUNT(*)
FROM TABLE(HOP(TABLE events, DESCRIPTOR(ts), INTERVAL '2' SECOND, INTERVAL '1' MINUTE,
               INTERVAL '0.5' SECOND))
GROUP BY window_end, window_start)sql"));
  EXPECT_EQ(p.window.kind, WindowSpec::Kind::sliding);
  EXPECT_EQ(p.window.slide, 2s);
  EXPECT_EQ(p.window.size, 60s);
  EXPECT_EQ(p.window.offset, 500ms);
  EXPECT_TRUE(p.keys.empty());
}

TEST(SqlPlan, CumulateTakesStepThenSize) {
  const SqlPlan p = plan_sql(with_table(R"sql(
SELECT window_start, window_end, COUNT(*)
FROM TABLE(CUMULATE(TABLE events, DESCRIPTOR(ts), INTERVAL '10' SECOND, INTERVAL '1' MINUTE))
GROUP BY window_start, window_end)sql"));
  EXPECT_EQ(p.window.kind, WindowSpec::Kind::cumulate);
  EXPECT_EQ(p.window.slide, 10s);
  EXPECT_EQ(p.window.size, 60s);
  // The size must be a whole number of steps.
  EXPECT_NE(error_of(with_table("SELECT COUNT(*) FROM TABLE(CUMULATE(TABLE events, "
                                "DESCRIPTOR(ts), INTERVAL '7' SECOND, INTERVAL '1' MINUTE)) "
                                "GROUP BY window_start, window_end"))
                .find("line 9, column 88: CUMULATE's size must be a whole number of its steps"),
            std::string::npos);
}

TEST(SqlPlan, TypesMapToColumnTypes) {
  const SqlPlan p = plan_sql(R"sql(
CREATE TABLE t (a TIMESTAMP(0), b TIMESTAMP(6), c TIMESTAMP(9), d TIMESTAMP, e BIGINT, f INT,
                g DOUBLE, h BOOLEAN, i VARCHAR(20), j TIMESTAMP_LTZ(3), k REAL,
                WATERMARK FOR e AS e)
WITH ('connector' = 'filesystem', 'format' = 'csv', 'path' = '-');
SELECT COUNT(*) FROM t)sql");
  const std::vector<DataType> expected = {DataType::timestamp(TimeUnit::s),
                                          DataType::timestamp(TimeUnit::us),
                                          DataType::timestamp(TimeUnit::ns),
                                          DataType::timestamp(TimeUnit::us),
                                          TypeId::i64,
                                          TypeId::i32,
                                          TypeId::f64,
                                          TypeId::boolean,
                                          TypeId::string,
                                          DataType::timestamp(TimeUnit::ms),
                                          TypeId::f32};
  ASSERT_EQ(p.schema.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i)
    EXPECT_EQ(p.schema.field(i).type, expected[i]) << p.schema.field(i).name;
  EXPECT_EQ(p.input, "-");
  EXPECT_EQ(p.window.kind, WindowSpec::Kind::global);  // FROM t: one window
  EXPECT_EQ(p.max_delay, 0s);
}

TEST(SqlPlan, InBetweenAndNotBecomeTheEnginesOperators) {
  const SqlPlan p = plan_sql(with_table(R"sql(
SELECT window_start, window_end, COUNT(*)
FROM TABLE(TUMBLE(TABLE events, DESCRIPTOR(ts), INTERVAL '10' SECOND)) AS e
WHERE e.host IN ('a', 'b', 'c') AND cpu NOT BETWEEN 1 AND 2.5 OR NOT (status <> 200)
GROUP BY window_start, window_end)sql"));
  ASSERT_TRUE(p.where.has_value());
  EXPECT_EQ(p.where->to_string(),
            "(((((host == 'a') or (host == 'b')) or (host == 'c')) and "
            "(not ((cpu >= 1) and (cpu <= 2.5)))) or (not (status != 200)))");
}

TEST(SqlPlan, LikeBecomesTheEnginesLike) {
  const SqlPlan p = plan_sql(with_table(R"sql(
SELECT COUNT(*) FROM events WHERE host LIKE 'web-%' AND host NOT LIKE '%-2')sql"));
  ASSERT_TRUE(p.where.has_value());
  EXPECT_EQ(p.where->to_string(), "((host like 'web-%') and (not (host like '%-2')))");
  EXPECT_NE(error_of(with_table("SELECT COUNT(*) FROM events WHERE cpu LIKE '1%'"))
                .find("line 9, column 35: LIKE needs a string, got a float"),
            std::string::npos);
  EXPECT_NE(error_of(with_table("SELECT COUNT(*) FROM events WHERE host LIKE host"))
                .find("LIKE needs a 'pattern' string"),
            std::string::npos);
  EXPECT_NE(error_of(with_table("SELECT host, COUNT(*) FROM events GROUP BY host "
                                "HAVING host LIKE 'w%'"))
                .find("LIKE is not supported in HAVING"),
            std::string::npos);
}

TEST(SqlPlan, HavingReadsAggregatesAliasesAndKeys) {
  const SqlPlan p = plan_sql(with_table(R"sql(
SELECT window_start, window_end, host, COUNT(*) AS n
FROM TABLE(TUMBLE(TABLE events, DESCRIPTOR(ts), INTERVAL '10' SECOND))
GROUP BY window_start, window_end, host
HAVING n > 3 AND MAX(cpu) >= 50 AND host <> 'x' AND count(*) < 100)sql"));
  // MAX(cpu) is computed for HAVING alone; COUNT(*) is the selected one.
  ASSERT_EQ(p.aggregates.size(), 2u);
  EXPECT_EQ(p.aggregates[1].name, "MAX(cpu)");
  EXPECT_EQ(p.outputs.size(), 4u);
  ASSERT_TRUE(p.having.has_value());
  EXPECT_EQ(p.having->to_string(),
            "((((n > 3) and (MAX(cpu) >= 50)) and (host != 'x')) and (n < 100))");
}

TEST(SqlPlan, InsertIntoAndExplain) {
  const SqlPlan p = plan_sql(with_table(R"sql(
CREATE TABLE out (s TIMESTAMP(3), e TIMESTAMP(3), c BIGINT)
  WITH ('connector' = 'filesystem', 'path' = 'out.jsonl', 'format' = 'json');
EXPLAIN INSERT INTO out
SELECT window_start, window_end, COUNT(*)
FROM TABLE(TUMBLE(TABLE events, DESCRIPTOR(ts), INTERVAL '10' SECOND))
GROUP BY window_start, window_end)sql"));
  EXPECT_TRUE(p.explain);
  EXPECT_EQ(p.output, "out.jsonl");
  EXPECT_EQ(p.output_format, "json");
  ASSERT_EQ(p.outputs.size(), 3u);
  EXPECT_EQ(p.outputs[2].name, "c");
}

struct BadScript {
  std::string query;  ///< after kTable
  std::string where;  ///< "line L, column C"
  std::string says;   ///< part of the message
  ErrorCode code = ErrorCode::parse_error;
};

TEST(SqlPlan, ErrorsPointAtTheirPlace) {
  // kTable takes lines 1-8; the query starts on line 9.
  const std::string tumble =
      "FROM TABLE(TUMBLE(TABLE events, DESCRIPTOR(ts), INTERVAL '10' SECOND))\n";
  const std::vector<BadScript> cases = {
      {"SELECT COUNT(*) FORM events", "line 9, column 17", "expected FROM, got 'FORM'"},
      {"SELECT COUNT(*)\n" + tumble + "GROUP BY window_start, window_end, hots",
       "line 11, column 36", "unknown column 'hots' (table 'events' has ts, host, cpu, status)",
       ErrorCode::unknown_column},
      {"SELECT window_start, window_end, cpu, COUNT(*)\n" + tumble +
           "GROUP BY window_start, window_end",
       "line 9, column 34", "column 'cpu' is neither in GROUP BY nor inside an aggregate",
       ErrorCode::invalid_argument},
      {"SELECT window_start, window_end, COUNT(*)\n" + tumble +
           "WHERE host > 5\nGROUP BY window_start, window_end",
       "line 11, column 12", "cannot compare a string with an integer by '>'",
       ErrorCode::type_mismatch},
      {"SELECT COUNT(*)\n" + tumble + "GROUP BY host", "line 11, column 1",
       "GROUP BY window_start, window_end"},
      {"SELECT COUNT(*) FROM nope", "line 9, column 22", "unknown table 'nope' (tables: events)",
       ErrorCode::unknown_column},
      {"SELECT COUNT(*) FROM events WHERE host = 'x", "line 9, column 42", "unterminated string"},
      {"SELECT SUM(host) FROM events", "line 9, column 12", "SUM needs a number, got a string",
       ErrorCode::type_mismatch},
      {"SELECT COUNT(*) FROM events WHERE COUNT(*) > 1", "line 9, column 35", "use HAVING",
       ErrorCode::invalid_argument},
      {"SELECT MEDIAN(cpu) FROM events", "line 9, column 8", "unknown aggregate MEDIAN",
       ErrorCode::invalid_argument},
      {"SELECT COUNT(*) FROM TABLE(TUMBLE(TABLE events, DESCRIPTOR(host), INTERVAL '1' SECOND))",
       "line 9, column 60", "must name the column of table 'events''s WATERMARK, 'ts'"},
      {"SELECT COUNT(*) FROM TABLE(TUMBLE(TABLE events, DESCRIPTOR(ts), INTERVAL '1' YEAR))",
       "line 9, column 78", "expected a unit"},
      {"SELECT COUNT(*) FROM TABLE(TUMBLE(TABLE events, DESCRIPTOR(ts), INTERVAL '0' SECOND))",
       "line 9, column 65", "a window length must be positive", ErrorCode::invalid_argument},
      {"SELECT COUNT(*) FROM TABLE(HOP(TABLE events, DESCRIPTOR(ts), INTERVAL '2' SECOND, "
       "INTERVAL '0' SECOND))",
       "line 9, column 83", "a window length must be positive", ErrorCode::invalid_argument},
      {"SELECT COUNT(*) FROM TABLE(TUMBLE(TABLE events, DESCRIPTOR(ts), INTERVAL '0.0005' "
       "SECOND))",
       "line 9, column 65", "not a whole number of the event time's unit",
       ErrorCode::invalid_argument},
      {"SELECT COUNT(*) FROM events WHERE status / 100 = 2", "line 9, column 42",
       "'/' of two integers", ErrorCode::type_mismatch},
      {"SELECT COUNT(*) FROM events WHERE cpu > 1e999", "line 9, column 41", "number out of range",
       ErrorCode::parse_error},
      {"SELECT COUNT(*) FROM events ORDER BY 1", "line 9, column 29", "ORDER BY is not supported"},
      {"SELECT COUNT(*) FROM events; SELECT COUNT(*) FROM events", "line 9, column 30",
       "a script runs one query"},
      {"SELECT window_start, COUNT(*) FROM events", "line 9, column 8",
       "window_start comes from a window function", ErrorCode::unknown_column},
      {"SELECT COUNT(*) FROM events HAVING cpu > 1", "line 9, column 36",
       "column 'cpu' in HAVING is neither in GROUP BY nor inside an aggregate",
       ErrorCode::invalid_argument},
      {"SELECT COUNT(*) FROM events WHERE (cpu > 1", "line 9, column 43", "expected ')'"},
      {"SELECT COUNT(*) FROM events WHERE cpu > 1 AND host", "line 9, column 43",
       "AND needs conditions, got a boolean and a string", ErrorCode::type_mismatch},
  };
  for (const BadScript& c : cases) {
    ErrorCode code = ErrorCode::ok;
    const std::string message = error_of(with_table(c.query), &code);
    EXPECT_EQ(message.rfind(c.where + ": ", 0), 0u) << c.query << "\n" << message;
    EXPECT_NE(message.find(c.says), std::string::npos) << c.query << "\n" << message;
    EXPECT_NE(message.find("\n  "), std::string::npos) << message;
    EXPECT_EQ(message.back(), '^') << message;
    EXPECT_EQ(code, c.code) << c.query << "\n" << message;
  }
}

TEST(SqlPlan, TableErrorsPointIntoTheirDefinition) {
  const std::vector<BadScript> cases = {
      {"CREATE TABLE t (ts TIMESTAMP(3), ts INT) WITH ('connector'='csv','path'='x');",
       "line 1, column 34", "column 'ts' is defined twice"},
      {"CREATE TABLE t (ts TIMESTAMP(3), a DECIMAL(10, 2)) WITH ('connector'='csv','path'='x');",
       "line 1, column 36", "unknown column type 'DECIMAL'"},
      {"CREATE TABLE t (ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '2' SECOND)\n"
       "WITH ('connector' = 'jdbc', 'path' = 'x');\nSELECT COUNT(*) FROM t",
       "line 2, column 21", "unknown connector 'jdbc' (connectors: 'csv', 'filesystem', 'kafka')"},
      {"CREATE TABLE t (ts TIMESTAMP(3), WATERMARK FOR ts AS ts)\n"
       "WITH ('connector' = 'csv', 'path' = 'x', 'delimiter' = ';');\nSELECT COUNT(*) FROM t",
       "line 2, column 42", "unknown option 'delimiter'"},
      {"CREATE TABLE t (ts TIMESTAMP(3)) WITH ('connector' = 'csv', 'path' = 'x');\n"
       "SELECT COUNT(*) FROM t",
       "line 2, column 22", "table 't' has no WATERMARK"},
      {"CREATE TABLE t (ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1.0000000001' SECOND)"
       " WITH ('connector' = 'csv', 'path' = 'x');\nSELECT COUNT(*) FROM t",
       "line 1, column 69", "finer than a nanosecond"},
  };
  for (const BadScript& c : cases) {
    const std::string message = error_of(c.query);
    EXPECT_EQ(message.rfind(c.where + ": ", 0), 0u) << c.query << "\n" << message;
    EXPECT_NE(message.find(c.says), std::string::npos) << c.query << "\n" << message;
  }
}

TEST(SqlPlan, LongChainsAndManyPatternsAreErrorsNotCrashes) {
  std::string chain = "SELECT COUNT(*) FROM events WHERE status = 1";
  for (int i = 0; i < 100000; ++i) chain += " OR status = 1";
  EXPECT_NE(error_of(with_table(chain)).find("nested deeper than"), std::string::npos);
  std::string sum = "SELECT COUNT(*) FROM events WHERE cpu";
  for (int i = 0; i < 100000; ++i) sum += " + 1";
  EXPECT_NE(error_of(with_table(sum + " > 1")).find("nested deeper than"), std::string::npos);
  std::string patterns = "SELECT COUNT(*) FROM events WHERE host LIKE 'a%'";
  for (char c = 'b'; c <= 'i'; ++c) patterns += std::string(" OR host LIKE '") + c + "%'";
  EXPECT_NE(error_of(with_table(patterns)).find("line 9, column 189: a query takes at most 8"),
            std::string::npos)
      << error_of(with_table(patterns));
  // A column named update cannot be a key.
  const std::string update_table = R"sql(
CREATE TABLE t (ts TIMESTAMP(3), `update` INT, WATERMARK FOR ts AS ts)
WITH ('connector' = 'csv', 'path' = 'x');
SELECT COUNT(*) FROM t GROUP BY `update`)sql";
  EXPECT_NE(error_of(update_table).find("line 4, column 33: a column named 'update'"),
            std::string::npos)
      << error_of(update_table);
  EXPECT_NE(error_of(with_table("SELECT COUNT(*) AS `update` FROM events"))
                .find("line 9, column 20: an output column cannot be named 'update'"),
            std::string::npos);
}

TEST(SqlPlan, DeepNestingIsAnErrorNotACrash) {
  std::string deep = "SELECT COUNT(*) FROM events WHERE ";
  for (int i = 0; i < 5000; ++i) deep += "(";
  deep += "cpu > 1";
  for (int i = 0; i < 5000; ++i) deep += ")";
  EXPECT_NE(error_of(with_table(deep)).find("nested deeper"), std::string::npos);
  std::string nots = "SELECT COUNT(*) FROM events WHERE ";
  for (int i = 0; i < 5000; ++i) nots += "NOT ";
  nots += "cpu > 1";
  EXPECT_NE(error_of(with_table(nots)).find("nested deeper"), std::string::npos);
}

TEST(SqlPlan, LongInListsStayShallow) {
  std::string query = "SELECT COUNT(*) FROM events WHERE status IN (";
  for (int i = 0; i < 1000; ++i) query += (i ? ", " : "") + std::to_string(i);
  query += ")";
  const SqlPlan p = plan_sql(with_table(query));
  ASSERT_TRUE(p.where.has_value());
  EXPECT_LE(p.where->node().depth, 12);  // a balanced tree of 1000 tests
}

}  // namespace

namespace {

constexpr const char* kKafkaScript = R"sql(
CREATE TABLE metrics (
  ts TIMESTAMP(3) METADATA FROM 'timestamp' VIRTUAL,
  host STRING,
  cpu DOUBLE,
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND
) WITH (
  'connector' = 'kafka',
  'topic' = 'telemetry',
  'properties.bootstrap.servers' = '127.0.0.1:9092,127.0.0.1:9093',
  'properties.group.id' = 'dashboards',
  'properties.fetch.wait.max.ms' = '50',
  'value.format' = 'json'
);
CREATE TABLE hosts (
  window_start TIMESTAMP(3), window_end TIMESTAMP(3), host STRING, avg_cpu DOUBLE
) WITH ('connector' = 'kafka', 'topic' = 'per-host',
        'properties.bootstrap.servers' = '127.0.0.1:9092', 'properties.acks' = '1');
INSERT INTO hosts
SELECT window_start, window_end, host, AVG(cpu)
FROM TABLE(TUMBLE(TABLE metrics, DESCRIPTOR(ts), INTERVAL '10' SECOND))
GROUP BY window_start, window_end, host;
)sql";

}  // namespace

TEST(SqlPlan, KafkaTablesAreASourceUnderServeAndASinkEverywhere) {
  const SqlPlan p = plan_sql(kKafkaScript, SqlCommand::serve);
  EXPECT_EQ(p.input_kind, SqlConnector::Kind::kafka);
  EXPECT_EQ(p.input_kafka.brokers, "127.0.0.1:9092,127.0.0.1:9093");
  EXPECT_EQ(p.input_kafka.topic, "telemetry");
  EXPECT_EQ(p.input_kafka.group, "dashboards");
  EXPECT_EQ(p.input_kafka.format, "json");
  ASSERT_EQ(p.input_kafka.properties.size(), 1u);
  EXPECT_EQ(p.input_kafka.properties[0].first, "fetch.wait.max.ms");
  EXPECT_EQ(p.input_kafka.properties[0].second, "50");
  EXPECT_TRUE(p.message_time);
  EXPECT_EQ(p.time_column, "ts");
  EXPECT_EQ(p.max_delay, 1s);
  EXPECT_TRUE(p.output.empty());
  ASSERT_TRUE(p.output_kafka.has_value());
  EXPECT_EQ(p.output_kafka->topic, "per-host");
  EXPECT_EQ(p.output_kafka->brokers, "127.0.0.1:9092");
  ASSERT_EQ(p.output_kafka->properties.size(), 1u);
  EXPECT_EQ(p.output_kafka->properties[0].first, "acks");
  ASSERT_EQ(p.outputs.size(), 4u);
  EXPECT_EQ(p.outputs[3].name, "avg_cpu");

  // `sluice sql` reads files, and writes a Kafka table as well as `serve` does.
  EXPECT_NE(error_of(kKafkaScript)
                .find("line 8, column 17: a 'kafka' source table is read by "
                      "sluice serve --sql FILE"),
            std::string::npos);
  const SqlPlan to_kafka = plan_sql(with_table(R"sql(
CREATE TABLE out (n BIGINT) WITH ('connector' = 'kafka', 'topic' = 'n', 'format' = 'json',
                                  'properties.bootstrap.servers' = 'b:9092');
INSERT INTO out SELECT COUNT(*) FROM events)sql"));
  EXPECT_EQ(to_kafka.input_kind, SqlConnector::Kind::file);
  EXPECT_EQ(to_kafka.input, "events.csv");
  ASSERT_TRUE(to_kafka.output_kafka.has_value());
  EXPECT_EQ(to_kafka.output_kafka->topic, "n");
}

TEST(SqlPlan, ServeTablesAreWhatClientsWrite) {
  const SqlPlan p = plan_sql(R"sql(
CREATE TABLE cpu (time TIMESTAMP(9), host STRING, usage_user DOUBLE,
                  WATERMARK FOR time AS time - INTERVAL '5' SECOND)
  WITH ('connector' = 'serve', 'measurement' = 'cpu');
SELECT window_start, host, MAX(usage_user) AS peak
FROM TABLE(TUMBLE(TABLE cpu, DESCRIPTOR(time), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end, host)sql",
                             SqlCommand::serve);
  EXPECT_EQ(p.input_kind, SqlConnector::Kind::serve);
  EXPECT_EQ(p.measurement, "cpu");
  EXPECT_FALSE(p.message_time);
  EXPECT_TRUE(p.input.empty());
  EXPECT_EQ(p.schema.field(0).type, DataType::timestamp(TimeUnit::ns));
  EXPECT_EQ(p.window.size, 60s);
  // A line-protocol Kafka table picks a measurement too.
  const SqlPlan line = plan_sql(R"sql(
CREATE TABLE cpu (time TIMESTAMP(9), usage DOUBLE, WATERMARK FOR time AS time)
  WITH ('connector' = 'kafka', 'topic' = 't', 'properties.bootstrap.servers' = 'b:1',
        'format' = 'line', 'measurement' = 'cpu');
SELECT COUNT(*) FROM cpu)sql",
                                SqlCommand::serve);
  EXPECT_EQ(line.input_kafka.format, "line");
  EXPECT_EQ(line.measurement, "cpu");
  EXPECT_TRUE(line.input_kafka.group.empty());
}

TEST(SqlPlan, ConnectorErrorsPointAtTheOption) {
  const auto source = [](const std::string& with, const std::string& ts = "ts TIMESTAMP(3)") {
    return "CREATE TABLE t (" + ts + ", v DOUBLE, WATERMARK FOR ts AS ts)\nWITH (" + with +
           ");\nSELECT COUNT(*) FROM t";
  };
  const std::string kafka =
      "'connector' = 'kafka', 'topic' = 't', "
      "'properties.bootstrap.servers' = 'b:9092'";
  struct Case {
    std::string script;
    std::string where;
    std::string says;
  };
  const std::vector<Case> cases = {
      {source("'connector' = 'csv', 'path' = 'x.csv'"), "line 2, column 21",
       "sluice serve reads what clients write ('connector' = 'serve') or a Kafka topic"},
      {source("'connector' = 'kafka', 'properties.bootstrap.servers' = 'b:9092'"),
       "line 2, column 21", "a 'kafka' table needs 'topic' = 'TOPIC'"},
      {source("'connector' = 'kafka', 'topic' = 't'"), "line 2, column 21",
       "needs 'properties.bootstrap.servers'"},
      {source(kafka + ", 'format' = 'avro'"), "line 2, column 99",
       "unknown format 'avro' (a Kafka source reads 'json', 'csv' or 'line')"},
      {source(kafka + ", 'format' = 'json', 'value.format' = 'json'"), "line 2, column 107",
       "'format' and 'value.format' say the same"},
      {source(kafka + ", 'measurement' = 'cpu'"), "line 2, column 88",
       "'measurement' picks line-protocol points: it needs 'format' = 'line'"},
      {source(kafka + ", 'scan.startup.mode' = 'latest-offset'"), "line 2, column 88",
       "unknown option 'scan.startup.mode' (options: 'connector', 'topic', 'format', "
       "'value.format', 'measurement', 'properties.*')"},
      {source(kafka + ", 'properties.acks' = ''"), "line 2, column 108",
       "'properties.acks' is empty"},
      {source("'connector' = 'serve', 'path' = 'x'"), "line 2, column 30",
       "unknown option 'path' (options: 'connector', 'measurement')"},
      {source("'connector' = 'kafka', 'topic' = 'logs/app', "
              "'properties.bootstrap.servers' = 'b:9092'"),
       "line 2, column 40", "'topic' 'logs/app' is no Kafka topic name"},
      {source("'connector' = 'serve'", "ts INT"), "line 1, column 49",
       "of line protocol must be a TIMESTAMP or a BIGINT"},
      {source("'connector' = 'http'"), "line 2, column 21",
       "unknown connector 'http' (connectors: 'serve', 'kafka')"},
      {"CREATE TABLE t (ts TIMESTAMP(3), WATERMARK FOR ts AS ts);\nSELECT COUNT(*) FROM t",
       "line 1, column 14",
       "table 't' needs WITH ('connector' = 'serve') or WITH ('connector' = "
       "'kafka'"},
      {source("'connector' = 'serve'", "ts TIMESTAMP(3) METADATA FROM 'timestamp'"),
       "line 1, column 33", "METADATA comes with Kafka messages"},
      {source(kafka, "ts TIMESTAMP(3) METADATA FROM 'offset'"), "line 1, column 33",
       "unknown metadata 'offset' (a Kafka message's: 'timestamp')"},
      {source(kafka, "ts TIMESTAMP(3) METADATA FROM ''"), "line 1, column 47",
       "the metadata key is empty"},
      {"CREATE TABLE t (ts TIMESTAMP(3), at TIMESTAMP(3) METADATA FROM 'timestamp', "
       "WATERMARK FOR ts AS ts)\nWITH (" +
           kafka + ");\nSELECT COUNT(*) FROM t",
       "line 1, column 50", "the message timestamp can only be the event time"},
      {source(kafka + ", 'format' = 'csv'", "ts TIMESTAMP(3) METADATA FROM 'timestamp'"),
       "line 1, column 33", "the event time of 'csv' values is their own column"},
      {"CREATE TABLE t (ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('connector' = 'serve');\n"
       "CREATE TABLE o (n BIGINT) WITH ('connector' = 'serve');\nINSERT INTO o SELECT COUNT(*) "
       "FROM t",
       "line 2, column 47", "a 'serve' table is what clients write: a source, not a sink"},
      {"CREATE TABLE t (ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('connector' = 'serve');\n"
       "CREATE TABLE o (n BIGINT) WITH (" +
           kafka +
           ", 'format' = 'csv');\nINSERT INTO o SELECT "
           "COUNT(*) FROM t",
       "line 2, column 125", "unknown format 'csv' (a Kafka sink writes 'json')"},
      {"CREATE TABLE t (ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('connector' = 'serve');\n"
       "CREATE TABLE o (n BIGINT) WITH (" +
           kafka +
           ", 'properties.group.id' = 'g');\nINSERT INTO o "
           "SELECT COUNT(*) FROM t",
       "line 2, column 114", "a sink has no consumer group"},
  };
  for (const Case& c : cases) {
    const std::string message = error_of(c.script, nullptr, SqlCommand::serve);
    EXPECT_EQ(message.rfind(c.where + ": ", 0), 0u) << c.script << "\n" << message;
    EXPECT_NE(message.find(c.says), std::string::npos) << c.script << "\n" << message;
  }
  // Under `sluice sql`, a 'serve' table has no clients.
  EXPECT_NE(error_of(source("'connector' = 'serve'"))
                .find("a 'serve' table is read by sluice "
                      "serve --sql FILE"),
            std::string::npos);
}
