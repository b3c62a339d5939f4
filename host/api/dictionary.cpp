// StringDictionary: thread-safe interning of strings to dense u32 codes.
#include "sluice/dictionary.hpp"

#include <mutex>
#include <string>

#include "sluice/status.hpp"

namespace sluice {

std::uint32_t StringDictionary::intern(std::string_view text) {
  {
    std::shared_lock lock(mutex_);
    if (auto it = codes_.find(text); it != codes_.end()) return it->second;
  }
  std::unique_lock lock(mutex_);
  // Another thread may have inserted it between the two locks.
  if (auto it = codes_.find(text); it != codes_.end()) return it->second;
  if (strings_.size() >= UINT32_MAX) {
    throw Error(ErrorCode::out_of_memory, "string dictionary is full (2^32 - 1 strings)");
  }
  const auto code = static_cast<std::uint32_t>(strings_.size());
  // A deque never moves its elements on push_back, so the map's views stay valid.
  const std::string& stored = strings_.emplace_back(text);
  codes_.emplace(std::string_view(stored), code);
  return code;
}

std::optional<std::uint32_t> StringDictionary::find(std::string_view text) const {
  std::shared_lock lock(mutex_);
  if (auto it = codes_.find(text); it != codes_.end()) return it->second;
  return std::nullopt;
}

std::string_view StringDictionary::at(std::uint32_t code) const {
  std::shared_lock lock(mutex_);
  if (code >= strings_.size()) {
    throw Error(ErrorCode::invalid_argument, "unknown string code " + std::to_string(code) +
                                                 " (the dictionary holds " +
                                                 std::to_string(strings_.size()) + " strings)");
  }
  return strings_[code];
}

std::size_t StringDictionary::size() const {
  std::shared_lock lock(mutex_);
  return strings_.size();
}

}  // namespace sluice
