// `sluice sql` end to end: for random out-of-order CSV streams, a script's windows are exactly
// those of the equivalent `sluice run` flags (the same query underneath), in the columns and
// order the SELECT list names; HAVING keeps the windows a brute-force filter keeps; errors
// point at the script's line and column.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "cli/cli_process.hpp"

namespace {

namespace fs = std::filesystem;

using sluice::test::Outcome;
using sluice::test::slurp;

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, sep)) parts.push_back(part);
  if (!text.empty() && text.back() == sep && sep == ',') parts.emplace_back();
  return parts;
}

/// A CSV text as rows of cells (the first row is the header).
using Table = std::vector<std::vector<std::string>>;

Table cells(const std::string& csv) {
  Table rows;
  for (const std::string& line : split(csv, '\n')) rows.push_back(split(line, ','));
  return rows;
}

/// The columns of `t` named `names`, in that order, data rows only.
Table columns(const Table& t, const std::vector<std::string>& names) {
  std::vector<std::size_t> at;
  for (const std::string& n : names) {
    const auto it = std::find(t.at(0).begin(), t.at(0).end(), n);
    EXPECT_NE(it, t.at(0).end()) << "no column " << n;
    at.push_back(static_cast<std::size_t>(it - t.at(0).begin()));
  }
  Table out;
  for (std::size_t r = 1; r < t.size(); ++r) {
    std::vector<std::string> row;
    for (const std::size_t c : at) row.push_back(t[r].at(c));
    out.push_back(row);
  }
  return out;
}

Table body(const Table& t) { return Table(t.begin() + (t.empty() ? 0 : 1), t.end()); }

class SqlCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = fs::temp_directory_path() /
           ("sluice_sql_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  Outcome run(const std::vector<std::string>& args) const {
    return sluice::test::run_sluice(dir_, args);
  }

  /// A random out-of-order stream of `rows` events in events.csv: times drift forward and
  /// arrive up to 1.5 s out of order, one event in 20 about 20 s late; hosts are skewed (one
  /// takes half the events).
  void write_events(std::uint32_t seed, int rows) const {
    std::mt19937_64 rng(seed);
    std::ofstream out(dir_ / "events.csv");
    out << "ts,host,cpu,status\n";
    const char* hosts[] = {"web-1", "web-1", "web-1", "web-2", "db-1", "db-2"};
    const int statuses[] = {200, 200, 200, 404, 500};
    std::int64_t t = 1'700'000'000'000;
    for (int i = 0; i < rows; ++i) {
      t += static_cast<std::int64_t>(rng() % 60);
      std::int64_t ts = t - static_cast<std::int64_t>(rng() % 1500);
      if (rng() % 20 == 0) ts -= 20'000;
      out << ts << ',' << hosts[rng() % 6] << ',' << (rng() % 10000) / 100.0 << ','
          << statuses[rng() % 5] << '\n';
    }
  }

  /// `sluice run` over events.csv with the table's schema and watermark, and `flags`.
  Outcome run_flags(const std::vector<std::string>& flags) const {
    std::vector<std::string> args = {"run",    "--input", "events.csv",  "--schema", kSchema,
                                     "--time", "ts",      "--max-delay", "2s",       "--quiet"};
    args.insert(args.end(), flags.begin(), flags.end());
    return run(args);
  }
  /// `sluice sql` of the events table and `query`, with `flags`.
  Outcome run_sql(const std::string& query, const std::vector<std::string>& flags = {}) const {
    std::vector<std::string> args = {"sql", "-e", std::string(kTable) + query, "--quiet"};
    args.insert(args.end(), flags.begin(), flags.end());
    return run(args);
  }

  static constexpr const char* kSchema = "ts:timestamp[ms],host:string,cpu:f32,status:i32";
  static constexpr const char* kTable = R"sql(CREATE TABLE events (
  ts TIMESTAMP(3), host STRING, cpu FLOAT, status INT,
  WATERMARK FOR ts AS ts - INTERVAL '2' SECOND
) WITH ('connector' = 'csv', 'path' = 'events.csv');
)sql";
  fs::path dir_;
};

/// A query written both ways, and the flags' output columns the SELECT list shows.
struct Equivalent {
  std::vector<std::string> flags;
  std::string sql;
  std::vector<std::string> shown;
  std::vector<std::string> extra = {};  ///< flags for both commands
};

const std::string kTumble =
    " FROM TABLE(TUMBLE(TABLE events, DESCRIPTOR(ts), INTERVAL '10' SECOND))";

