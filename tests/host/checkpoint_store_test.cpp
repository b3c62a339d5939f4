// Checkpoint files and their contents: CheckpointStore writes atomically, keeps the newest and
// rejects torn, corrupt and foreign files for the one before; WordReader and CheckpointImage
// refuse every truncated or inconsistent body with a named error instead of reading past it.
#include "host/engine/checkpoint_store.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "host/engine/checkpoint_image.hpp"
#include "host/engine/snapshot_words.hpp"
#include "sluice/status.hpp"

namespace sluice::detail {
namespace {

namespace fs = std::filesystem;

/// A fresh directory under the test's temporary folder, removed afterwards.
class CheckpointDir : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("sluice-ck-" + std::to_string(::getpid()) + "-" + info->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string dir() const { return dir_.string(); }

  fs::path dir_;
};

std::vector<std::uint64_t> random_body(std::size_t words, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::uint64_t> body(words);
  for (auto& w : body) w = rng();
  return body;
}

std::vector<char> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const std::string& path, const std::vector<char>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

TEST(Crc32c, KnownValues) {
  // The check value of CRC-32C, and the empty input.
  EXPECT_EQ(crc32c("123456789", 9), 0xE3069283U);
  EXPECT_EQ(crc32c("", 0), 0U);
  // Continuing equals one pass.
  EXPECT_EQ(crc32c("6789", 4, crc32c("12345", 5)), 0xE3069283U);
}

TEST_F(CheckpointDir, WritesAndReadsBackTheNewest) {
  CheckpointStore store(dir(), 3);
  std::vector<std::string> rejected;
  EXPECT_FALSE(store.load_latest(rejected).has_value()) << "an empty directory has none";
  EXPECT_TRUE(rejected.empty());
  for (std::uint64_t id = 1; id <= 5; ++id) {
    const std::string path = store.write(id, random_body(id * 7 - 7, id));
    EXPECT_EQ(path, store.path_of(id));
    EXPECT_TRUE(fs::exists(path));
  }
  EXPECT_EQ(store.ids(), (std::vector<std::uint64_t>{3, 4, 5})) << "keep = 3";
  const auto found = store.load_latest(rejected);
  ASSERT_TRUE(found.has_value());
  EXPECT_TRUE(rejected.empty());
  EXPECT_EQ(found->id, 5U);
  EXPECT_EQ(found->body, random_body(28, 5));
  EXPECT_EQ(fs::path(store.path_of(42)).filename().string(), "checkpoint-000000000042.sluice");
}

TEST_F(CheckpointDir, EmptyBodyRoundTrips) {
  CheckpointStore store(dir(), 1);
  store.write(9, {});
  std::vector<std::string> rejected;
  const auto found = store.load_latest(rejected);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->id, 9U);
  EXPECT_TRUE(found->body.empty());
}

TEST_F(CheckpointDir, TornFileAtEveryLengthFallsBackToThePrevious) {
  CheckpointStore store(dir(), 5);
  store.write(1, random_body(10, 1));
  store.write(2, random_body(10, 2));
  const std::vector<char> whole = read_file(store.path_of(2));
  ASSERT_EQ(whole.size(), 32U + 80U + 4U);
  for (std::size_t cut = 0; cut < whole.size(); ++cut) {
    write_file(store.path_of(2), std::vector<char>(whole.begin(), whole.begin() + cut));
    std::vector<std::string> rejected;
    const auto found = store.load_latest(rejected);
    ASSERT_TRUE(found.has_value()) << "cut at " << cut;
    EXPECT_EQ(found->id, 1U) << "cut at " << cut;
    EXPECT_EQ(found->body, random_body(10, 1));
    ASSERT_EQ(rejected.size(), 1U) << "cut at " << cut;
    EXPECT_NE(rejected[0].find(store.path_of(2)), std::string::npos) << rejected[0];
    EXPECT_NE(rejected[0].find("torn"), std::string::npos) << rejected[0];
  }
}

TEST_F(CheckpointDir, EveryFlippedByteIsDetected) {
  CheckpointStore store(dir(), 5);
  store.write(1, random_body(3, 1));
  store.write(2, random_body(6, 2));
  const std::vector<char> whole = read_file(store.path_of(2));
  for (std::size_t at = 0; at < whole.size(); ++at) {
    std::vector<char> bad = whole;
    bad[at] = static_cast<char>(bad[at] ^ 0x10);
    write_file(store.path_of(2), bad);
    std::vector<std::string> rejected;
    const auto found = store.load_latest(rejected);
    ASSERT_TRUE(found.has_value()) << "byte " << at;
    EXPECT_EQ(found->id, 1U) << "byte " << at;
    EXPECT_EQ(rejected.size(), 1U) << "byte " << at;
  }
  // Bad magic and another version say so.
  std::vector<char> bad = whole;
  bad[0] = 'X';
  write_file(store.path_of(2), bad);
  std::vector<std::string> rejected;
  store.load_latest(rejected);
  ASSERT_EQ(rejected.size(), 1U);
  EXPECT_NE(rejected[0].find("not a checkpoint"), std::string::npos) << rejected[0];
  bad = whole;
  bad[8] = 7;
  write_file(store.path_of(2), bad);
  rejected.clear();
  store.load_latest(rejected);
  ASSERT_EQ(rejected.size(), 1U);
  EXPECT_NE(rejected[0].find("format version 7"), std::string::npos) << rejected[0];
}

TEST_F(CheckpointDir, FileOfAnotherIdIsRejected) {
  CheckpointStore store(dir(), 5);
  store.write(1, random_body(4, 1));
  store.write(2, random_body(4, 2));
  fs::copy_file(store.path_of(2), store.path_of(3));  // a whole file under the wrong name
  std::vector<std::string> rejected;
  const auto found = store.load_latest(rejected);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->id, 2U);
  EXPECT_EQ(rejected.size(), 1U);
}

