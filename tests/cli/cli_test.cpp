// Tests of the `sluice` program (exit codes, messages, CSV output against a brute-force
// reference) and of the CSV reader it streams its input with.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "cli/cli_process.hpp"
#include "sluice/batch.hpp"
#include "sluice/engine.hpp"
#include "sluice/status.hpp"

namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------
// Running the binary

using sluice::test::Outcome;
using sluice::test::shell_quote;
using sluice::test::slurp;
using sluice::test::write_file;

/// Why the sluice program cannot use a GPU here ("" when it can): the engine's own judgement.
std::string gpu_unavailable_reason() {
  std::string why;
  if (sluice::Engine::gpu_available(&why)) return {};
  return why.empty() ? "no usable GPU" : why;
}

/// Skips the calling test, with the reason, when no GPU works.
#define SKIP_WITHOUT_GPU()                                                \
  do {                                                                    \
    if (const std::string why_ = gpu_unavailable_reason(); !why_.empty()) \
      GTEST_SKIP() << "no usable GPU: " << why_;                          \
  } while (0)

/// A fresh directory per test, removed afterwards.
class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = fs::temp_directory_path() /
           ("sluice_cli_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  fs::path file(const std::string& name, const std::string& text) const {
    write_file(dir_ / name, text);
    return dir_ / name;
  }

  /// Runs `sluice ARGS...` (stdin from `stdin_file` when given) and captures its output.
  Outcome run(const std::vector<std::string>& args, const fs::path& stdin_file = {}) const {
    std::string command = shell_quote(SLUICE_CLI_PATH);
    for (const std::string& arg : args) command += " " + shell_quote(arg);
    if (!stdin_file.empty()) command += " < " + shell_quote(stdin_file.string());
    command += " > " + shell_quote((dir_ / "stdout.txt").string()) + " 2> " +
               shell_quote((dir_ / "stderr.txt").string());
    const int status = std::system(command.c_str());
    Outcome outcome;
    outcome.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    outcome.out = slurp(dir_ / "stdout.txt");
    outcome.err = slurp(dir_ / "stderr.txt");
    return outcome;
  }

  /// `sluice run` over `input` with the flags of a small valid query; `flags` (pairs of flag and
  /// value) replace those flags' values or add to them.
  Outcome run_query(const fs::path& input, const std::vector<std::string>& flags = {}) const {
    std::vector<std::pair<std::string, std::string>> query = {
        {"--input", input.string()}, {"--schema", kSchema},        {"--time", "ts"},
        {"--max-delay", "2s"},       {"--window", "tumbling:10s"}, {"--agg", "count,sum(cpu)"}};
    for (std::size_t i = 0; i + 1 < flags.size(); i += 2) {
      const auto same = [&](const auto& flag) { return flag.first == flags[i]; };
      if (const auto it = std::find_if(query.begin(), query.end(), same); it != query.end()) {
        it->second = flags[i + 1];
      } else {
        query.emplace_back(flags[i], flags[i + 1]);
      }
    }
    std::vector<std::string> args = {"run"};
    for (const auto& [flag, value] : query) args.insert(args.end(), {flag, value});
    return run(args);
  }

  static constexpr const char* kSchema = "ts:timestamp[ms],host:string,cpu:f32,status:i32";
  static constexpr const char* kHeader = "ts,host,cpu,status\n";
  fs::path dir_;
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// ---------------------------------------------------------------------------------------------
// Help, usage errors and runtime errors

TEST_F(CliTest, HelpExitsZero) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"--help"}, {"-h"}, {"run", "--help"}, {"run", "-h"}, {"demo", "--help"}}) {
    const Outcome o = run(args);
    EXPECT_EQ(o.code, 0) << args.front();
    EXPECT_NE(o.out.find("Usage: sluice"), std::string::npos) << o.out;
  }
}

TEST_F(CliTest, HelpMentionsTheGpuBackend) {
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"run", "--help"}, {"demo", "--help"}}) {
    const Outcome o = run(args);
    EXPECT_EQ(o.code, 0) << args.front();
    EXPECT_NE(o.out.find("--backend"), std::string::npos) << o.out;
    EXPECT_NE(o.out.find("gpu"), std::string::npos) << o.out;
  }
}

TEST_F(CliTest, NoSubcommandPrintsUsageAndExitsTwo) {
  const Outcome o = run({});
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.err.find("Usage: sluice"), std::string::npos) << o.err;
  EXPECT_EQ(run({"frobnicate"}).code, 2);
}

TEST_F(CliTest, UnknownFlagExitsTwo) {
  const Outcome o = run_query(file("in.csv", kHeader), {"--frobnicate", "3"});
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.err.find("sluice run: unknown flag '--frobnicate'"), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("--help"), std::string::npos) << o.err;
  EXPECT_EQ(run({"demo", "--frobnicate"}).code, 2);
}

TEST_F(CliTest, MisspeltFlagsAndCommandsAreSuggested) {
  const fs::path in = file("in.csv", kHeader);
  // A dropped letter, a swap, a wrong letter: the nearest flag is named.
  for (const auto& [typed, meant] :
       std::vector<std::pair<std::string, std::string>>{{"--windw", "--window"},
                                                        {"--wehre", "--where"},
                                                        {"--outpat", "--output"},
                                                        {"--max-dealy", "--max-delay"},
                                                        {"--resum", "--resume"}}) {
    const Outcome o = run_query(in, {typed, "x"});
    EXPECT_EQ(o.code, 2);
    EXPECT_NE(o.err.find("unknown flag '" + typed + "' (did you mean '" + meant + "'?)"),
              std::string::npos)
        << o.err;
  }
  // Nothing near: no suggestion.
  const Outcome far = run_query(in, {"--frobnicate", "3"});
  EXPECT_EQ(far.err.find("did you mean"), std::string::npos) << far.err;
  const Outcome o = run({"rnu"});
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.err.find("unknown command 'rnu' (did you mean 'run'?)"), std::string::npos) << o.err;
  EXPECT_EQ(run({"frobnicate"}).err.find("did you mean"), std::string::npos);
}

TEST_F(CliTest, VersionNamesTheVersionAndTheBackends) {
  for (const char* flag : {"--version", "version"}) {
    const Outcome o = run({flag});
    EXPECT_EQ(o.code, 0) << o.err;
    EXPECT_EQ(o.out.rfind("sluice 0.", 0), 0u) << o.out;
    EXPECT_NE(o.out.find("gpu backend: "), std::string::npos) << o.out;
    EXPECT_NE(o.out.find("ranks across processes (MPI): "), std::string::npos) << o.out;
  }
}

TEST_F(CliTest, MissingRequiredFlagExitsTwo) {
  const Outcome o = run({"run", "--input", file("in.csv", kHeader).string(), "--schema", kSchema,
                         "--time", "ts", "--window", "tumbling:10s"});
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.err.find("sluice run: missing required flag --agg"), std::string::npos) << o.err;
}