std::vector<Equivalent> equivalents() {
  return {
      {{"--window", "tumbling:10s", "--key", "host", "--where",
        "status == 200 and cpu >= 10 and cpu <= 90", "--agg",
        "count,sum(cpu),min(cpu),max(cpu),avg(cpu),first(cpu),last(cpu)"},
       "SELECT window_start, window_end, host, COUNT(*), SUM(cpu), MIN(cpu), MAX(cpu), AVG(cpu), "
       "FIRST_VALUE(cpu), LAST_VALUE(cpu)" +
           kTumble +
           " WHERE status = 200 AND cpu BETWEEN 10 AND 90"
           " GROUP BY window_start, window_end, host",
       {"window_start", "window_end", "host", "count", "sum(cpu)", "min(cpu)", "max(cpu)",
        "avg(cpu)", "first(cpu)", "last(cpu)", "update"}},
      {{"--window", "sliding:10s/2s", "--key", "host,status", "--where",
        "host == 'web-2' or host == 'db-1' or not (status == 200)", "--agg", "count,max(cpu)"},
       "SELECT window_start, window_end, host, status, COUNT(*) AS c, MAX(cpu) AS m"
       " FROM TABLE(HOP(TABLE events, DESCRIPTOR(ts), INTERVAL '2' SECOND, INTERVAL '10' SECOND))"
       " WHERE host IN ('web-2', 'db-1') OR NOT status = 200"
       " GROUP BY window_start, window_end, host, status",
       {"window_start", "window_end", "host", "status", "count", "max(cpu)", "update"}},
      // The SELECT list in another order, a subset of the bounds, late updates.
      {{"--window", "tumbling:10s@3s", "--key", "host", "--agg", "avg(cpu),count"},
       "SELECT host, AVG(cpu) AS a, window_end, COUNT(*) FROM TABLE(TUMBLE(TABLE events, "
       "DESCRIPTOR(ts), INTERVAL '10' SECOND, INTERVAL '3' SECOND)) "
       "GROUP BY window_start, window_end, host",
       {"host", "avg(cpu)", "window_end", "count", "update"},
       {"--allowed-lateness", "30s", "--workers", "2"}},
      {{"--window", "cumulate:10s/2s", "--key", "host", "--agg", "count,avg(cpu),last(cpu)"},
       "SELECT window_start, window_end, host, COUNT(*), AVG(cpu), LAST_VALUE(cpu)"
       " FROM TABLE(CUMULATE(TABLE events, DESCRIPTOR(ts), INTERVAL '2' SECOND, INTERVAL '10' "
       "SECOND)) GROUP BY window_start, window_end, host",
       {"window_start", "window_end", "host", "count", "avg(cpu)", "last(cpu)", "update"},
       {"--allowed-lateness", "5s"}},
      {{"--window", "tumbling:10s", "--key", "host", "--where",
        "host like 'web-%' and not (host like '%2')", "--agg", "count,min(cpu)"},
       "SELECT window_start, window_end, host, COUNT(*), MIN(cpu)" + kTumble +
           " WHERE host LIKE 'web-%' AND host NOT LIKE '%2' GROUP BY window_start, window_end, "
           "host",
       {"window_start", "window_end", "host", "count", "min(cpu)", "update"}},
      // One window over everything, no keys: FROM the table itself.
      {{"--window", "global", "--where", "cpu * 2 > 50.5 and status != 404", "--agg",
        "sum(cpu),count"},
       "SELECT SUM(cpu), COUNT(*) FROM events WHERE cpu * 2 > 50.5 AND status <> 404",
       {"sum(cpu)", "count", "update"}},
  };
}

TEST_F(SqlCliTest, ScriptsGiveTheWindowsOfTheEquivalentFlags) {
  for (const int rows : {0, 1, 777, 6000}) {
    for (std::uint32_t seed = 1; seed <= 2; ++seed) {
      write_events(seed * 7919 + static_cast<std::uint32_t>(rows), rows);
      for (const Equivalent& q : equivalents()) {
        std::vector<std::string> flags = q.flags;
        flags.insert(flags.end(), q.extra.begin(), q.extra.end());
        const Outcome by_flags = run_flags(flags);
        ASSERT_EQ(by_flags.code, 0) << by_flags.err;
        const Outcome by_sql = run_sql(q.sql, q.extra);
        ASSERT_EQ(by_sql.code, 0) << q.sql << "\n" << by_sql.err;
        const Table expected = columns(cells(by_flags.out), q.shown);
        const Table got = body(cells(by_sql.out));
        EXPECT_EQ(got, expected) << q.sql << " (" << rows << " rows, seed " << seed << ")";
        if (rows > 1000) {
          EXPECT_GT(got.size(), 0u) << q.sql;
        }
      }
    }
  }
}

