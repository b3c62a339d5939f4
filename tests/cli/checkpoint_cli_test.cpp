// `sluice run --checkpoint-dir DIR --resume`, killed with SIGKILL at random moments again and
// again until it completes: its output file equals that of a run that was never interrupted,
// byte for byte (no window lost, none written twice, late counts the same).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

/// A started `sluice` process, its stdout and stderr in files.
class Process {
 public:
  Process(const std::vector<std::string>& args, const fs::path& out, const fs::path& err) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<std::string> all = {SLUICE_CLI_PATH};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int rc = posix_spawn(&pid_, SLUICE_CLI_PATH, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) pid_ = -1;
  }
  bool started() const { return pid_ > 0; }
  /// Waits up to `limit`; @return true when it exited (status in `status`).
  bool wait_for(std::chrono::milliseconds limit, int& status) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) return true;
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  void kill_and_reap() {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }

 private:
  pid_t pid_ = -1;
};

class CheckpointCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sluice_ck_cli_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
  fs::path dir_;
};

/// `rows` events, times moving forward with up to 3 s of disorder and 1 % far in the past
/// (late), over 300 hosts, cpu a whole number; a stray malformed row now and then.
std::string disordered_csv(int rows, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string csv = "ts,host,cpu,status\n";
  for (int i = 0; i < rows; ++i) {
    std::int64_t ts = 1'700'000'000'000 + i * 2 + static_cast<std::int64_t>(rng() % 3000);
    if (rng() % 100 == 0) ts -= static_cast<std::int64_t>(rng() % 20000);
    if (rng() % 5000 == 0) {
      csv += "garbage,row\n";
      continue;
    }
    // Whole numbers for cpu: their sums are exact in any order, so the output is the same
    // bytes however many threads a worker sums them with.
    csv += std::to_string(ts) + ",host-" + std::to_string(rng() % 300) + "," +
           std::to_string(rng() % 1000) + "," + (rng() % 10 == 0 ? "500" : "200") + "\n";
  }
  return csv;
}

std::vector<std::string> query_args(const fs::path& input, const fs::path& output) {
  return {"run",
          "--input",
          input.string(),
          "--output",
          output.string(),
          "--schema",
          "ts:timestamp[ms],host:string,cpu:f64,status:i32",
          "--time",
          "ts",
          "--max-delay",
          "1s",
          "--allowed-lateness",
          "2s",
          "--where",  // a LIKE: its matches are rebuilt from the restored dictionary
          "not (host like 'host-1_')",
          "--window",
          "sliding:4s/1s",
          "--key",
          "host",
          "--agg",
          "count,sum(cpu),max(status)",
          "--workers",
          "2",
          "--batch-rows",
          "2048",
          "--read-block",
          "32k"};
}

TEST_F(CheckpointCliTest, KilledAgainAndAgainEndsWithTheOutputOfAnUninterruptedRun) {
  const fs::path input = dir_ / "in.csv";
  std::ofstream(input, std::ios::binary) << disordered_csv(300000, 17);
  // The run that is never interrupted.
  const fs::path want = dir_ / "want.csv";
  {
    Process p(query_args(input, want), dir_ / "o0", dir_ / "e0");
    ASSERT_TRUE(p.started());
    int status = 0;
    ASSERT_TRUE(p.wait_for(std::chrono::minutes(5), status));
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << slurp(dir_ / "e0");
  }
  const std::string expected = slurp(want);
  ASSERT_GT(std::count(expected.begin(), expected.end(), '\n'), 1000);
  // Killed at random moments, each incarnation resuming, until one completes.
  const fs::path got = dir_ / "got.csv";
  std::vector<std::string> args = query_args(input, got);
  args.insert(args.end(),
              {"--checkpoint-dir", (dir_ / "ck").string(), "--checkpoint-every", "0", "--resume"});
  std::mt19937_64 rng(99);
  int kills = 0, resumed = 0;
  double longest_ms = 60;
  std::string last_err;
  for (int life = 0;; ++life) {
    ASSERT_LT(life, 200) << "never completed";
    const fs::path err = dir_ / ("e" + std::to_string(life + 1));
    Process p(args, dir_ / "o", err);
    ASSERT_TRUE(p.started());
    const auto delay = std::chrono::milliseconds(
        5 + static_cast<int>(std::uniform_real_distribution<double>(0, longest_ms)(rng)));
    int status = 0;
    if (p.wait_for(delay, status)) {
      last_err = slurp(err);
      ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << last_err;
      break;
    }
    p.kill_and_reap();
    ++kills;
    if (slurp(err).find("resuming from") != std::string::npos) ++resumed;
    longest_ms *= 1.08;  // so that a slow machine still gets through
  }
  std::printf("%d kills, %d of them after a resume\n", kills, resumed);
  EXPECT_GE(kills, 5) << "the run ended before it could be killed often";
  EXPECT_GE(resumed, 3) << "too few kills came after a checkpoint";
  const std::string result = slurp(got);
  ASSERT_EQ(result.size(), expected.size()) << "output of " << kills << " killed runs";
  EXPECT_TRUE(result == expected) << "the output differs after " << kills << " kills";
}

TEST_F(CheckpointCliTest, UsageErrors) {
  const fs::path input = dir_ / "in.csv";
  std::ofstream(input, std::ios::binary) << disordered_csv(10, 1);
  const auto run = [&](std::vector<std::string> extra, const fs::path& out) {
    std::vector<std::string> args = query_args(input, out);
    args.insert(args.end(), extra.begin(), extra.end());
    Process p(args, dir_ / "o", dir_ / "e");
    int status = 0;
    EXPECT_TRUE(p.wait_for(std::chrono::minutes(1), status));
    return std::make_pair(WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(dir_ / "e"));
  };
  const fs::path out = dir_ / "out.csv";
  auto [code, err] = run({"--resume"}, out);
  EXPECT_EQ(code, 2);
  EXPECT_NE(err.find("--resume needs --checkpoint-dir"), std::string::npos) << err;
  std::tie(code, err) = run({"--checkpoint-every", "1s"}, out);
  EXPECT_EQ(code, 2);
  EXPECT_NE(err.find("--checkpoint-every needs --checkpoint-dir"), std::string::npos) << err;
  std::tie(code, err) = run({"--checkpoint-dir", (dir_ / "ck").string()}, "-");
  EXPECT_EQ(code, 2);
  EXPECT_NE(err.find("--output FILE"), std::string::npos) << err;
  // A run with checkpoints, resumed after it completed, has nothing left to do and says where
  // it resumed from; the output stays the same.
  std::tie(code, err) = run({"--checkpoint-dir", (dir_ / "ck").string()}, out);
  ASSERT_EQ(code, 0) << err;
  const std::string first = slurp(out);
  std::tie(code, err) = run({"--checkpoint-dir", (dir_ / "ck").string(), "--resume"}, out);
  EXPECT_EQ(code, 0) << err;
  EXPECT_NE(err.find("no complete checkpoint"), std::string::npos)
      << "a run too short for a checkpoint: " << err;
  EXPECT_EQ(slurp(out), first);
}

}  // namespace