TEST_F(CliTest, BadFlagValuesExitTwo) {
  const fs::path in = file("in.csv", kHeader);
  const std::vector<std::vector<std::string>> cases = {
      {"--max-delay", "2parsecs"}, {"--window", "hopping:10s"},  {"--workers", "-1"},
      {"--backend", "tpu"},        {"--on-error", "ignore"},     {"--partition", "range:a"},
      {"--balance", "fair"},       {"--batch-rows", "0"},        {"--agg", "median(cpu)"},
      {"--key", "host,"},          {"--allowed-lateness", "1 s"}};
  for (const auto& flag : cases) {
    const Outcome o = run_query(in, flag);
    EXPECT_EQ(o.code, 2) << flag[0] << " " << flag[1] << ": " << o.err;
    EXPECT_NE(o.err.find("sluice run: " + flag[0] + ":"), std::string::npos) << o.err;
  }
}

TEST_F(CliTest, BadTypeInSchemaExitsTwo) {
  const Outcome o = run_query(file("in.csv", kHeader),
                              {"--schema", "ts:timestamp[ms],host:strang,cpu:f32,status:i32"});
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.err.find("sluice run: --schema:"), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("strang"), std::string::npos) << o.err;
}

TEST_F(CliTest, BadExpressionNamesThePosition) {
  const Outcome o = run_query(file("in.csv", kHeader), {"--where", "cpu > > 50"});
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.err.find("sluice run: --where:"), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("position 7"), std::string::npos) << o.err;
}

TEST_F(CliTest, UnknownColumnInQueryExitsTwo) {
  const fs::path in = file("in.csv", std::string(kHeader) + "1000,a,1,200\n");
  Outcome o = run_query(in, {"--key", "hostname"});
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.err.find("'hostname'"), std::string::npos) << o.err;
  o = run_query(in, {"--where", "load > 5"});
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.err.find("'load'"), std::string::npos) << o.err;
  o = run_query(in, {"--agg", "count,max(memory)"});
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.err.find("'memory'"), std::string::npos) << o.err;
  o = run_query(in, {"--time", "when"});
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.err.find("'when'"), std::string::npos) << o.err;
}

TEST_F(CliTest, SchemaColumnMissingFromHeaderExitsOne) {
  const fs::path in = file("in.csv", "ts,host,cpu\n1000,a,1\n");
  const Outcome o = run_query(in);
  EXPECT_EQ(o.code, 1);
  EXPECT_NE(o.err.find("'status'"), std::string::npos) << o.err;
  EXPECT_NE(o.err.find(in.string()), std::string::npos) << o.err;
}

TEST_F(CliTest, MissingOrEmptyInputExitsOne) {
  Outcome o = run_query(dir_ / "no-such-file.csv");
  EXPECT_EQ(o.code, 1);
  EXPECT_NE(o.err.find("no-such-file.csv"), std::string::npos) << o.err;
  o = run_query(file("empty.csv", ""));
  EXPECT_EQ(o.code, 1);
  EXPECT_NE(o.err.find("header"), std::string::npos) << o.err;
}

TEST_F(CliTest, GpuBackendWithoutGpuExitsOne) {
  if (gpu_unavailable_reason().empty()) GTEST_SKIP() << "a GPU works here";
  const Outcome o = run_query(file("in.csv", kHeader), {"--backend", "gpu"});
  EXPECT_EQ(o.code, 1) << o.err;
  EXPECT_NE(o.err.find("sluice run:"), std::string::npos) << o.err;
  EXPECT_EQ(run({"demo", "--events", "1000", "--backend", "gpu"}).code, 1);
}

// ---------------------------------------------------------------------------------------------
// Malformed rows

TEST_F(CliTest, MalformedRowIsSkippedAndCountedByDefault) {
  const fs::path in = file("in.csv", std::string(kHeader) +
                                         "1000,a,1.5,200\n"        // line 2
                                         "2000,a,2.5,200\n"        // line 3
                                         "3000,a,abc,200\n"        // line 4: bad cpu
                                         "4000,a,4\n"              // line 5: a field short
                                         "5000,a,5,99999999999\n"  // line 6: out of i32 range
                                         "6000,a,6,200\n");
  const Outcome o = run_query(in, {"--key", "host"});
  EXPECT_EQ(o.code, 0) << o.err;
  const std::string path = in.string();
  EXPECT_NE(o.err.find(path + ":4: column 'cpu': cannot parse 'abc' as f32"), std::string::npos)
      << o.err;
  EXPECT_NE(o.err.find(path + ":5: expected 4 fields"), std::string::npos) << o.err;
  EXPECT_NE(o.err.find(path + ":6: column 'status': value '99999999999' out of range for i32"),
            std::string::npos)
      << o.err;
  EXPECT_NE(o.err.find("malformed=3"), std::string::npos) << o.err;
  EXPECT_EQ(lines_of(o.out),
            (std::vector<std::string>{"window_start,window_end,host,count,sum(cpu),update",
                                      "0,10000,a,3,10,false"}));
}

TEST_F(CliTest, OnlyTheFirstTenMalformedRowsAreReported) {
  std::string text = kHeader;
  for (int i = 0; i < 15; ++i)
    text += std::to_string(1000 + i) + ",a,x" + std::to_string(i) + ",200\n";
  text += "1000,a,1,200\n";
  const Outcome o = run_query(file("in.csv", text));
  EXPECT_EQ(o.code, 0) << o.err;
  std::size_t reported = 0;
  for (const std::string& line : lines_of(o.err)) {
    reported += line.find("cannot parse") != std::string::npos ? 1 : 0;
  }
  EXPECT_EQ(reported, 10u) << o.err;
  EXPECT_NE(o.err.find("skipped 15 malformed rows"), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("malformed=15"), std::string::npos) << o.err;
}

TEST_F(CliTest, MalformedRowIsFatalWithOnErrorFail) {
  const fs::path in =
      file("in.csv", std::string(kHeader) + "1000,a,1.5,200\n2000,a,2.5,200\n3000,a,abc,200\n");
  const Outcome o = run_query(in, {"--on-error", "fail"});
  EXPECT_EQ(o.code, 1);
  EXPECT_NE(
      o.err.find("sluice run: " + in.string() + ":4: column 'cpu': cannot parse 'abc' as f32"),
      std::string::npos)
      << o.err;
  EXPECT_EQ(lines_of(o.out).size(), std::size_t{1}) << o.out;  // the header, no windows
}

// ---------------------------------------------------------------------------------------------
// Small end-to-end cases

TEST_F(CliTest, HeaderOnlyInputGivesHeaderOnlyOutput) {
  const Outcome o = run_query(file("in.csv", kHeader), {"--key", "host"});
  EXPECT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.out, "window_start,window_end,host,count,sum(cpu),update\n");
  EXPECT_NE(o.err.find("events=0"), std::string::npos) << o.err;
}

