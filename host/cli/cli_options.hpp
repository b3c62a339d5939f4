// Command-line flag parsing shared by the sluice subcommands, and the flag value parsers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/engine.hpp"
#include "sluice/query.hpp"
#include "sluice/status.hpp"

namespace sluice::cli {

/// @brief A usage error (unknown flag, missing or bad value): exit status 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// @brief One flag a subcommand accepts.
struct FlagSpec {
  std::string_view name;  ///< "--input"
  bool takes_value = true;
};

/// @brief The flags given on a command line: name -> value ("" for switches).
class Flags {
 public:
  /// @brief Parses "--name value", "--name=value" and switches; "-h" means "--help".
  /// @throws UsageError on an unknown flag, a missing value, a repeated flag or a positional
  /// argument.
  Flags(std::span<char* const> args, std::span<const FlagSpec> specs);

  bool has(std::string_view name) const { return values_.count(std::string(name)) != 0; }
  /// @brief The value of a flag that must be given. @throws UsageError when it is missing.
  const std::string& required(std::string_view name) const;
  /// @brief The value of an optional flag, or `fallback`.
  std::string get(std::string_view name, std::string fallback) const;

 private:
  std::map<std::string, std::string, std::less<>> values_;
};

/// @brief Runs `parse(value)` and turns a sluice::Error it throws into
/// UsageError("FLAG: message").
template <class Parse>
auto parse_flag(std::string_view flag, const std::string& value, Parse parse) {
  try {
    return parse(value);
  } catch (const Error& e) {
    throw UsageError(std::string(flag) + ": " + e.what());
  }
}

/// @brief "--flag: bad value 'text' (expected ...)": the UsageError of a malformed value.
UsageError bad_value(std::string_view flag, std::string_view text, std::string_view expected);

/// @brief Comma-separated items, each trimmed; empty items are an error.
std::vector<std::string> split_list(std::string_view flag, std::string_view text);
/// @brief A decimal integer in [min, max].
std::int64_t parse_integer(std::string_view flag, std::string_view text, std::int64_t min,
                           std::int64_t max);
/// @brief A byte count: digits with an optional suffix k, m or g (KiB, MiB, GiB).
std::size_t parse_bytes(std::string_view flag, std::string_view text);
/// @brief "auto", "cpu" or "gpu".
Backend parse_backend(std::string_view text);
/// @brief "round-robin", "random" or "weighted:W1,W2,..." (fills `config.weights` too).
void parse_balance(std::string_view text, EngineConfig& config);
/// @brief "hash" or "range:B1,B2,..." (each boundary an int64 if integral, else a double).
PartitionSpec parse_partition(std::string_view text);

}  // namespace sluice::cli