TEST_F(SqlCliTest, HeaderNamesTheSelectItemsByAliasOrText) {
  write_events(3, 100);
  const Outcome o = run_sql("SELECT host, window_start AS s, COUNT(*), avg(cpu) AS `mean cpu`" +
                            kTumble + " GROUP BY window_start, window_end, host");
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.out.substr(0, o.out.find('\n')), "host,s,COUNT(*),mean cpu,update");
}

TEST_F(SqlCliTest, HavingKeepsTheWindowsThatPassIt) {
  for (std::uint32_t seed = 1; seed <= 3; ++seed) {
    write_events(seed, 4000);
    const Outcome by_flags =
        run_flags({"--window", "tumbling:5s", "--key", "host", "--agg", "count,max(cpu)"});
    ASSERT_EQ(by_flags.code, 0) << by_flags.err;
    // The brute-force HAVING: rows of the flags' output whose count and max pass.
    Table expected;
    for (const std::vector<std::string>& row :
         columns(cells(by_flags.out), {"window_start", "host", "count", "max(cpu)", "update"}))
      if (std::stoll(row[2]) >= 20 && std::stod(row[3]) > 97.5 && row[1] != "db-2")
        expected.push_back({row[0], row[1], row[2], row[4]});
    const Outcome by_sql = run_sql(
        "SELECT window_start, host, COUNT(*) AS n FROM TABLE(TUMBLE(TABLE events, "
        "DESCRIPTOR(ts), INTERVAL '5' SECOND)) GROUP BY window_start, window_end, host "
        "HAVING n >= 20 AND MAX(cpu) > 97.5 AND NOT host = 'db-2'");
    ASSERT_EQ(by_sql.code, 0) << by_sql.err;
    const Table got = body(cells(by_sql.out));
    EXPECT_EQ(got, expected);
    // The flags say the same with named aggregates and --having.
    const Outcome having_flags =
        run_flags({"--window", "tumbling:5s", "--key", "host", "--agg", "count as n,max(cpu) AS m",
                   "--having", "n >= 20 and m > 97.5 and not (host == 'db-2')"});
    ASSERT_EQ(having_flags.code, 0) << having_flags.err;
    EXPECT_EQ(columns(cells(having_flags.out), {"window_start", "host", "n", "update"}), got);
    // The filter has something to keep and something to drop.
    EXPECT_GT(got.size(), 0u);
    EXPECT_LT(got.size(), cells(by_flags.out).size() - 1);
  }
}

TEST_F(SqlCliTest, InsertIntoWritesTheSinkTable) {
  write_events(4, 500);
  const Outcome o = run_sql(
      "CREATE TABLE out (s TIMESTAMP(3), e TIMESTAMP(3), n BIGINT) WITH ('connector' = "
      "'filesystem', 'path' = 'out.jsonl', 'format' = 'json');\n"
      "INSERT INTO out SELECT window_start, window_end, COUNT(*)" +
      kTumble + " GROUP BY window_start, window_end");
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.out, "");
  const std::vector<std::string> lines = split(slurp(dir_ / "out.jsonl"), '\n');
  ASSERT_GT(lines.size(), 1u);
  // The sink table's columns, nothing else (no re-emission is possible: no `update` column).
  long long s = 0, e = 0, n = 0;
  ASSERT_EQ(std::sscanf(lines[0].c_str(), "{\"s\":%lld,\"e\":%lld,\"n\":%lld}", &s, &e, &n), 3)
      << lines[0];
  EXPECT_EQ(lines[0].back(), '}');
  EXPECT_EQ(e - s, 10000);
  EXPECT_GT(n, 0);
  // With late updates, the sink needs an `update` column to mark them.
  const std::string sink_with_update =
      "CREATE TABLE out (n BIGINT, `update` BOOLEAN) WITH ('connector' = 'csv', 'path' = "
      "'o.csv');\nINSERT INTO out SELECT COUNT(*)" +
      kTumble + " GROUP BY window_start, window_end";
  ASSERT_EQ(run_sql(sink_with_update, {"--allowed-lateness", "30s"}).code, 0);
  EXPECT_EQ(split(slurp(dir_ / "o.csv"), '\n').at(0), "n,update");
  const Outcome no_marker = run_sql(
      "CREATE TABLE out (n BIGINT) WITH ('connector' = 'csv', 'path' = 'o.csv');\n"
      "INSERT INTO out SELECT COUNT(*)" +
          kTumble + " GROUP BY window_start, window_end",
      {"--allowed-lateness", "30s"});
  EXPECT_EQ(no_marker.code, 2);
  EXPECT_NE(no_marker.err.find("no last column `update BOOLEAN`"), std::string::npos)
      << no_marker.err;
  // --output cannot name a second place for them.
  EXPECT_EQ(run_sql("CREATE TABLE out (n BIGINT) WITH ('connector' = 'csv', 'path' = 'o.csv');"
                    "INSERT INTO out SELECT COUNT(*) FROM events",
                    {"--output", "x.csv"})
                .code,
            2);
}