TEST_F(CliTest, SingleEvent) {
  const fs::path in = file("in.csv", std::string(kHeader) + "12345,web-1,42.5,200\n");
  Outcome o = run_query(in, {"--key", "host,status"});
  EXPECT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.out,
            "window_start,window_end,host,status,count,sum(cpu),update\n"
            "10000,20000,web-1,200,1,42.5,false\n");
  o = run_query(in, {"--window", "sliding:10s/5s", "--agg", "count,min(cpu),avg(cpu)", "--output",
                     (dir_ / "out.csv").string()});
  EXPECT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.out, "");
  EXPECT_EQ(slurp(dir_ / "out.csv"),
            "window_start,window_end,count,min(cpu),avg(cpu),update\n"
            "5000,15000,1,42.5,42.5,false\n"
            "10000,20000,1,42.5,42.5,false\n");
}

TEST_F(CliTest, QuotedFieldsCrlfAndStdin) {
  const fs::path in = file("in.csv",
                           "status,\"host\",cpu,ts,comment\r\n"
                           "200,\"a,b\",1,1000,\"say \"\"hi\"\"\"\r\n"
                           "200,\"say \"\"hi\"\"\",2,2000,x\r\n"
                           "200,\"two\nlines\",3,3000,y\r\n"
                           "\r\n"
                           "200,c,bad,4000,z\r\n");
  const Outcome o = run({"run", "--input", "-", "--schema", kSchema, "--time", "ts", "--window",
                         "tumbling:10s", "--agg", "count", "--key", "host"},
                        in);
  EXPECT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.out,
            "window_start,window_end,host,count,update\n"
            "0,10000,\"a,b\",1,false\n"
            "0,10000,\"say \"\"hi\"\"\",1,false\n"
            "0,10000,\"two\nlines\",1,false\n");
  // The bad row is on physical line 7: the quoted line break and the blank line count.
  EXPECT_NE(o.err.find("stdin:7: column 'cpu': cannot parse 'bad' as f32"), std::string::npos)
      << o.err;
}