TEST_F(CheckpointDir, AllRejectedGivesNoneAndListsEach) {
  CheckpointStore store(dir(), 5);
  store.write(1, random_body(4, 1));
  store.write(2, random_body(4, 2));
  write_file(store.path_of(1), {'a'});
  write_file(store.path_of(2), {});
  std::vector<std::string> rejected;
  EXPECT_FALSE(store.load_latest(rejected).has_value());
  ASSERT_EQ(rejected.size(), 2U);
  EXPECT_NE(rejected[0].find(store.path_of(2)), std::string::npos) << "newest first";
  EXPECT_NE(rejected[1].find(store.path_of(1)), std::string::npos);
}

TEST_F(CheckpointDir, LeftoverTemporaryAndForeignFilesAreIgnored) {
  CheckpointStore store(dir(), 2);
  store.write(1, random_body(4, 1));
  // What a crash during a write leaves, and files that are not checkpoints.
  write_file(store.path_of(2) + ".tmp", {'x', 'y'});
  write_file(dir() + "/checkpoint-abc.sluice", {'z'});
  write_file(dir() + "/notes.txt", {'n'});
  EXPECT_EQ(store.ids(), (std::vector<std::uint64_t>{1}));
  std::vector<std::string> rejected;
  const auto found = store.load_latest(rejected);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->id, 1U);
  EXPECT_TRUE(rejected.empty());
  store.write(2, random_body(4, 2));
  EXPECT_FALSE(fs::exists(store.path_of(2) + ".tmp")) << "the next write removes leftovers";
  EXPECT_TRUE(fs::exists(dir() + "/notes.txt")) << "and leaves other files alone";
}

TEST_F(CheckpointDir, UnwritableDirectoryIsAnIoError) {
  write_file(dir_.string(), {'f'});  // a file where the directory should be
  try {
    CheckpointStore store(dir(), 1);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::io_error);
    EXPECT_NE(std::string(e.what()).find(dir()), std::string::npos) << e.what();
  }
  fs::remove(dir_);
}

TEST(WordReader, ReadsWhatTheWriterWrote) {
  std::vector<std::uint64_t> words;
  WordWriter out(words);
  out.put(7);
  out.put_i64(-3);
  out.put_f64(2.5);
  out.put_string("");
  out.put_string("hello, checkpoint");
  const std::vector<std::uint64_t> list = {1, 2, 3};
  out.put_words(list);
  WordReader in(words, "test");
  EXPECT_EQ(in.get(), 7U);
  EXPECT_EQ(in.get_i64(), -3);
  EXPECT_EQ(in.get_f64(), 2.5);
  EXPECT_EQ(in.get_string(), "");
  EXPECT_EQ(in.get_string(), "hello, checkpoint");
  const auto got = in.get_words();
  EXPECT_EQ(std::vector<std::uint64_t>(got.begin(), got.end()), list);
  EXPECT_TRUE(in.done());
}

TEST(WordReader, LengthsBeyondTheWordsLeftAreMalformed) {
  const auto expect_malformed = [](auto read) {
    try {
      read();
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::malformed_input);
      EXPECT_NE(std::string(e.what()).find("body"), std::string::npos) << e.what();
    }
  };
  const std::vector<std::uint64_t> empty;
  expect_malformed([&] { WordReader(empty, "body").get(); });
  const std::vector<std::uint64_t> huge_string = {~0ULL, 1};
  expect_malformed([&] { WordReader(huge_string, "body").get_string(); });
  const std::vector<std::uint64_t> long_string = {17, 1, 2};  // 17 bytes need 3 words
  expect_malformed([&] { WordReader(long_string, "body").get_string(); });
  const std::vector<std::uint64_t> huge_list = {1ULL << 62, 5};
  expect_malformed([&] { WordReader(huge_list, "body").get_words(); });
  const std::vector<std::uint64_t> count = {3, 0, 0, 0, 0, 0};
  expect_malformed([&] { WordReader(count, "body").get_count(2); });
  EXPECT_EQ(WordReader(count, "body").get_count(1), 3U);
  const std::vector<std::uint64_t> three_bytes = {3, 0};
  expect_malformed([&] {
    char five[5];
    WordReader(three_bytes, "body").get_bytes(five, sizeof five);
  });
}

