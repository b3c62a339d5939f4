// The CSV reader on its own: typed values, messages, the fail policy, and random inputs (quotes,
// line breaks in fields, CRLF, blank and malformed rows) against a serial reference parser for
// every block size and thread count.
#include "host/io/csv_reader.hpp"

#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "sluice/batch.hpp"
#include "sluice/status.hpp"

namespace {

using sluice::Batch;
using sluice::detail::CsvOptions;
using sluice::detail::CsvReader;

sluice::Schema reader_schema() {
  return sluice::parse_schema("t:timestamp[s],n:u32,ok:bool,x:f64,s:string");
}

/// Every batch of the reader, concatenated as rows of Values (strings decoded).
std::vector<std::vector<sluice::Value>> read_all(CsvReader& reader) {
  std::vector<std::vector<sluice::Value>> rows;
  Batch b;
  while (reader.next(b)) {
    for (std::size_t r = 0; r < b.rows(); ++r) {
      std::vector<sluice::Value> row;
      for (std::size_t c = 0; c < b.num_columns(); ++c) row.push_back(b.at(r, c));
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

TEST(CsvReader, ReadsTypedColumns) {
  std::string text = "\xEF\xBB\xBFt,n,ok,x,s\n";
  for (int i = 0; i < 10; ++i) {
    text += std::to_string(i) + "," + std::to_string(i * 2) + "," + (i % 2 ? "true" : "0") + ",+" +
            std::to_string(i) + ".5, s" + std::to_string(i) + "\n";
  }
  std::istringstream in(text);
  CsvReader reader(in, "mem", reader_schema(), nullptr);
  const auto rows = read_all(reader);
  ASSERT_EQ(rows.size(), 10u);
  EXPECT_EQ(std::get<std::int64_t>(rows[3][0]), 3);
  EXPECT_EQ(std::get<std::uint64_t>(rows[3][1]), 6u);
  EXPECT_EQ(std::get<bool>(rows[3][2]), true);
  EXPECT_EQ(std::get<bool>(rows[2][2]), false);
  EXPECT_EQ(std::get<double>(rows[3][3]), 3.5);
  EXPECT_EQ(std::get<std::string>(rows[3][4]), " s3");  // strings are kept as written
  EXPECT_EQ(reader.rows(), 10u);
  EXPECT_EQ(reader.malformed(), 0u);
  EXPECT_EQ(reader.line(), 11u);
}

TEST(CsvReader, RejectsValuesThatDoNotFitTheColumn) {
  const std::string text =
      "t,n,ok,x,s\n"
      "1,-1,true,1,a\n"          // line 2: negative u32
      "1,4294967296,true,1,a\n"  // line 3: too big for u32
      "1,1,yes,1,a\n"            // line 4: not a bool
      "12:30,1,true,1,a\n"       // line 5: neither a number nor a date
      "1,1,true,1e999,a\n"       // line 6: out of range for f64
      "1,1,true,1,a,extra\n"     // line 7: one field too many
      "2,4294967295,FALSE,-0.25,b\n";
  std::istringstream in(text);
  std::ostringstream diagnostics;
  CsvReader reader(in, "mem", reader_schema(), nullptr,
                   {.max_reported = 3, .diagnostics = &diagnostics});
  const auto rows = read_all(reader);
  EXPECT_EQ(reader.malformed(), 6u);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(std::get<std::uint64_t>(rows[0][1]), 4294967295u);
  EXPECT_EQ(diagnostics.str(),
            "mem:2: column 'n': cannot parse '-1' as u32\n"
            "mem:3: column 'n': value '4294967296' out of range for u32\n"
            "mem:4: column 'ok': cannot parse 'yes' as bool\n"
            "mem: skipped 6 malformed rows (the first 3 shown)\n");
}

TEST(CsvReader, FailPolicyReturnsTheRowsBeforeThenThrows) {
  std::istringstream in("t,n,ok,x,s\n1,1,true,1,a\n1,1,true,one,a\n1,1,true,2,a\n");
  CsvReader reader(in, "mem", reader_schema(), nullptr,
                   {.on_malformed = sluice::detail::OnMalformed::fail});
  Batch b;
  ASSERT_TRUE(reader.next(b));
  EXPECT_EQ(b.rows(), 1u);
  try {
    reader.next(b);
    ADD_FAILURE() << "no error";
  } catch (const sluice::Error& e) {
    EXPECT_EQ(e.code(), sluice::ErrorCode::malformed_input);
    EXPECT_STREQ(e.what(), "mem:3: column 'x': cannot parse 'one' as f64");
  }
}

TEST(CsvReader, MissingColumnNamesItAndTheFile) {
  std::istringstream in("t,n,ok,s\n");
  try {
    CsvReader reader(in, "data.csv", reader_schema(), nullptr);
    ADD_FAILURE() << "no error";
  } catch (const sluice::Error& e) {
    EXPECT_EQ(e.code(), sluice::ErrorCode::unknown_column);
    EXPECT_NE(std::string(e.what()).find("data.csv"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("'x'"), std::string::npos) << e.what();
  }
}

TEST(CsvReader, AStrayQuoteCostsOneRowAndTheRowsAfterItAreKept) {
  // A quote that never closes on line 3, then many rows: with the default bound and a bound
  // smaller than the rest of the input, only line 3 is lost.
  constexpr int kRows = 20000;
  std::string text = "t,n,ok,x,s\n1,1,true,1,a\n2,2,true,2,\"oops\n";
  for (int i = 0; i < kRows; ++i) text += std::to_string(i) + ",3,true,3,\"b\"\n";
  for (std::size_t max_quoted : {std::size_t{1} << 20, std::size_t{100}}) {
    SCOPED_TRACE(max_quoted);
    std::istringstream in(text);
    std::ostringstream diagnostics;
    CsvReader reader(
        in, "mem", reader_schema(), nullptr,
        {.diagnostics = &diagnostics, .block_bytes = 4096, .max_quoted_bytes = max_quoted});
    const auto rows = read_all(reader);
    ASSERT_EQ(rows.size(), 1u + kRows);
    EXPECT_EQ(std::get<std::int64_t>(rows[1][0]), 0);
    EXPECT_EQ(std::get<std::int64_t>(rows.back()[0]), kRows - 1);
    EXPECT_EQ(std::get<std::string>(rows.back()[4]), "b");
    EXPECT_EQ(reader.malformed(), 1u);
    EXPECT_EQ(reader.line(), 3u + kRows);
    EXPECT_EQ(diagnostics.str(),
              "mem:3: unterminated quoted field\nmem: skipped 1 malformed row\n");
  }
}

TEST(CsvReader, AQuotedFieldLongerThanTheBoundIsMalformedAndReadingGoesOnAfterItsLine) {
  // A quoted field over two lines fits a bound of 64 bytes, not one of 8: its first line is
  // dropped and its second is read as a record (malformed here: too few fields).
  const std::string text = "t,n,ok,x,s\n1,1,true,1,\"two\nlines\"\n2,2,true,2,c\n";
  for (std::size_t max_quoted : {std::size_t{64}, std::size_t{8}}) {
    std::istringstream in(text);
    std::ostringstream diagnostics;
    CsvReader reader(in, "mem", reader_schema(), nullptr,
                     {.diagnostics = &diagnostics, .max_quoted_bytes = max_quoted});
    const auto rows = read_all(reader);
    if (max_quoted == 64) {
      ASSERT_EQ(rows.size(), 2u);
      EXPECT_EQ(std::get<std::string>(rows[0][4]), "two\nlines");
      EXPECT_EQ(diagnostics.str(), "");
    } else {
      ASSERT_EQ(rows.size(), 1u);
      EXPECT_EQ(std::get<std::int64_t>(rows[0][0]), 2);
      EXPECT_EQ(diagnostics.str(),
                "mem:2: unterminated quoted field\n"
                "mem:3: expected 5 fields (as in the header), found 1\n"
                "mem: skipped 2 malformed rows\n");
    }
    EXPECT_EQ(reader.line(), 4u);
  }
}

TEST(CsvReader, EmptyInputAndOpenQuoteInTheHeaderAreErrors) {
  for (const char* text : {"", "\n\n", "\"t,n\n"}) {
    std::istringstream in(text);
    EXPECT_THROW(CsvReader(in, "mem", reader_schema(), nullptr), sluice::Error) << text;
  }
}

/// Blank lines before the header, however many and whatever the block size (a block may hold
/// only blank lines): the header is the first other line, and lines count from the input's top.
TEST(CsvReader, BlankLinesBeforeTheHeaderAtEveryBlockSize) {
  const std::string text = "\n\r\n\n\nt,n,ok,x,s\n1,2,true,3.5,a\n\n4,5,0,6,b\n";
  for (std::size_t block : {1, 2, 3, 7, 64, 1 << 20}) {
    SCOPED_TRACE("block " + std::to_string(block));
    std::istringstream in(text);
    CsvReader reader(in, "mem", reader_schema(), nullptr, {.block_bytes = block});
    const auto rows = read_all(reader);
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(std::get<std::string>(rows[1][4]), "b");
    EXPECT_EQ(reader.malformed(), 0u);
    EXPECT_EQ(reader.line(), 8u);
  }
}

// ---------------------------------------------------------------------------------------------
// Random inputs against a serial reference.

/// The reference: records split character by character (the documented rules), then fields
/// checked one by one. Yields rows of (t, n, x, s) as text and the messages of malformed rows.
struct Reference {
  std::vector<std::vector<std::string>> rows;  // the fields of well-formed rows
  std::vector<std::string> messages;
  std::uint64_t lines = 0;
};

Reference reference_parse(const std::string& text, std::size_t header_fields,
                          std::size_t max_quoted) {
  Reference ref;
  std::size_t i = 0;
  std::uint64_t line = 1;
  bool header = true;
  while (i < text.size()) {
    if (text[i] == '\n' || (text[i] == '\r' && (i + 1 == text.size() || text[i + 1] == '\n'))) {
      if (text[i] == '\r') ++i;
      if (i < text.size()) {
        ++i;
        ++line;
      }
      continue;
    }
    const std::uint64_t record_line = line;
    std::vector<std::string> fields;
    bool unterminated = false;
    for (;;) {
      std::string f;
      if (i < text.size() && text[i] == '"') {
        const std::size_t quote = i;
        const std::uint64_t quote_line = line;
        bool closed = false;
        for (++i; i < text.size() && i - quote <= max_quoted; ++i) {
          if (text[i] != '"') {
            if (text[i] == '\n') {
              ++line;
              if (!f.empty() && f.back() == '\r') f.pop_back();
            }
            f += text[i];
          } else if (i + 1 < text.size() && text[i + 1] == '"') {
            f += '"';
            ++i;
          } else {
            // A closing quote is followed by a comma, LF, CR LF or the end.
            ++i;
            if (i < text.size() && text[i] == '\r' && (i + 1 == text.size() || text[i + 1] == '\n'))
              ++i;
            closed = i == text.size() || text[i] == ',' || text[i] == '\n';
            break;
          }
        }
        if (!closed) {
          // The record ends with the line on which the field opened.
          unterminated = true;
          line = quote_line;
          const std::size_t nl = text.find('\n', quote + 1);
          i = nl == std::string::npos ? text.size() : nl + 1;
          if (nl != std::string::npos) ++line;
          break;
        }
      }
      while (i < text.size() && text[i] != ',' && text[i] != '\n') f += text[i++];
      const bool last = i >= text.size() || text[i] == '\n';
      if (last && !f.empty() && f.back() == '\r') f.pop_back();
      fields.push_back(f);
      if (last) {
        if (i < text.size()) {
          ++i;
          ++line;
        }
        break;
      }
      ++i;
    }
    if (header) {
      header = false;
      continue;
    }
    std::string why;
    if (unterminated) {
      why = "unterminated quoted field";
    } else if (fields.size() != header_fields) {
      why = "expected " + std::to_string(header_fields) + " fields (as in the header), found " +
            std::to_string(fields.size());
    } else if (fields[1].empty() ||
               fields[1].find_first_not_of("-0123456789") != std::string::npos) {
      why = "column 'n': cannot parse '" + fields[1] + "' as i64";
    }
    if (why.empty())
      ref.rows.push_back(fields);
    else
      ref.messages.push_back("mem:" + std::to_string(record_line) + ": " + why);
  }
  ref.lines = line - 1 + (!text.empty() && text.back() != '\n' ? 1 : 0);
  return ref;
}

/// A random CSV of columns (k, n, s): n an integer or now and then not; s plain, quoted with
/// commas, doubled quotes or line breaks; CRLF endings, blank lines, wrong field counts.
std::string random_csv(std::size_t rows, std::mt19937_64& rng) {
  std::string text = "k,n,s\n";
  const char* words[] = {"alpha", "b,c", "say \"\"hi\"\"", "two\nlines", "crlf\r\nin", ""};
  for (std::size_t r = 0; r < rows; ++r) {
    const unsigned roll = static_cast<unsigned>(rng() % 100);
    if (roll < 3) {
      text += rng() % 2 ? "\n" : "\r\n";  // blank
      continue;
    }
    text += "k" + std::to_string(rng() % 7) + ",";
    text +=
        roll < 6 ? "x" + std::to_string(r) : std::to_string(static_cast<int>(rng() % 2001) - 1000);
    text += ",";
    const std::size_t w = rng() % 6;
    if (w == 0 || w == 5)
      text += std::string(words[w]) + std::to_string(rng() % 50);
    else
      text += "\"" + std::string(words[w]) + "\"";
    if (roll >= 6 && roll < 8) text += ",extra";
    if (roll == 8 && r + 1 == rows) text += ",\"open";     // an unterminated quote at the end
    if (roll == 9) text += rng() % 2 ? ",\"stray" : "\"";  // a quote that never closes
    if (roll == 10) text += ",\"closed\"early";            // text after a closing quote
    text += rng() % 4 == 0 ? "\r\n" : "\n";
  }
  return text;
}

/// Live input as a pipe gives it: chunks of 1 to 97 bytes, and at random nothing ready (so
/// readsome() returns nothing and the reader waits for the next chunk).
class TrickleBuffer final : public std::streambuf {
 public:
  TrickleBuffer(std::string text, std::uint64_t seed) : text_(std::move(text)), rng_(seed) {}

 protected:
  int_type underflow() override {
    if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
    if (at_ == text_.size()) return traits_type::eof();
    const std::size_t n = std::min<std::size_t>(1 + rng_() % 97, text_.size() - at_);
    char* begin = text_.data() + at_;
    setg(begin, begin, begin + n);
    at_ += n;
    return traits_type::to_int_type(*gptr());
  }
  std::streamsize showmanyc() override {
    if (at_ == text_.size()) return -1;
    return rng_() % 2 == 0 ? 0
                           : static_cast<std::streamsize>(
                                 std::min<std::size_t>(1 + rng_() % 97, text_.size() - at_));
  }

 private:
  std::string text_;
  std::size_t at_ = 0;
  std::mt19937_64 rng_;
};

TEST(CsvReader, RandomInputsMatchASerialReferenceAtEveryBlockSizeAndThreadCount) {
  const sluice::Schema schema = sluice::parse_schema("k:string,n:i64,s:string");
  std::mt19937_64 rng(7);
  const int before = omp_get_max_threads();
  for (std::size_t rows : {0u, 1u, 2u, 50u, 2000u}) {
    const std::string text = random_csv(rows, rng);
    for (std::size_t max_quoted : {std::size_t{8}, std::size_t{40}, std::size_t{1} << 20}) {
      const Reference ref = reference_parse(text, 3, max_quoted);
      for (std::size_t block : {std::size_t{1}, std::size_t{7}, std::size_t{64}, std::size_t{4096},
                                std::size_t{1} << 20}) {
        for (int threads : {1, 2, 3}) {
          for (const bool live : {false, true}) {
            SCOPED_TRACE(std::to_string(rows) + " rows, quoted fields up to " +
                         std::to_string(max_quoted) + " bytes, block " + std::to_string(block) +
                         ", " + std::to_string(threads) + " threads" +
                         (live ? ", live input in random chunks" : ""));
            omp_set_num_threads(threads);
            std::istringstream whole(text);
            TrickleBuffer trickle(text, rng());
            std::istream trickling(&trickle);
            std::istream& in = live ? trickling : whole;
            std::ostringstream diagnostics;
            auto dictionary = std::make_shared<sluice::StringDictionary>();
            CsvReader reader(in, "mem", schema, dictionary,
                             {.max_reported = 1 << 20,
                              .diagnostics = &diagnostics,
                              .block_bytes = block,
                              .max_quoted_bytes = max_quoted,
                              .live = live,
                              .live_gather = std::chrono::milliseconds(0)});
            const auto got = read_all(reader);
            ASSERT_EQ(got.size(), ref.rows.size());
            for (std::size_t r = 0; r < got.size(); ++r) {
              ASSERT_EQ(std::get<std::string>(got[r][0]), ref.rows[r][0]) << "row " << r;
              ASSERT_EQ(std::get<std::int64_t>(got[r][1]), std::stoll(ref.rows[r][1]))
                  << "row " << r;
              ASSERT_EQ(std::get<std::string>(got[r][2]), ref.rows[r][2]) << "row " << r;
            }
            std::string want;
            for (const std::string& m : ref.messages) want += m + "\n";
            if (!ref.messages.empty())
              want += "mem: skipped " + std::to_string(ref.messages.size()) + " malformed row" +
                      (ref.messages.size() == 1 ? "" : "s") + "\n";
            EXPECT_EQ(diagnostics.str(), want);
            EXPECT_EQ(reader.malformed(), ref.messages.size());
            EXPECT_EQ(reader.line(), ref.lines);
            // Codes in the order the strings first appear, as a serial reader gives them.
            std::vector<std::string> first_seen;
            for (const auto& row : ref.rows)
              for (int c : {0, 2})
                if (std::find(first_seen.begin(), first_seen.end(),
                              row[static_cast<std::size_t>(c)]) == first_seen.end())
                  first_seen.push_back(row[static_cast<std::size_t>(c)]);
            ASSERT_EQ(dictionary->size(), first_seen.size());
            for (std::uint32_t code = 0; code < first_seen.size(); ++code)
              ASSERT_EQ(dictionary->at(code), first_seen[code]) << "code " << code;
          }
        }
      }
    }
  }
  omp_set_num_threads(before);
}

/// A reader that seek()s to the offset() an earlier reader had at the end of any block returns
/// the rows that one returned after it, with the same line numbers in its messages; offsets
/// inside the header or beyond the input are errors.
TEST(CsvReader, SeekToABlockEndResumesWhereTheReaderStood) {
  const sluice::Schema schema = sluice::parse_schema("k:string,n:i64,s:string");
  std::mt19937_64 rng(11);
  const std::string text = random_csv(3000, rng);
  for (std::size_t block : {std::size_t{64}, std::size_t{1000}, std::size_t{1} << 14}) {
    SCOPED_TRACE("block " + std::to_string(block));
    const CsvOptions options{
        .max_reported = 1 << 20, .block_bytes = block, .max_quoted_bytes = 200};
    struct Stop {
      std::uint64_t offset;
      std::size_t rows;
      std::size_t messages;
    };
    std::vector<Stop> stops;
    std::vector<std::vector<sluice::Value>> rows;
    std::vector<std::string> messages;
    {
      std::istringstream in(text);
      std::ostringstream diagnostics;
      CsvOptions o = options;
      o.diagnostics = &diagnostics;
      CsvReader reader(in, "mem", schema, nullptr, o);
      stops.push_back({reader.offset(), 0, 0});
      Batch b;
      while (reader.next(b)) {
        for (std::size_t r = 0; r < b.rows(); ++r)
          rows.push_back({b.at(r, 0), b.at(r, 1), b.at(r, 2)});
        if (reader.at_block_end()) {
          std::istringstream lines(diagnostics.str());
          std::size_t count = 0;
          for (std::string line; std::getline(lines, line);) ++count;
          stops.push_back({reader.offset(), rows.size(), count});
        }
      }
      std::istringstream lines(diagnostics.str());
      for (std::string line; std::getline(lines, line);)
        if (line.find("skipped") == std::string::npos) messages.push_back(line);
    }
    ASSERT_GT(stops.size(), 3u);
    ASSERT_FALSE(messages.empty());
    for (const Stop& stop : stops) {
      SCOPED_TRACE("from byte " + std::to_string(stop.offset));
      std::istringstream in(text);
      std::ostringstream diagnostics;
      CsvOptions o = options;
      o.diagnostics = &diagnostics;
      CsvReader reader(in, "mem", schema, nullptr, o);
      reader.seek(stop.offset);
      const auto got = read_all(reader);
      ASSERT_EQ(got.size(), rows.size() - stop.rows);
      for (std::size_t r = 0; r < got.size(); ++r)
        ASSERT_EQ(got[r], rows[stop.rows + r]) << "row " << r;
      std::vector<std::string> tail;
      std::istringstream lines(diagnostics.str());
      for (std::string line; std::getline(lines, line);)
        if (line.find("skipped") == std::string::npos) tail.push_back(line);
      const std::size_t skip_count = std::min(stop.messages, messages.size());
      EXPECT_EQ(tail,
                std::vector<std::string>(messages.begin() + static_cast<std::ptrdiff_t>(skip_count),
                                         messages.end()));
    }
    std::istringstream in(text);
    CsvReader reader(in, "mem", schema, nullptr, options);
    EXPECT_THROW(reader.seek(2), sluice::Error) << "inside the header";
    EXPECT_THROW(reader.seek(text.size() + 10), sluice::Error) << "beyond the input";
  }
}

}  // namespace
