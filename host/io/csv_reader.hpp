// CsvReader: a headed CSV stream parsed in parallel blocks into typed column batches.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "sluice/batch.hpp"
#include "sluice/dictionary.hpp"
#include "sluice/schema.hpp"
#include "sluice/status.hpp"

namespace sluice::detail {

/// @brief What to do with a malformed row.
enum class OnMalformed : std::uint8_t {
  skip,  ///< report it (the first `max_reported` messages) and drop it
  fail,  ///< throw Error(malformed_input)
};

/// @brief CsvReader settings; every field has a documented default.
struct CsvOptions {
  OnMalformed on_malformed = OnMalformed::skip;
  std::size_t max_reported = 10;        ///< skipped rows reported one by one; the rest are counted
  std::ostream* diagnostics = nullptr;  ///< where skipped rows are reported; nullptr = std::cerr
  std::size_t block_bytes = 16 << 20;   ///< input read and parsed at once, split among threads
  /// A quoted field must close within this many bytes of its opening quote; one that does not
  /// (a stray quote) makes its record malformed, and reading resumes on the next line.
  std::size_t max_quoted_bytes = 1 << 20;
  /// Live input (a pipe, a socket: a LiveInputBuffer): a block is taken with readsome(), as
  /// input is ready, and parsed once it is full or holds a line break and has gathered input
  /// for `live_gather` since its first byte; the reader waits only when no line break came.
  /// So rows reach the caller as they arrive. Off: blocks of block_bytes are read whole.
  bool live = false;
  std::chrono::milliseconds live_gather{10};
};

struct CsvPiece;

/// @brief Reads a CSV stream with a header row. The input is read in blocks of about
/// `block_bytes`, each split at record boundaries into one piece per OpenMP thread and parsed
/// in parallel straight into typed columns; each piece becomes a Batch that owns its columns
/// (read in place by a job). Fields split on commas; a field may be double-quoted ("" is a
/// quote, and a quoted field may span lines); a quoted field not closed within
/// `max_quoted_bytes` or by the end of input is malformed, its record ends with the line on
/// which it opened and the next line is read as a record (so a stray quote costs one row, and
/// reading stays linear); a trailing CR is dropped; blank lines are ignored. Schema columns are
/// matched to header names; extra CSV columns are ignored. Cells are parsed per column type
/// (integers and timestamps in their unit as integers, floats, bool as true/false/1/0, strings as
/// written, coded with the given dictionary in the order a serial reader meets them: row by row,
/// column by column, in well-formed rows only). Rows, messages and codes do not depend on the block
/// size or the number of threads.
class CsvReader {
 public:
  /// @brief Reads the header. `name` names the stream in messages ("data.csv", "stdin");
  /// `dictionary` codes the string columns (a job's: Job::make_builder().dictionary(c)).
  /// @throws Error(unknown_column) when a schema column is missing from the header;
  /// Error(malformed_input) when there is no header; Error(io_error) when the stream fails.
  CsvReader(std::istream& in, std::string name, const Schema& schema, DictionaryPtr dictionary,
            CsvOptions options = {});
  ~CsvReader();
  CsvReader(const CsvReader&) = delete;
  CsvReader& operator=(const CsvReader&) = delete;

  /// @brief The next batch of well-formed rows (schema order, the reader's dictionary for
  /// strings), in input order; false at the end of input. Malformed rows are skipped and
  /// reported, or thrown per the options (the rows before the bad one are returned first); at
  /// the end of input a summary of skipped rows is reported. A batch may have no rows.
  /// @throws Error(malformed_input) with "FILE:LINE: ..." under OnMalformed::fail;
  /// Error(io_error) when the stream fails.
  bool next(Batch& out);

  /// @brief Codes strings with `dictionary` from the next block read (a job's, after it
  /// reclaimed strings: Job::dictionary()); batches of blocks already read keep theirs.
  void set_dictionary(DictionaryPtr dictionary) { dictionary_ = std::move(dictionary); }
  const DictionaryPtr& dictionary() const noexcept { return dictionary_; }

  /// @brief The byte offset in the stream after the last record of the block read last: once
  /// next() has returned every batch of a block (at_block_end()), where the rows returned so far
  /// end. A block is read from where the last one ended, to the same bytes whatever came before
  /// it, so a reader that seek()s there returns the same batches as this one from then on.
  std::uint64_t offset() const noexcept { return consumed_; }
  /// @brief Every batch of the blocks read so far has been returned.
  bool at_block_end() const noexcept { return ready_.empty() && pending_error_.empty(); }
  /// @brief Reads on from byte `offset` (an offset() of an earlier reader of the same input,
  /// after the header; the stream must be seekable), counting the lines before it for messages.
  /// @throws Error(invalid_argument) for an offset inside the header; Error(io_error) when the
  /// stream is shorter or cannot seek.
  void seek(std::uint64_t offset);
  /// @brief Malformed rows seen so far.
  std::uint64_t malformed() const noexcept { return malformed_; }
  /// @brief Well-formed rows returned so far.
  std::uint64_t rows() const noexcept { return rows_; }
  /// @brief Lines read so far (the header is line 1).
  std::uint64_t line() const noexcept { return line_; }
  const std::string& name() const noexcept { return name_; }
  /// @brief The header's column names, trimmed, in file order.
  const std::vector<std::string>& header_names() const noexcept { return header_names_; }

 private:
  bool fill_block();
  void read_live();
  Error read_error() const;
  void parse_block();
  void read_header();
  void report(const std::string& message);
  void finish_input();

  std::istream& in_;
  std::string name_;
  Schema schema_;
  DictionaryPtr dictionary_;
  CsvOptions options_;
  std::vector<int> column_of_field_;  ///< schema column of each CSV field, or -1
  std::vector<std::string> header_names_;
  std::size_t header_fields_ = 0;
  std::vector<char> block_;  ///< the input being parsed: whole records only, but at the end
  std::size_t block_used_ = 0;
  std::size_t carry_ = 0;  ///< bytes of block_ after the last whole record (the next block's)
  bool carry_may_hold_records_ = false;  ///< the carry is what the header left, not a block's
  std::uint64_t block_offset_ = 0;       ///< stream offset of block_[0]
  std::uint64_t consumed_ = 0;           ///< stream offset after the block's last whole record
  /// Record ends that cut the block into one piece per thread, when fill_block() found them in
  /// the scan that found the block's last record (a block with quotes); else parse_block()
  /// looks for them.
  std::vector<std::size_t> piece_cuts_;
  bool piece_cuts_known_ = false;
  std::deque<std::unique_ptr<CsvPiece>> ready_;
  std::string pending_error_;  ///< OnMalformed::fail: thrown once the rows before it are out
  std::uint64_t line_ = 0;
  std::uint64_t rows_ = 0;
  std::uint64_t malformed_ = 0;
  bool eof_ = false;
  bool summarized_ = false;
};

}  // namespace sluice::detail