CheckpointImage sample_image() {
  CheckpointImage image;
  image.fingerprint = "schema ts:i64 host:string; query count(*) by host";
  image.positions = {120, 0, 77};
  image.sink_position = 4096;
  image.code_limit = 9;
  image.codes = {0, 3, 8};
  image.strings = {"alpha", "", "a string longer than one word"};
  image.counters.assign(kJobCounters, 0);
  for (std::size_t i = 0; i < image.counters.size(); ++i) image.counters[i] = i * 11;
  image.per_worker_batches = {4, 5};
  image.ingest = {1, 2};
  image.dispatch = {};
  image.broadcast = {9};
  image.workers = {{10, 11, 12}, {}};
  return image;
}

void expect_same(const CheckpointImage& a, const CheckpointImage& b) {
  EXPECT_EQ(a.fingerprint, b.fingerprint);
  EXPECT_EQ(a.positions, b.positions);
  EXPECT_EQ(a.sink_position, b.sink_position);
  EXPECT_EQ(a.code_limit, b.code_limit);
  EXPECT_EQ(a.codes, b.codes);
  EXPECT_EQ(a.strings, b.strings);
  EXPECT_EQ(a.counters, b.counters);
  EXPECT_EQ(a.per_worker_batches, b.per_worker_batches);
  EXPECT_EQ(a.ingest, b.ingest);
  EXPECT_EQ(a.dispatch, b.dispatch);
  EXPECT_EQ(a.broadcast, b.broadcast);
  EXPECT_EQ(a.workers, b.workers);
}

TEST(CheckpointImage, RoundTrips) {
  const CheckpointImage image = sample_image();
  std::vector<std::uint64_t> words;
  image.encode(words);
  expect_same(CheckpointImage::decode(words, "f"), image);
}

TEST(CheckpointImage, EveryTruncationAndEveryExtraWordIsMalformed) {
  std::vector<std::uint64_t> words;
  sample_image().encode(words);
  for (std::size_t cut = 0; cut < words.size(); ++cut) {
    const std::span<const std::uint64_t> part(words.data(), cut);
    try {
      CheckpointImage::decode(part, "FILE");
      ADD_FAILURE() << "a body cut at word " << cut << " decoded";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::malformed_input) << cut;
      EXPECT_NE(std::string(e.what()).find("FILE"), std::string::npos) << e.what();
    }
  }
  words.push_back(0);
  EXPECT_THROW(CheckpointImage::decode(words, "FILE"), Error);
}

TEST(CheckpointImage, InconsistentFieldsAreMalformed) {
  CheckpointImage image = sample_image();
  image.codes[1] = 9;  // at the limit
  std::vector<std::uint64_t> words;
  image.encode(words);
  EXPECT_THROW(CheckpointImage::decode(words, "f"), Error);

  image = sample_image();
  image.counters.pop_back();  // another build's counters
  words.clear();
  image.encode(words);
  EXPECT_THROW(CheckpointImage::decode(words, "f"), Error);

  words.clear();
  sample_image().encode(words);
  words[0] ^= 1;  // not an image
  EXPECT_THROW(CheckpointImage::decode(words, "f"), Error);
}

TEST(CheckpointImage, RandomWordsNeverReadOutOfBounds) {
  // Random changes to a valid body either decode or throw malformed_input; ASan checks the rest.
  std::vector<std::uint64_t> valid;
  sample_image().encode(valid);
  std::mt19937_64 rng(7);
  int decoded = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    std::vector<std::uint64_t> words = valid;
    const int changes = 1 + static_cast<int>(rng() % 3);
    for (int c = 0; c < changes; ++c) {
      std::uint64_t& w = words[rng() % words.size()];
      switch (rng() % 3) {
        case 0:
          w = rng();
          break;
        case 1:
          w = rng() % 64;
          break;
        default:
          w ^= 1ULL << (rng() % 64);
      }
    }
    try {
      CheckpointImage::decode(words, "f");
      ++decoded;
    } catch (const Error& e) {
      ASSERT_EQ(e.code(), ErrorCode::malformed_input) << e.what();
    }
  }
  EXPECT_LT(decoded, 3000) << "some changes must be refused";
}

}  // namespace
}  // namespace sluice::detail
