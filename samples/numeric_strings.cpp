// Sample: a stateless filter -> map pipeline over numeric strings read from a file or stdin.
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>

#include "sluice/sluice.hpp"

namespace {

// The number on `line` (surrounding blanks allowed), or false when it is not one finite number.
bool parse_number(std::string_view line, double& out) {
  while (!line.empty() && std::isspace(static_cast<unsigned char>(line.front())))
    line.remove_prefix(1);
  while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back())))
    line.remove_suffix(1);
  if (!line.empty() && line.front() == '+') line.remove_prefix(1);
  const char* end = line.data() + line.size();
  const auto [ptr, ec] = std::from_chars(line.data(), end, out);
  return !line.empty() && ec == std::errc() && ptr == end && std::isfinite(out);
}

bool blank(std::string_view line) {
  for (char c : line)
    if (!std::isspace(static_cast<unsigned char>(c))) return false;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace sluice;
  if (argc > 2) {
    std::fprintf(stderr, "usage: numeric_strings [FILE]   (reads stdin without FILE)\n");
    return 2;
  }
  std::ifstream file;
  if (argc == 2) {
    file.open(argv[1]);
    if (!file) {
      std::fprintf(stderr, "numeric_strings: cannot open %s\n", argv[1]);
      return 1;
    }
  }
  std::istream& in = argc == 2 ? static_cast<std::istream&>(file) : std::cin;
  const char* source = argc == 2 ? argv[1] : "<stdin>";

  std::uint64_t rows_out = 0;  // written by the sink, read after finish()
  Query query;
  query.filter(col("value") > lit(0.0))
      .map("squared", col("value") * col("value"))
      .project({"value", "squared"})
      .sink([&rows_out](const Batch& batch) {
        for (std::size_t r = 0; r < batch.rows(); ++r)
          std::printf("value=%s squared=%s\n", to_string(batch.at(r, 0)).c_str(),
                      to_string(batch.at(r, 1)).c_str());
        rows_out += batch.rows();
      });

  std::uint64_t numbers = 0, skipped = 0;
  try {
    const Engine engine;
    Job job = engine.start(Schema({{"value", TypeId::f64}}), query);
    std::string line;
    for (std::uint64_t number = 1; std::getline(in, line); ++number) {
      if (blank(line)) continue;
      double value = 0;
      if (!parse_number(line, value)) {
        std::fprintf(stderr, "%s:%llu: '%s' is not a number, skipped\n", source,
                     static_cast<unsigned long long>(number), line.c_str());
        ++skipped;
        continue;
      }
      job.push_row({Value(value)});
      ++numbers;
    }
    job.finish();
  } catch (const Error& e) {
    std::fprintf(stderr, "numeric_strings: %s: %s\n", to_string(e.code()), e.what());
    return 1;
  }
  std::printf("%llu numbers read, %llu lines skipped, %llu rows out (value > 0)\n",
              static_cast<unsigned long long>(numbers), static_cast<unsigned long long>(skipped),
              static_cast<unsigned long long>(rows_out));
  return 0;
}