TEST_F(CliTest, DemoRunsQuickly) {
  const Outcome o = run({"demo", "--events", "100000", "--workers", "2", "--backend", "cpu"});
  EXPECT_EQ(o.code, 0) << o.err;
  EXPECT_NE(o.out.find("region"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("100000 events"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("backend cpu"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("2 workers"), std::string::npos) << o.out;
}

TEST_F(CliTest, DemoAutoWithoutGpuSaysCpuAndWhy) {
  const std::string why = gpu_unavailable_reason();
  if (why.empty()) GTEST_SKIP() << "a GPU works here (CliGpu.DemoAutoChoosesTheGpu covers it)";
  const Outcome o = run({"demo", "--events", "20000", "--backend", "auto"});
  EXPECT_EQ(o.code, 0) << o.err;
  EXPECT_NE(o.out.find("backend cpu (no usable GPU ("), std::string::npos) << o.out;
  EXPECT_NE(o.out.find(why), std::string::npos) << "the reason: " << why << "\n" << o.out;
}

// ---------------------------------------------------------------------------------------------
// End to end against a brute-force reference

struct Event {
  std::int64_t ts = 0;
  std::string host;
  std::string region;
  double cpu = 0;  // as the engine stores it (rounded to float for f32)
  std::int64_t status = 0;
};

/// One `sluice run` configuration.
struct Scenario {
  std::string name;
  std::string window;  // "tumbling:10s" or "sliding:10s/2s"
  std::vector<std::string> keys;
  bool filter = false;
  int workers = 1;
  std::string batch_rows = "1048576";
  std::string cpu_type = "f32";
  std::vector<std::string> extra;  // more flags
  bool use_stdin = false;
};

std::ostream& operator<<(std::ostream& out, const Scenario& s) { return out << s.name; }

constexpr std::int64_t kBaseMs = 1'700'000'000'000;
constexpr int kRows = 200'000;

// Random out-of-order telemetry: 200,000 rows over ~1000 s, jitter up to 2 s, 50 hosts (one of
// them with a comma and quotes in its name), 2 regions. Columns in another order than the
// schema, plus one the schema does not have.
std::string generate_csv(std::uint64_t seed, bool single_precision, std::vector<Event>& events) {
  std::mt19937_64 random(seed);
  std::uniform_int_distribution<int> host(0, 49), jitter(0, 2000), percent(0, 99);
  std::uniform_real_distribution<double> load(0, 100);
  std::string csv = "host,ts,note,cpu,region,status\n";
  for (int i = 0; i < kRows; ++i) {
    Event e;
    const int h = host(random);
    e.host = h == 7 ? "odd,host \"7\"" : "host-" + std::to_string(h);
    e.region = percent(random) < 50 ? "eu-west" : "us-east";
    e.ts = kBaseMs + i * 5 - jitter(random);
    const int p = percent(random);
    e.status = p < 80 ? 200 : p < 90 ? 500 : 404;
    char cpu_text[32];
    if (percent(random) < 30) {
      std::snprintf(cpu_text, sizeof(cpu_text), "%d", static_cast<int>(load(random)));
    } else {
      std::snprintf(cpu_text, sizeof(cpu_text), "%.3f", load(random));
    }
    e.cpu = std::strtod(cpu_text, nullptr);
    if (single_precision) e.cpu = static_cast<float>(e.cpu);
    const std::string host_field = h == 7 ? "\"odd,host \"\"7\"\"\"" : e.host;
    csv += host_field + "," + std::to_string(e.ts) + ",n" + std::to_string(i) + "," + cpu_text +
           "," + e.region + "," + std::to_string(e.status) + "\n";
    events.push_back(std::move(e));
  }
  return csv;
}

struct Aggregates {
  std::int64_t count = 0;
  long double sum = 0;
  double min = INFINITY;
  double max = -INFINITY;
  std::int64_t status_sum = 0;
};

using Groups = std::map<std::vector<std::string>, Aggregates>;  // {start, end, keys...}

std::string key_text(const Event& e, const std::string& column) {
  if (column == "host") return e.host;
  if (column == "region") return e.region;
  if (column == "status") return std::to_string(e.status);
  ADD_FAILURE() << "no key column " << column;
  return {};
}

Groups reference(const std::vector<Event>& events, const Scenario& s) {
  const std::int64_t size = 10'000;
  const std::int64_t slide = s.window.starts_with("sliding") ? 2'000 : size;
  Groups groups;
  for (const Event& e : events) {
    if (s.filter && !(e.cpu > 50 && e.status == 200)) continue;
    for (std::int64_t start = e.ts / slide * slide; start > e.ts - size; start -= slide) {
      std::vector<std::string> key = {std::to_string(start), std::to_string(start + size)};
      for (const std::string& column : s.keys) key.push_back(key_text(e, column));
      Aggregates& a = groups[key];
      ++a.count;
      a.sum += e.cpu;
      a.min = std::min(a.min, e.cpu);
      a.max = std::max(a.max, e.cpu);
      a.status_sum += e.status;
    }
  }
  return groups;
}

std::vector<std::string> split_csv_record(const std::string& line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted && c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
      fields.back() += '"';
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  return fields;
}

bool near(double actual, long double expected) {
  return std::fabs(actual - static_cast<double>(expected)) <=
         1e-6 * std::max(1.0, std::fabs(static_cast<double>(expected)));
}

class CliEndToEndTest : public CliTest, public ::testing::WithParamInterface<Scenario> {};

TEST_P(CliEndToEndTest, MatchesBruteForceReference) {
  const Scenario& s = GetParam();
  std::vector<Event> events;
  const fs::path in = file("in.csv", generate_csv(1234 + s.workers, s.cpu_type == "f32", events));
  std::vector<std::string> args = {
      "run",
      "--input",
      s.use_stdin ? "-" : in.string(),
      "--schema",
      "ts:timestamp[ms],host:string,region:string,cpu:" + s.cpu_type + ",status:i32",
      "--time",
      "ts",
      "--max-delay",
      "2s",
      "--window",
      s.window,
      "--agg",
      "count,sum(cpu),min(cpu),max(cpu),avg(cpu),sum(status)",
      "--workers",
      std::to_string(s.workers),
      "--batch-rows",
      s.batch_rows};
  if (!s.keys.empty()) {
    std::string keys;
    for (const std::string& k : s.keys) keys += (keys.empty() ? "" : ",") + k;
    args.insert(args.end(), {"--key", keys});
  }
  if (s.filter) args.insert(args.end(), {"--where", "cpu > 50 and status == 200"});
  args.insert(args.end(), s.extra.begin(), s.extra.end());
  const Outcome o = run(args, s.use_stdin ? in : fs::path());
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_NE(o.err.find("events=" + std::to_string(kRows) + " "), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("late=0 malformed=0"), std::string::npos) << o.err;

  const std::vector<std::string> lines = lines_of(o.out);
  ASSERT_FALSE(lines.empty());
  std::string header = "window_start,window_end";
  for (const std::string& k : s.keys) header += "," + k;
  EXPECT_EQ(lines[0], header + ",count,sum(cpu),min(cpu),max(cpu),avg(cpu),sum(status),update");

  const std::size_t width = 2 + s.keys.size();
  std::map<std::vector<std::string>, std::vector<std::string>> actual;  // the last row wins
  for (std::size_t i = 1; i < lines.size(); ++i) {
    std::vector<std::string> fields = split_csv_record(lines[i]);
    ASSERT_EQ(fields.size(), width + 7) << lines[i];
    actual[{fields.begin(), fields.begin() + static_cast<std::ptrdiff_t>(width)}] = {
        fields.begin() + static_cast<std::ptrdiff_t>(width), fields.end() - 1};
  }
  const Groups expected = reference(events, s);
  EXPECT_EQ(actual.size(), expected.size());
  for (const auto& [key, a] : expected) {
    const auto it = actual.find(key);
    if (it == actual.end()) {
      ADD_FAILURE() << "missing window " << key[0] << "-" << key[1] << " key " << key.back();
      continue;
    }
    const std::vector<std::string>& v = it->second;
    const std::string where = "window " + key[0] + " key " + key.back();
    EXPECT_EQ(std::stoll(v[0]), a.count) << where;
    EXPECT_TRUE(near(std::stod(v[1]), a.sum)) << where << ": sum " << v[1];
    // min and max of an f32 column are written as f32: the shortest text of that value.
    EXPECT_EQ(std::stof(v[2]), static_cast<float>(a.min)) << where;
    EXPECT_EQ(std::stof(v[3]), static_cast<float>(a.max)) << where;
    EXPECT_TRUE(near(std::stod(v[4]), a.sum / a.count)) << where << ": avg " << v[4];
    EXPECT_EQ(std::stoll(v[5]), a.status_sum) << where;
  }
  for (const auto& [key, v] : actual) {
    EXPECT_TRUE(expected.count(key)) << "unexpected window " << key[0] << " key " << key.back();
  }
}

// GCC 12 flags designated initializers that leave defaulted members out; that is the point here.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
std::vector<Scenario> scenarios() {
  const std::vector<std::string> host = {"host"};
  const std::vector<std::string> host_region = {"host", "region"};
  return {
      {.name = "TumblingHost", .window = "tumbling:10s", .keys = host},
      {.name = "TumblingHostFilter3Workers",
       .window = "tumbling:10s",
       .keys = host,
       .filter = true,
       .workers = 3,
       .batch_rows = "997",
       .cpu_type = "f64"},
      {.name = "TumblingTwoKeysFilter",
       .window = "tumbling:10s",
       .keys = host_region,
       .filter = true,
       .batch_rows = "4096"},
      {.name = "TumblingTwoKeys3WorkersRandom",
       .window = "tumbling:10s",
       .keys = host_region,
       .workers = 3,
       .batch_rows = "1500",
       .extra = {"--balance", "random"}},
      {.name = "SlidingHostFilter",
       .window = "sliding:10s/2s",
       .keys = host,
       .filter = true,
       .batch_rows = "2000",
       .cpu_type = "f64"},
      {.name = "SlidingHost3WorkersWeighted",
       .window = "sliding:10s/2s",
       .keys = host,
       .workers = 3,
       .batch_rows = "500",
       .extra = {"--balance", "weighted:1,2,3"}},
      {.name = "SlidingTwoKeysFilter3Workers",
       .window = "sliding:10s/2s",
       .keys = host_region,
       .filter = true,
       .workers = 3,
       .batch_rows = "3000"},
      {.name = "SlidingTwoKeysStdinLateness",
       .window = "sliding:10s/2s",
       .keys = host_region,
       .cpu_type = "f64",
       .extra = {"--allowed-lateness", "1s"},
       .use_stdin = true},
      {.name = "TumblingStatusRange3Workers",
       .window = "tumbling:10s",
       .keys = {"status"},
       .workers = 3,
       .batch_rows = "2500",
       .extra = {"--partition", "range:300,450"}},
      {.name = "SlidingStatusKeyPartition3Workers",
       .window = "sliding:10s/2s",
       .keys = {"status"},
       .workers = 3,
       .batch_rows = "3500",
       .extra = {"--partition", "key"}},
      {.name = "SlidingNoKey3Workers",
       .window = "sliding:10s/2s",
       .filter = true,
       .workers = 3,
       .batch_rows = "800"},
  };
}

#pragma GCC diagnostic pop

INSTANTIATE_TEST_SUITE_P(Cli, CliEndToEndTest, ::testing::ValuesIn(scenarios()),
                         [](const auto& info) { return info.param.name; });

// ---------------------------------------------------------------------------------------------
// --broadcast: a per-host threshold table, against a brute-force reference.

TEST_F(CliTest, BroadcastThresholdsMatchTheReference) {
  std::mt19937_64 random(11);
  // The table: hosts 0..29 but every fourth missing, some listed twice (the later row wins),
  // one malformed row (skipped and counted).
  std::string table = "tier,host,max_cpu\n";
  std::map<std::string, double> limit;
  for (int pass = 0; pass < 2; ++pass)
    for (int h = 0; h < 30; ++h) {
      if (h % 4 == 3 || (pass == 1 && h % 3 != 0)) continue;
      const double max_cpu = static_cast<double>(random() % 1000) / 10;
      limit["host-" + std::to_string(h)] = max_cpu;
      char text[32];
      std::snprintf(text, sizeof(text), "%.1f", max_cpu);
      table += std::string(h % 2 ? "gold" : "\"silver\"") + ",host-" + std::to_string(h) + "," +
               text + "\n";
    }
  table += "gold,host-99\n";
  const fs::path limits = file("limits.csv", table);
  // Events, out of order by up to 1.5 s.
  std::string csv = kHeader;
  std::map<std::pair<std::int64_t, std::string>, std::int64_t> want;  // (window start, host)
  for (int i = 0; i < 20000; ++i) {
    const std::int64_t ts = 1'000'000 + i * 3 - static_cast<std::int64_t>(random() % 1500);
    const std::string host = "host-" + std::to_string(random() % 32);
    const float cpu = static_cast<float>(random() % 1000) / 10.0f;
    char text[32];
    std::snprintf(text, sizeof(text), "%.1f", static_cast<double>(cpu));
    csv += std::to_string(ts) + "," + host + "," + text + ",200\n";
    const auto it = limit.find(host);
    if (it != limit.end() && static_cast<double>(cpu) > it->second)
      ++want[{ts / 10000 * 10000, host}];
  }
  const fs::path in = file("in.csv", csv);
  for (const char* workers : {"1", "3"}) {
    SCOPED_TRACE(std::string(workers) + " worker(s)");
    const Outcome o = run_query(in, {"--key", "host", "--agg", "count", "--max-delay", "2s",
                                     "--where", "cpu > limits.max_cpu", "--broadcast",
                                     "limits=" + limits.string() + ":host", "--workers", workers});
    ASSERT_EQ(o.code, 0) << o.err;
    EXPECT_NE(o.err.find("malformed=1"), std::string::npos) << o.err;
    EXPECT_NE(o.err.find(limits.string() + ":"), std::string::npos) << o.err;
    std::map<std::pair<std::int64_t, std::string>, std::int64_t> got;
    const std::vector<std::string> lines = lines_of(o.out);
    ASSERT_FALSE(lines.empty());
    EXPECT_EQ(lines[0], "window_start,window_end,host,count,update");
    for (std::size_t l = 1; l < lines.size(); ++l) {
      const std::vector<std::string> f = split_csv_record(lines[l]);
      ASSERT_EQ(f.size(), 5u) << lines[l];
      got[{std::stoll(f[0]), f[2]}] += std::stoll(f[3]);
    }
    EXPECT_EQ(got, want);
  }
}

TEST_F(CliTest, EveryTriggerAddsEarlyRowsThatTheFinalOnesSupersede) {
  std::string csv = kHeader;
  for (int i = 0; i < 3000; ++i)
    csv += std::to_string(1'000'000 + i * 7) + ",h" + std::to_string(i % 4) + "," +
           std::to_string(i % 100) + ",200\n";
  const fs::path in = file("in.csv", csv);
  const std::vector<std::string> common = {"--key", "host", "--batch-rows", "100"};
  const Outcome plain = run_query(in, common);
  std::vector<std::string> with = common;
  with.insert(with.end(), {"--trigger", "every:1ns"});
  const Outcome early = run_query(in, with);
  ASSERT_EQ(plain.code, 0) << plain.err;
  ASSERT_EQ(early.code, 0) << early.err;
  const std::vector<std::string> final_rows = lines_of(plain.out);
  const std::vector<std::string> all_rows = lines_of(early.out);
  EXPECT_GT(all_rows.size(), final_rows.size() + 10);
  // The last row of each (window, key) is the one a watermark-only run writes.
  std::map<std::string, std::string> last;
  for (std::size_t l = 1; l < all_rows.size(); ++l) {
    const std::vector<std::string> f = split_csv_record(all_rows[l]);
    last[f[0] + "," + f[2]] = all_rows[l];
  }
  std::map<std::string, std::string> want;
  for (std::size_t l = 1; l < final_rows.size(); ++l) {
    const std::vector<std::string> f = split_csv_record(final_rows[l]);
    want[f[0] + "," + f[2]] = final_rows[l];
  }
  EXPECT_EQ(last, want);
  const Outcome bad = run_query(in, {"--trigger", "count:five"});
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("--trigger: bad trigger"), std::string::npos) << bad.err;
}

TEST_F(CliTest, CountAndOnTriggersFireTheirKeysEarly) {
  // 4 hosts in turn, 100-row batches (one a round): each host gains 25 events a round.
  std::string csv = kHeader;
  for (int i = 0; i < 3000; ++i)
    csv += std::to_string(1'000'000 + i * 7) + ",h" + std::to_string(i % 4) + "," +
           std::to_string(i % 100) + "," + (i % 250 == 0 ? "500" : "200") + "\n";
  const fs::path in = file("in.csv", csv);
  const std::vector<std::string> common = {"--key", "host", "--batch-rows", "100"};
  const Outcome plain = run_query(in, common);
  ASSERT_EQ(plain.code, 0) << plain.err;
  const std::vector<std::string> final_rows = lines_of(plain.out);
  for (const char* trigger : {"count:100", "on:status == 500"}) {
    SCOPED_TRACE(trigger);
    std::vector<std::string> with = common;
    with.insert(with.end(), {"--trigger", trigger});
    const Outcome early = run_query(in, with);
    ASSERT_EQ(early.code, 0) << early.err;
    const std::vector<std::string> rows = lines_of(early.out);
    ASSERT_FALSE(rows.empty());
    EXPECT_EQ(rows[0], final_rows.at(0));
    // The last row of a (window, key) is its on-time one (update false), the rows before it
    // are early (update true).
    std::map<std::string, std::vector<std::string>> by_window_key;
    for (std::size_t l = 1; l < rows.size(); ++l) {
      const std::vector<std::string> f = split_csv_record(rows[l]);
      ASSERT_EQ(f.size(), 6u) << rows[l];
      by_window_key[f[0] + "," + f[2]].push_back(rows[l]);
    }
    std::map<std::string, std::string> finals, want;
    std::size_t early_rows = 0;
    for (const auto& [window_key, list] : by_window_key) {
      finals[window_key] = list.back();
      EXPECT_EQ(split_csv_record(list.back())[5], "false") << list.back();
      for (std::size_t r = 0; r + 1 < list.size(); ++r) {
        ++early_rows;
        const std::vector<std::string> f = split_csv_record(list[r]);
        EXPECT_EQ(f[5], "true") << list[r];
        const std::int64_t count = std::stoll(f[3]);
        if (std::string(trigger) == "count:100") {
          // Emitted at the end of the round that reached a multiple of 100.
          EXPECT_GE(count, 100) << list[r];
          EXPECT_LT(count % 100, 25) << list[r];
        } else {
          // Only hosts with a status-500 event (h0 and h2) fire early.
          EXPECT_TRUE(f[2] == "h0" || f[2] == "h2") << list[r];
        }
      }
    }
    for (std::size_t l = 1; l < final_rows.size(); ++l) {
      const std::vector<std::string> f = split_csv_record(final_rows[l]);
      want[f[0] + "," + f[2]] = final_rows[l];
    }
    EXPECT_GT(early_rows, 4u);
    EXPECT_EQ(finals, want);
  }
}

TEST_F(CliTest, DeepExpressionsAreUsageErrorsNotCrashes) {
  const fs::path in = file("in.csv", std::string(kHeader) + "1000,a,5,200\n");
  std::string chain = "cpu";
  for (int i = 0; i < 20000; ++i) chain += " + cpu";
  for (const std::string& where :
       {std::string(50000, '(') + "cpu > 1" + std::string(50000, ')'), chain + " > 1"}) {
    const Outcome o = run_query(in, {"--where", where});
    EXPECT_EQ(o.code, 2);
    EXPECT_NE(o.err.find(where.front() == '(' ? "nested deeper than 512 levels"
                                              : "nested deeper than 256 levels"),
              std::string::npos)
        << o.err.substr(0, 300);
  }
  std::string agg = "sum(cpu";
  for (int i = 0; i < 20000; ++i) agg += " * cpu";
  const Outcome o = run_query(in, {"--agg", agg + ")"});
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.err.find("nested deeper"), std::string::npos) << o.err.substr(0, 300);
}

TEST_F(CliTest, FirstAndLastByEventTime) {
  // Out of order within the window; two events of host a at 1500 (the larger value is last).
  const fs::path in = file("in.csv", std::string(kHeader) +
                                         "1000,a,5,200\n1500,a,7,201\n1200,a,9,202\n"
                                         "1500,a,3,203\n2500,b,1,204\n11000,a,2,205\n");
  const Outcome o =
      run_query(in, {"--key", "host", "--agg", "first(cpu),last(cpu),count,first(status)"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.out,
            "window_start,window_end,host,first(cpu),last(cpu),count,first(status),update\n"
            "0,10000,a,5,7,4,200,false\n"
            "0,10000,b,1,1,1,204,false\n"
            "10000,20000,a,2,2,1,205,false\n");
  const Outcome bad = run_query(in, {"--key", "host", "--agg", "first(host)"});
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("needs a number"), std::string::npos) << bad.err;
}

TEST_F(CliTest, BroadcastMisuseIsNamed) {
  const fs::path in = file("in.csv", std::string(kHeader) + "1000,a,1.5,200\n");
  const fs::path limits = file("limits.csv", "host,max_cpu\na,1\n");
  const std::string spec = "limits=" + limits.string() + ":host";
  Outcome o = run_query(in, {"--where", "cpu > limits.max", "--broadcast", spec});
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.err.find("broadcast 'limits' has no column 'max'"), std::string::npos) << o.err;
  o = run_query(in, {"--where", "cpu > 1", "--broadcast", "limits=-:host"});
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.err.find("not stdin"), std::string::npos) << o.err;
  o = run_query(in, {"--broadcast", "limits=" + limits.string()});
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.err.find("is not NAME=FILE.csv:KEY"), std::string::npos) << o.err;
  o = run_query(in, {"--broadcast", "limits=" + limits.string() + ":region"});
  EXPECT_EQ(o.code, 1);
  EXPECT_NE(o.err.find("key column 'region' is not in the header"), std::string::npos) << o.err;
  o = run_query(in, {"--broadcast", "limits=" + (dir_ / "none.csv").string() + ":host"});
  EXPECT_EQ(o.code, 1);
  EXPECT_NE(o.err.find("cannot open broadcast 'limits' file"), std::string::npos) << o.err;
}

