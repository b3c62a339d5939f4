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

/// A share's stream seeks to any position (the header's bytes, then the share's) and reads the
/// rest from there, as a reader resuming from a checkpoint does; tellg() says where it stands.
TEST(FileShare, SeeksToAnyPositionOfTheShare) {
  std::mt19937_64 rng(5);
  std::string text = "ts,host,cpu\n";
  for (int i = 0; i < 3000; ++i) text += std::to_string(rng() % 100000) + ",h,1\n";
  const std::string path = write_file("sluice_file_share_seek.csv", text);
  for (int ranks : {1, 3}) {
    for (int rank = 0; rank < ranks; ++rank) {
      SCOPED_TRACE("rank " + std::to_string(rank) + " of " + std::to_string(ranks));
      const std::string whole = read_share(path, rank, ranks);
      std::ifstream file(path, std::ios::binary);
      std::string header;
      const ByteRange range = share_of(file, rank, ranks, header);
      FileShareBuffer buffer(file, header, range);
      std::istream in(&buffer);
      for (int trial = 0; trial < 30; ++trial) {
        const std::size_t at = trial == 0 ? 0 : trial == 1 ? whole.size() : rng() % whole.size();
        in.clear();
        in.seekg(static_cast<std::streamoff>(at));
        ASSERT_TRUE(in) << "seek to " << at;
        EXPECT_EQ(static_cast<std::size_t>(in.tellg()), at);
        std::string part(std::min<std::size_t>(whole.size() - at, rng() % 3000), '\0');
        in.read(part.data(), static_cast<std::streamsize>(part.size()));
        EXPECT_EQ(part, whole.substr(at, part.size())) << "from " << at;
        EXPECT_EQ(static_cast<std::size_t>(in.tellg()), at + part.size());
      }
      in.clear();
      in.seekg(static_cast<std::streamoff>(whole.size() + 1));
      EXPECT_FALSE(in) << "beyond the share";
    }
  }
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace sluice::detail
