// Command-line flag parsing and the parsers of enumerated and numeric flag values.
#include "host/cli/cli_options.hpp"

#include <charconv>
#include <limits>
#include <string>
#include <vector>

#include "host/cli/suggest.hpp"

namespace sluice::cli {
namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

const FlagSpec* find_spec(std::span<const FlagSpec> specs, std::string_view name) {
  for (const FlagSpec& spec : specs) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

template <class T>
bool parse_whole(std::string_view text, T& out) {
  text = trim(text);
  if (text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

Flags::Flags(std::span<char* const> args, std::span<const FlagSpec> specs) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg == "-h") arg = "--help";
    if (!arg.starts_with("-") || arg == "-") {
      throw UsageError("unexpected argument '" + std::string(arg) + "'");
    }
    const std::size_t equals = arg.find('=');
    const std::string_view name = arg.substr(0, equals);
    const FlagSpec* spec = find_spec(specs, name);
    if (spec == nullptr) {
      std::vector<std::string_view> names;
      for (const FlagSpec& s : specs) names.push_back(s.name);
      throw UsageError("unknown flag '" + std::string(name) + "'" + did_you_mean(name, names));
    }
    std::string value;
    if (equals != std::string_view::npos) {
      if (!spec->takes_value) throw UsageError(std::string(name) + " takes no value");
      value = arg.substr(equals + 1);
    } else if (spec->takes_value) {
      if (i + 1 == args.size()) throw UsageError(std::string(name) + " needs a value");
      value = args[++i];
    }
    if (!values_.emplace(std::string(name), std::move(value)).second) {
      throw UsageError(std::string(name) + " is given more than once");
    }
  }
}

const std::string& Flags::required(std::string_view name) const {
  const auto it = values_.find(name);
  if (it == values_.end()) throw UsageError("missing required flag " + std::string(name));
  return it->second;
}

std::string Flags::get(std::string_view name, std::string fallback) const {
  const auto it = values_.find(name);
  return it == values_.end() ? std::move(fallback) : it->second;
}

UsageError bad_value(std::string_view flag, std::string_view text, std::string_view expected) {
  return UsageError(std::string(flag) + ": bad value '" + std::string(text) + "' (expected " +
                    std::string(expected) + ")");
}

std::vector<std::string> split_list(std::string_view flag, std::string_view text) {
  std::vector<std::string> items;
  std::size_t begin = 0;
  while (true) {
    const std::size_t comma = text.find(',', begin);
    const std::string_view item = trim(text.substr(begin, comma - begin));
    if (item.empty()) throw bad_value(flag, text, "a comma-separated list with no empty items");
    items.emplace_back(item);
    if (comma == std::string_view::npos) return items;
    begin = comma + 1;
  }
}

std::int64_t parse_integer(std::string_view flag, std::string_view text, std::int64_t min,
                           std::int64_t max) {
  std::int64_t value = 0;
  if (!parse_whole(text, value) || value < min || value > max) {
    throw bad_value(flag, text,
                    "an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  return value;
}

Backend parse_backend(std::string_view text) {
  if (text == "auto") return Backend::automatic;
  if (text == "cpu") return Backend::cpu;
  if (text == "gpu") return Backend::gpu;
  throw bad_value("--backend", text, "auto, cpu or gpu");
}

void parse_balance(std::string_view text, EngineConfig& config) {
  constexpr std::string_view kExpected = "round-robin, random or weighted:W1,W2,...";
  if (text == "round-robin") {
    config.balance = BalancePolicy::round_robin;
  } else if (text == "random") {
    config.balance = BalancePolicy::random;
  } else if (text.starts_with("weighted:")) {
    config.balance = BalancePolicy::weighted;
    config.weights.clear();
    for (const std::string& item : split_list("--balance", text.substr(9))) {
      double weight = 0;
      if (!parse_whole(std::string_view(item), weight) || !(weight >= 0)) {
        throw bad_value("--balance", item, "a non-negative weight");
      }
      config.weights.push_back(weight);
    }
  } else {
    throw bad_value("--balance", text, kExpected);
  }
}

PartitionSpec parse_partition(std::string_view text) {
  PartitionSpec spec;
  if (text == "hash") return spec;
  if (text == "key") {
    spec.kind = PartitionSpec::Kind::key;
    return spec;
  }
  if (!text.starts_with("range:"))
    throw bad_value("--partition", text, "hash, key or range:B1,B2,...");
  spec.kind = PartitionSpec::Kind::range;
  for (const std::string& item : split_list("--partition", text.substr(6))) {
    std::int64_t integer = 0;
    double real = 0;
    if (parse_whole(std::string_view(item), integer)) {
      spec.boundaries.emplace_back(integer);
    } else if (parse_whole(std::string_view(item), real)) {
      spec.boundaries.emplace_back(real);
    } else {
      throw bad_value("--partition", item, "a numeric range boundary");
    }
  }
  return spec;
}

std::size_t parse_bytes(std::string_view flag, std::string_view text) {
  std::size_t shift = 0;
  if (!text.empty()) {
    switch (text.back()) {
      case 'k':
      case 'K':
        shift = 10;
        break;
      case 'm':
      case 'M':
        shift = 20;
        break;
      case 'g':
      case 'G':
        shift = 30;
        break;
      default:
        break;
    }
  }
  if (shift > 0) text.remove_suffix(1);
  const auto limit = std::numeric_limits<std::int64_t>::max() >> shift;
  const auto value = parse_integer(flag, text, 0, limit);
  return static_cast<std::size_t>(value) << shift;
}

}  // namespace sluice::cli