// ---------------------------------------------------------------------------------------------
// The GPU backend against the CPU backend (CliGpu.*: CTest runs them as gpu.*, label gpu)

class CliGpu : public CliTest {};

TEST_F(CliGpu, DemoAutoChoosesTheGpu) {
  SKIP_WITHOUT_GPU();
  const Outcome o = run({"demo", "--events", "200000", "--backend", "auto"});
  EXPECT_EQ(o.code, 0) << o.err;
  EXPECT_NE(o.out.find("backend gpu (GPU found: "), std::string::npos) << o.out;
}

/// The output rows of `sluice run` (header first), in order: the float aggregates (columns whose
/// header starts with "sum(cpu" or "avg(") within 1e-5 relative, every other field as written.
void expect_same_output(const std::string& gpu, const std::string& cpu) {
  const std::vector<std::string> g = lines_of(gpu), c = lines_of(cpu);
  ASSERT_FALSE(c.empty());
  ASSERT_EQ(g.size(), c.size()) << "output rows";
  ASSERT_EQ(g[0], c[0]) << "header";
  const std::vector<std::string> header = split_csv_record(c[0]);
  int shown = 0;
  for (std::size_t i = 1; i < c.size() && shown < 10; ++i) {
    const std::vector<std::string> gf = split_csv_record(g[i]), cf = split_csv_record(c[i]);
    if (gf.size() != cf.size()) {
      ADD_FAILURE() << "row " << i << ": GPU " << g[i] << ", CPU " << c[i];
      ++shown;
      continue;
    }
    for (std::size_t f = 0; f < cf.size(); ++f) {
      const bool approx =
          f < header.size() && (header[f].starts_with("sum(cpu") || header[f].starts_with("avg("));
      const bool same =
          approx
              ? std::fabs(std::stod(gf[f]) - std::stod(cf[f])) <=
                    1e-5 * std::max({1.0, std::fabs(std::stod(gf[f])), std::fabs(std::stod(cf[f]))})
              : gf[f] == cf[f];
      if (!same) {
        ADD_FAILURE() << "row " << i << " column " << header[f] << ": GPU " << g[i] << ", CPU "
                      << c[i];
        ++shown;
        break;
      }
    }
  }
}