TEST_F(SqlCliTest, ExplainPrintsThePlanAndRunsNothing) {
  write_events(5, 100);
  const Outcome o = run_sql("EXPLAIN SELECT window_start, host, COUNT(*) AS n" + kTumble +
                            " WHERE status IN (200, 404) GROUP BY window_start, window_end, host "
                            "HAVING AVG(cpu) > 1");
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_NE(o.out.find("schema: ts:timestamp[ms],host:string,cpu:f32,status:i32 (CREATE TABLE "
                       "events)"),
            std::string::npos)
      << o.out;
  EXPECT_NE(o.out.find("where ((status == 200) or (status == 404)); key by host"),
            std::string::npos)
      << o.out;
  EXPECT_NE(o.out.find("having (AVG(cpu) > 1)"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("aggregates: n = count(), AVG(cpu) = avg(cpu)"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("output: window_start, host, n, update"), std::string::npos) << o.out;
  EXPECT_EQ(o.out.find("1700000000000"), std::string::npos) << "no windows: " << o.out;
  // The input is not even opened.
  const Outcome missing =
      run({"sql", "-e",
           "CREATE TABLE t (ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('connector' = 'csv', "
           "'path' = 'missing.csv'); EXPLAIN SELECT COUNT(*) FROM t"});
  EXPECT_EQ(missing.code, 0) << missing.err;
  EXPECT_NE(missing.out.find("input: missing.csv"), std::string::npos) << missing.out;
}

TEST_F(SqlCliTest, ErrorsNameLineAndColumnWithACaret) {
  write_events(6, 10);
  const Outcome o = run_sql("SELECT window_start, window_end, COUNT(*)\n" + kTumble +
                            "\nWHERE statuz = 200\nGROUP BY window_start, window_end");
  EXPECT_EQ(o.code, 2);
  // The table takes lines 1-4; the query starts on line 5.
  EXPECT_NE(o.err.find("sluice sql: line 7, column 7: unknown column 'statuz'"), std::string::npos)
      << o.err;
  EXPECT_NE(o.err.find("\n  WHERE statuz = 200\n        ^\n"), std::string::npos) << o.err;
  // A script file is read as given.
  std::ofstream(dir_ / "bad.sql") << "SELECT COUNT(*)\nFROM nowhere";
  const Outcome f = run({"sql", "-f", "bad.sql"});
  EXPECT_EQ(f.code, 2);
  EXPECT_NE(f.err.find("line 2, column 6: unknown table 'nowhere'"), std::string::npos) << f.err;
}

TEST_F(SqlCliTest, UsageErrors) {
  EXPECT_EQ(run({"sql"}).code, 2);
  EXPECT_NE(run({"sql"}).err.find("-e 'SELECT ...' or -f FILE.sql"), std::string::npos);
  EXPECT_EQ(run({"sql", "-e", "x", "-f", "y"}).code, 2);
  const Outcome missing = run({"sql", "-f", "missing.sql"});
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.err.find("cannot read 'missing.sql'"), std::string::npos) << missing.err;
  const Outcome flag = run({"sql", "-e", "SELECT 1", "--window", "global"});
  EXPECT_EQ(flag.code, 2);
  EXPECT_NE(flag.err.find("unknown flag '--window'"), std::string::npos) << flag.err;
  const Outcome help = run({"sql", "--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("Usage: sluice sql"), std::string::npos);
  EXPECT_NE(help.out.find("TUMBLE"), std::string::npos);
  // A missing input file is a runtime error, as for sluice run.
  EXPECT_EQ(run_sql("SELECT COUNT(*) FROM events").code, 1);
}

}  // namespace
