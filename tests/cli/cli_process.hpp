// Running the `sluice` program from a test: its exit status and what it wrote, through the
// shell, with files in a directory of the test's.
#pragma once

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace sluice::test {

struct Outcome {
  int code = -1;  ///< the exit status, or 128 + the signal that ended it
  std::string out;
  std::string err;
};

inline std::string shell_quote(const std::string& arg) {
  std::string quoted = "'";
  for (const char c : arg) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

inline std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

inline void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

/// @brief Runs `sluice ARGS...` in `dir` (stdin from `stdin_file` when given), its stdout and
/// stderr captured in dir/stdout.txt and dir/stderr.txt.
inline Outcome run_sluice(const std::filesystem::path& dir, const std::vector<std::string>& args,
                          const std::filesystem::path& stdin_file = {}) {
  std::string command = "cd " + shell_quote(dir.string()) + " && " + shell_quote(SLUICE_CLI_PATH);
  for (const std::string& arg : args) command += " " + shell_quote(arg);
  if (!stdin_file.empty()) command += " < " + shell_quote(stdin_file.string());
  command += " > stdout.txt 2> stderr.txt";
  const int status = std::system(command.c_str());
  Outcome outcome;
  outcome.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  outcome.out = slurp(dir / "stdout.txt");
  outcome.err = slurp(dir / "stderr.txt");
  return outcome;
}

}  // namespace sluice::test