TEST_F(CliGpu, RunGpuMatchesCpu) {
  SKIP_WITHOUT_GPU();
  std::vector<Event> events;
  const fs::path in = file("in.csv", generate_csv(4242, false, events));
  struct Setup {
    std::string name;
    std::vector<std::string> flags;
    bool late = false;  ///< the CPU run must see late events
  };
  const std::vector<Setup> setups = {
      {"tumbling, late events and re-emissions",
       {"--window", "tumbling:10s", "--key", "host", "--max-delay", "500ms", "--allowed-lateness",
        "500ms", "--batch-rows", "256"},
       true},
      {"sliding with a filter, 3 workers",
       {"--window", "sliding:10s/2s", "--key", "host,region", "--where",
        "cpu > 50 and status == 200", "--max-delay", "2s", "--workers", "3", "--batch-rows",
        "997"}},
      {"sliding keyed on status, key partitioning, batches of 31",
       {"--window", "sliding:10s/3s", "--key", "status", "--partition", "key", "--workers", "2",
        "--max-delay", "1500ms", "--batch-rows", "31"}},
  };
  for (const Setup& s : setups) {
    SCOPED_TRACE(s.name);
    std::vector<std::string> args = {
        "run",
        "--input",
        in.string(),
        "--schema",
        "ts:timestamp[ms],host:string,region:string,cpu:f64,status:i32",
        "--time",
        "ts",
        "--agg",
        "count,sum(cpu),min(cpu),max(cpu),avg(cpu),sum(status)"};
    args.insert(args.end(), s.flags.begin(), s.flags.end());
    std::vector<std::string> cpu_args = args, gpu_args = args;
    cpu_args.insert(cpu_args.end(), {"--backend", "cpu"});
    gpu_args.insert(gpu_args.end(), {"--backend", "gpu"});
    const Outcome cpu = run(cpu_args);
    ASSERT_EQ(cpu.code, 0) << cpu.err;
    if (s.late) {
      EXPECT_EQ(cpu.err.find(" late=0 "), std::string::npos) << cpu.err;
    }
    const Outcome gpu = run(gpu_args);
    ASSERT_EQ(gpu.code, 0) << gpu.err;
    EXPECT_NE(gpu.err.find("backend=gpu"), std::string::npos) << gpu.err;
    expect_same_output(gpu.out, cpu.out);
    // The summaries agree but for the rate and the backend.
    const auto counts = [](const std::string& err) {
      return err.substr(0, err.find(" events/s="));
    };
    EXPECT_EQ(counts(gpu.err), counts(cpu.err));
  }
}

