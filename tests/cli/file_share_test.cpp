// share_of and FileShareBuffer: the ranks' shares of a file hold every line exactly once, each
// after the header, for 1-5 ranks, long and empty lines, with and without a final line break.
#include "host/io/file_share.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace sluice::detail {
namespace {

std::string read_share(const std::string& path, int rank, int ranks) {
  std::ifstream file(path, std::ios::binary);
  std::string header;
  const ByteRange range = share_of(file, rank, ranks, header);
  FileShareBuffer buffer(file, header, range);
  std::istream in(&buffer);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string write_file(const std::string& name, const std::string& text) {
  const std::string path = (std::filesystem::temp_directory_path() / name).string();
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

TEST(FileShare, EveryLineOnceAfterTheHeader) {
  std::mt19937_64 rng(3);
  for (int trial = 0; trial < 40; ++trial) {
    const std::string header = "ts,host,cpu";
    std::string body;
    std::vector<std::string> lines;
    const int n = static_cast<int>(rng() % 50);
    for (int i = 0; i < n; ++i) {
      // Short, long (beyond the 64 KiB scan) and empty lines.
      const std::size_t length = rng() % 10 == 0 ? 70'000 + rng() % 1000 : rng() % 20;
      std::string line(length, static_cast<char>('a' + i % 26));
      lines.push_back(line);
      body += line + "\n";
    }
    const bool final_break = trial % 2 == 0;
    if (!final_break && !body.empty()) body.pop_back();
    const std::string path = write_file("sluice_file_share_test.csv", header + "\n" + body);
    for (int ranks = 1; ranks <= 5; ++ranks) {
      SCOPED_TRACE("trial " + std::to_string(trial) + ", " + std::to_string(ranks) + " ranks");
      std::string joined;
      for (int r = 0; r < ranks; ++r) {
        const std::string share = read_share(path, r, ranks);
        ASSERT_EQ(share.substr(0, header.size() + 1), header + "\n");
        joined += share.substr(header.size() + 1);
      }
      EXPECT_EQ(joined, body);
    }
  }
}

TEST(FileShare, AHeaderOnlyOrEmptyFileGivesJustTheHeader) {
  for (const std::string& text : {std::string("a,b\n"), std::string("a,b"), std::string()}) {
    const std::string path = write_file("sluice_file_share_empty.csv", text);
    for (int r = 0; r < 3; ++r) {
      const std::string share = read_share(path, r, 3);
      EXPECT_EQ(share, text) << "rank " << r << " of '" << text << "'";
    }
  }
}

}  // namespace
}  // namespace sluice::detail
