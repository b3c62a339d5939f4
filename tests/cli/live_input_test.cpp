// Live input: a CsvReader over a pipe returns rows as they arrive, not when a block fills or
// the writer closes; a stop request ends the input where it stands.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <istream>
#include <string>
#include <thread>

#include "host/io/csv_reader.hpp"
#include "host/io/live_input.hpp"
#include "sluice/batch.hpp"

namespace {

using namespace std::chrono_literals;
using sluice::Batch;
using sluice::detail::CsvReader;
using sluice::detail::LiveInputBuffer;

const sluice::Schema kSchema({{"t", sluice::TypeId::i64}, {"s", sluice::TypeId::string}});

void write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    ASSERT_GT(n, 0);
    done += static_cast<std::size_t>(n);
  }
}

/// A pipe whose ends close with it.
struct Pipe {
  int fds[2] = {-1, -1};
  Pipe() { EXPECT_EQ(::pipe(fds), 0); }
  ~Pipe() {
    close_write();
    if (fds[0] >= 0) ::close(fds[0]);
  }
  void close_write() {
    if (fds[1] >= 0) ::close(fds[1]);
    fds[1] = -1;
  }
};

/// The rows of the next batch that has any; 0 at the end of input.
std::size_t next_rows(CsvReader& reader) {
  Batch batch;
  while (reader.next(batch))
    if (batch.rows() > 0) return batch.rows();
  return 0;
}

TEST(LiveInput, RowsArriveBeforeTheWriterCloses) {
  Pipe pipe;
  LiveInputBuffer buffer(pipe.fds[0]);
  std::istream in(&buffer);
  std::promise<void> read_first;
  // The writer sends a header and three rows, then waits (up to a minute) for the reader to
  // have them before it sends the rest and closes: a reader that waits for a whole block or
  // for the end of input sees nothing until then.
  std::thread writer([&] {
    write_all(pipe.fds[1], "t,s\n1,a\n2,b\n3,");
    std::this_thread::sleep_for(20ms);
    write_all(pipe.fds[1], "c\n");
    const bool in_time = read_first.get_future().wait_for(60s) == std::future_status::ready;
    write_all(pipe.fds[1], in_time ? "4,d\n5,e" : "");
    pipe.close_write();
  });
  CsvReader reader(in, "pipe", kSchema, nullptr, {.block_bytes = 1 << 20, .live = true});
  std::size_t first = 0;
  while (first < 3) {
    const std::size_t rows = next_rows(reader);
    if (rows == 0) break;
    first += rows;
  }
  read_first.set_value();
  const std::size_t rest = next_rows(reader) + next_rows(reader);
  writer.join();
  EXPECT_EQ(first, 3u);
  EXPECT_EQ(rest, 2u);  // the last row ends with the input, unterminated
  EXPECT_EQ(next_rows(reader), 0u);
  EXPECT_EQ(reader.rows(), 5u);
}

TEST(LiveInput, AStopRequestEndsTheInput) {
  Pipe input;
  Pipe stop;
  LiveInputBuffer buffer(input.fds[0], stop.fds[0]);
  std::istream in(&buffer);
  write_all(input.fds[1], "t,s\n1,a\n");
  CsvReader reader(in, "pipe", kSchema, nullptr, {.live = true, .live_gather = 1ms});
  EXPECT_EQ(next_rows(reader), 1u);
  // The writer stays open: only the stop ends the input.
  write_all(stop.fds[1], "x");
  EXPECT_EQ(next_rows(reader), 0u);
  EXPECT_TRUE(buffer.stopped());
}

TEST(LiveInput, ReadsWholeWhenNotLive) {
  // Without live, the reader takes its blocks whole: the same rows, fewer batches.
  Pipe pipe;
  std::thread writer([&] {
    write_all(pipe.fds[1], "t,s\n");
    for (int i = 0; i < 1000; ++i) write_all(pipe.fds[1], std::to_string(i) + ",x\n");
    pipe.close_write();
  });
  LiveInputBuffer buffer(pipe.fds[0]);
  std::istream in(&buffer);
  CsvReader reader(in, "pipe", kSchema, nullptr);
  std::size_t rows = 0;
  for (std::size_t n = next_rows(reader); n > 0; n = next_rows(reader)) rows += n;
  writer.join();
  EXPECT_EQ(rows, 1000u);
}

}  // namespace