/// Hosts that never repeat (a client address per request): the job reclaims the strings of
/// closed windows, so the run fits a state memory limit far below what every string would take,
/// and a limit below the live state itself ends the run with a named error.
TEST_F(CliTest, ChurningKeysFitTheStateMemoryLimit) {
  constexpr int kRows = 150000;
  std::string csv = kHeader;
  for (int i = 0; i < kRows; ++i)
    csv += std::to_string(i) + ",client-" + std::to_string(i) + ".example.org,1,200\n";
  const fs::path in = file("in.csv", csv);
  const Outcome o = run_query(in, {"--key", "host", "--window", "tumbling:1s", "--max-delay", "0s",
                                   "--batch-rows", "4096", "--state-memory-limit", "8m"});
  ASSERT_EQ(o.code, 0) << o.err;
  const std::vector<std::string> lines = lines_of(o.out);
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(kRows) + 1);
  for (int i : {0, 999, 1000, 77777, kRows - 1}) {
    const std::string start = std::to_string(i / 1000 * 1000);
    const std::string row = start + "," + std::to_string(i / 1000 * 1000 + 1000) + ",client-" +
                            std::to_string(i) + ".example.org,1,1,false";
    EXPECT_NE(std::find(lines.begin(), lines.end(), row), lines.end()) << row;
  }
  const Outcome small = run_query(in, {"--key", "host", "--window", "tumbling:1s", "--batch-rows",
                                       "4096", "--state-memory-limit", "64k"});
  EXPECT_EQ(small.code, 1);
  EXPECT_NE(small.err.find("more than the state memory limit of 65536 bytes"), std::string::npos)
      << small.err;
  const Outcome bad = run_query(in, {"--state-memory-limit", "lots"});
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("--state-memory-limit"), std::string::npos) << bad.err;
}

// ---------------------------------------------------------------------------------------------
// Output formats, update rows, late rows, timestamps as text

TEST_F(CliTest, TimestampsReadAsRfc3339OrEpochAndWrittenAsEitherInEveryFormat) {
  // Three spellings of instants in [17:00:00, 17:00:05) and one of 17:00:05; f32 values whose
  // f64 widening is noisy (78.87f is 78.87000274658203).
  const fs::path in = file("in.csv", std::string(kHeader) +
                                         "2026-12-02T17:00:00Z,a,78.87,200\n"
                                         "2026-12-02 18:00:01.5+01:00,a,1.1,200\n"
                                         "1796230803000.9,b,\"x,y\",200\n"
                                         "1796230803000,\"b \"\"q\"\"\",2.5,200\n"
                                         "2026-12-02T17:00:05.000Z,a,3,200\n");
  const std::vector<std::string> query = {"--key", "host",           "--window",    "tumbling:5s",
                                          "--agg", "count,max(cpu)", "--max-delay", "0s"};
  auto with = [&](std::vector<std::string> more) {
    more.insert(more.begin(), query.begin(), query.end());
    return run_query(in, more);
  };
  const Outcome csv = with({"--time-format", "iso"});
  ASSERT_EQ(csv.code, 0) << csv.err;
  EXPECT_EQ(csv.out,
            "window_start,window_end,host,count,max(cpu),update\n"
            "2026-12-02T17:00:00.000Z,2026-12-02T17:00:05.000Z,a,2,78.87,false\n"
            "2026-12-02T17:00:00.000Z,2026-12-02T17:00:05.000Z,\"b \"\"q\"\"\",1,2.5,false\n"
            "2026-12-02T17:00:05.000Z,2026-12-02T17:00:10.000Z,a,1,3,false\n");
  EXPECT_NE(csv.err.find("cannot parse 'x,y' as f32"), std::string::npos) << csv.err;
  const Outcome epoch = with({"--format", "jsonl"});
  ASSERT_EQ(epoch.code, 0) << epoch.err;
  EXPECT_EQ(epoch.out,
            "{\"window_start\":1796230800000,\"window_end\":1796230805000,\"host\":\"a\","
            "\"count\":2,\"max(cpu)\":78.87,\"update\":false}\n"
            "{\"window_start\":1796230800000,\"window_end\":1796230805000,\"host\":\"b "
            "\\\"q\\\"\",\"count\":1,\"max(cpu)\":2.5,\"update\":false}\n"
            "{\"window_start\":1796230805000,\"window_end\":1796230810000,\"host\":\"a\","
            "\"count\":1,\"max(cpu)\":3,\"update\":false}\n");
  const Outcome table = with({"--format", "table", "--time-format", "iso", "--updates", "skip"});
  ASSERT_EQ(table.code, 0) << table.err;
  const std::vector<std::string> lines = lines_of(table.out);
  ASSERT_GE(lines.size(), 4u) << table.out;
  EXPECT_EQ(lines[0], "window_start              window_end                host   count  max(cpu)");
  EXPECT_EQ(lines[2], "2026-12-02T17:00:00.000Z  2026-12-02T17:00:05.000Z  a          2     78.87");
  EXPECT_EQ(lines[3],
            "2026-12-02T17:00:00.000Z  2026-12-02T17:00:05.000Z  b \"q\"      1       2.5");
}

TEST_F(CliTest, TheGlobalWindowHasEmptyBounds) {
  const fs::path in = file("in.csv", std::string(kHeader) + "1000,a,1,200\n9000,a,2,200\n");
  const Outcome csv = run_query(in, {"--window", "global", "--agg", "count"});
  ASSERT_EQ(csv.code, 0) << csv.err;
  EXPECT_EQ(csv.out, "window_start,window_end,count,update\n,,2,false\n");
  const Outcome json = run_query(in, {"--window", "global", "--agg", "count", "--format", "jsonl"});
  ASSERT_EQ(json.code, 0) << json.err;
  EXPECT_EQ(json.out, "{\"window_start\":null,\"window_end\":null,\"count\":2,\"update\":false}\n");
}

TEST_F(CliTest, UpdateRowsAsAColumnSkippedOrApartAndLateRowsToTheirOwnFile) {
  // One row a batch, no delay, 10 s windows, 5 s of allowed lateness: 12000 fires [0, 10 s);
  // 9000 updates it (a re-emission); 20000 fires [10 s, 20 s); 4000 is then too late.
  const fs::path in =
      file("in.csv", std::string(kHeader) +
                         "1000,a,1,200\n12000,a,2,200\n9000,a,3,200\n20000,a,4,200\n"
                         "4000,a,5,200\n");
  const std::vector<std::string> common = {"--batch-rows",
                                           "1",
                                           "--max-delay",
                                           "0s",
                                           "--agg",
                                           "count",
                                           "--allowed-lateness",
                                           "5s",
                                           "--late-output",
                                           (dir_ / "late.csv").string()};
  auto with = [&](std::vector<std::string> more) {
    more.insert(more.begin(), common.begin(), common.end());
    return run_query(in, more);
  };
  const Outcome column = with({});
  ASSERT_EQ(column.code, 0) << column.err;
  EXPECT_EQ(column.out,
            "window_start,window_end,count,update\n"
            "0,10000,1,false\n0,10000,2,true\n10000,20000,1,false\n20000,30000,1,false\n");
  // Late rows carry the columns the query reads: the time alone here.
  EXPECT_EQ(slurp(dir_ / "late.csv"), "ts\n4000\n");
  EXPECT_NE(column.err.find("late=1 "), std::string::npos) << column.err;
  const Outcome skip = with({"--updates", "skip"});
  ASSERT_EQ(skip.code, 0) << skip.err;
  EXPECT_EQ(skip.out, "window_start,window_end,count\n0,10000,1\n10000,20000,1\n20000,30000,1\n");
  const Outcome apart = with({"--updates", "separate", "--update-output",
                              (dir_ / "updates.csv").string(), "--format", "jsonl"});
  ASSERT_EQ(apart.code, 0) << apart.err;
  EXPECT_EQ(apart.out,
            "{\"window_start\":0,\"window_end\":10000,\"count\":1}\n"
            "{\"window_start\":10000,\"window_end\":20000,\"count\":1}\n"
            "{\"window_start\":20000,\"window_end\":30000,\"count\":1}\n");
  EXPECT_EQ(slurp(dir_ / "updates.csv"), "{\"window_start\":0,\"window_end\":10000,\"count\":2}\n");
  EXPECT_EQ(slurp(dir_ / "late.csv"), "{\"ts\":4000}\n");
}

TEST_F(CliTest, OutputFlagMisuseIsAUsageError) {
  const fs::path in = file("in.csv", std::string(kHeader) + "1000,a,1,200\n");
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--format", "xml"}, "--format: bad value 'xml'"},
      {{"--time-format", "unix"}, "--time-format: bad value 'unix'"},
      {{"--updates", "maybe"}, "--updates: bad value 'maybe'"},
      {{"--updates", "separate"}, "--updates separate needs --update-output FILE"},
      {{"--update-output", "u.csv"}, "--update-output needs --updates separate"},
      {{"--checkpoint-dir", (dir_ / "ck").string(), "--output", (dir_ / "o.csv").string(),
        "--late-output", (dir_ / "l.csv").string()},
       "--checkpoint-dir cannot be combined with --late-output"},
  };
  for (const auto& [flags, message] : cases) {
    const Outcome o = run_query(in, flags);
    EXPECT_EQ(o.code, 2) << flags[0];
    EXPECT_NE(o.err.find(message), std::string::npos) << o.err;
  }
  const Outcome integer_time =
      run({"run", "--input", in.string(), "--schema", "ts:i64,cpu:f32", "--time", "ts", "--window",
           "tumbling:10ms", "--agg", "count", "--time-format", "iso"});
  EXPECT_EQ(integer_time.code, 2);
  EXPECT_NE(integer_time.err.find("--time-format iso needs a timestamp time column: 'ts' is i64"),
            std::string::npos)
      << integer_time.err;
}

TEST_F(CliTest, AnInferredSchemaGivesTheWindowsOfTheSameSchemaTyped) {
  // Out-of-order events with RFC 3339 and epoch-ms columns and a column the query ignores.
  std::mt19937_64 rng(std::random_device{}());
  std::string csv = "ts,host,cpu,status,note\n";
  for (int i = 0; i < 3000; ++i) {
    const std::int64_t ts = 1'764'694'800'000 + i * 7 + static_cast<std::int64_t>(rng() % 3000);
    csv += std::to_string(ts) + ",h" + std::to_string(rng() % 7) + "," +
           std::to_string(rng() % 1000) + "." + std::to_string(rng() % 10) + "," +
           (rng() % 5 == 0 ? "500" : "200") + ",n" + std::to_string(rng() % 3) + "\n";
  }
  const fs::path in = file("in.csv", csv);
  const std::vector<std::string> query = {"run",
                                          "--input",
                                          in.string(),
                                          "--time",
                                          "ts",
                                          "--window",
                                          "tumbling:2s",
                                          "--key",
                                          "host",
                                          "--agg",
                                          "count,sum(cpu),max(cpu)",
                                          "--where",
                                          "status == 200",
                                          "--max-delay",
                                          "1s",
                                          "--allowed-lateness",
                                          "1s",
                                          "--batch-rows",
                                          "500"};
  std::vector<std::string> typed = query;
  typed.insert(typed.end(), {"--schema", "ts:timestamp[ms],host:string,cpu:f64,status:i64"});
  const Outcome want = run(typed);
  ASSERT_EQ(want.code, 0) << want.err;
  const Outcome got = run(query);
  ASSERT_EQ(got.code, 0) << got.err;
  EXPECT_EQ(got.out, want.out);
  EXPECT_GT(lines_of(got.out).size(), 20u);
  EXPECT_NE(got.err.find("late="), std::string::npos);
  // --explain names each type and why, and what the query does not read.
  std::vector<std::string> explain = query;
  explain.insert(explain.end(), {"--explain", "--types", "cpu:f32"});
  const Outcome plan = run(explain);
  ASSERT_EQ(plan.code, 0) << plan.err;
  EXPECT_NE(plan.out.find("schema: inferred from the header and 1000 rows, with --types"),
            std::string::npos)
      << plan.out;
  EXPECT_NE(plan.out.find("  ts      timestamp[ms]  integers of the event time"), std::string::npos)
      << plan.out;
  EXPECT_NE(plan.out.find("  cpu     f32            --types"), std::string::npos) << plan.out;
  EXPECT_NE(plan.out.find("  note    string         text (not read: the query does not use it)"),
            std::string::npos)
      << plan.out;
  EXPECT_NE(plan.out.find("reads: ts, host, status, cpu"), std::string::npos) << plan.out;
  EXPECT_NE(plan.out.find("window tumbling:2s"), std::string::npos) << plan.out;
  // Misuse.
  std::vector<std::string> both = typed;
  both.insert(both.end(), {"--types", "cpu:f32"});
  const Outcome conflict = run(both);
  EXPECT_EQ(conflict.code, 2);
  EXPECT_NE(conflict.err.find("--types overrides inferred types: it needs no --schema"),
            std::string::npos)
      << conflict.err;
  std::vector<std::string> unknown = query;
  unknown.insert(unknown.end(), {"--types", "load:f32"});
  const Outcome missing = run(unknown);
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.err.find("column 'load' is not in the header"), std::string::npos)
      << missing.err;
}

}  // namespace
