// String codes across ranks: text hashes, descriptions of new codes, and their translation.
#include "host/engine/string_codes.hpp"

#include <cstring>
#include <string>

#include "sluice/status.hpp"

namespace sluice::detail {

namespace {

/// The code of the record that tells a receiver to forget the sender's codes.
constexpr std::uint32_t kForgetCodes = UINT32_MAX;

}  // namespace

std::uint64_t text_hash(std::string_view text) {
  std::uint64_t h = hash_combine(kKeyHashSeed, text.size());
  std::size_t i = 0;
  for (; i + 8 <= text.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, text.data() + i, 8);
    h = hash_combine(h, w);
  }
  if (i < text.size()) {
    std::uint64_t w = 0;
    std::memcpy(&w, text.data() + i, text.size() - i);
    h = hash_combine(h, w);
  }
  return h;
}

TextHashes::TextHashes(DictionaryPtr dictionary) { hash_all(std::move(dictionary)); }

void TextHashes::hash_all(DictionaryPtr dictionary) {
  // Codes it holds without having given them (carried over, or restored from a checkpoint),
  // and those given so far. Others may intern meanwhile: every code given before `given_` is
  // held when the loop looks, and those given after are hashed by the next refresh.
  dictionary_ = std::move(dictionary);
  given_ = dictionary_->codes_given();
  hashes_.assign(dictionary_->code_limit(), 0);
  for (std::uint32_t c = 0; c < hashes_.size(); ++c)
    if (dictionary_->contains(c)) hashes_[c] = text_hash(dictionary_->at(c));
}

std::span<const std::uint64_t> TextHashes::refresh(const DictionaryPtr& current) {
  if (current != dictionary_) {
    // A dictionary carried over: same codes for the strings it kept, others free or new.
    hash_all(current);
    return hashes_;
  }
  for (const std::size_t given = dictionary_->codes_given(); given_ < given; ++given_) {
    const std::uint32_t code = dictionary_->code_given(given_);
    if (code >= hashes_.size()) hashes_.resize(code + 1, 0);
    hashes_[code] = text_hash(dictionary_->at(code));
  }
  return hashes_;
}

StringCodeSync::StringCodeSync(DictionaryPtr dictionary, int ranks)
    : dictionary_(std::move(dictionary)),
      told_(static_cast<std::size_t>(ranks)),
      theirs_(static_cast<std::size_t>(ranks)) {}

void StringCodeSync::describe(int to, std::uint32_t code, std::vector<std::byte>& out) {
  std::vector<bool>& told = told_[static_cast<std::size_t>(to)];
  if (code < told.size() && told[code]) return;
  if (code >= told.size()) told.resize(std::max<std::size_t>(code + 1, told.size() * 2), false);
  told[code] = true;
  const std::string_view text = dictionary_->at(code);
  const auto length = static_cast<std::uint32_t>(text.size());
  const std::size_t at = out.size();
  out.resize(at + 8 + text.size());
  std::memcpy(out.data() + at, &code, 4);
  std::memcpy(out.data() + at + 4, &length, 4);
  std::memcpy(out.data() + at + 8, text.data(), text.size());
}

void StringCodeSync::learn(int from, std::span<const std::byte> description) {
  std::vector<std::uint32_t>& theirs = theirs_[static_cast<std::size_t>(from)];
  std::size_t at = 0;
  while (at < description.size()) {
    std::uint32_t code = 0;
    std::uint32_t length = 0;
    if (description.size() - at < 8 || (std::memcpy(&code, description.data() + at, 4),
                                        std::memcpy(&length, description.data() + at + 4, 4),
                                        description.size() - at - 8 < length))
      throw Error(ErrorCode::peer_failure,
                  "rank " + std::to_string(from) + " sent a malformed description of its strings");
    if (code == kForgetCodes && length == 0) {
      theirs.clear();
      at += 8;
      continue;
    }
    const std::string_view text(reinterpret_cast<const char*>(description.data() + at + 8), length);
    if (code >= theirs.size())
      theirs.resize(std::max<std::size_t>(code + 1, theirs.size() * 2), UINT32_MAX);
    theirs[code] = dictionary_->intern(text);
    at += 8 + length;
  }
}

std::uint32_t StringCodeSync::local(int from, std::uint64_t code) const {
  const std::vector<std::uint32_t>& theirs = theirs_[static_cast<std::size_t>(from)];
  if (code >= theirs.size() || theirs[code] == UINT32_MAX)
    throw Error(ErrorCode::peer_failure, "rank " + std::to_string(from) + " sent string code " +
                                             std::to_string(code) + " without its text");
  return theirs[code];
}

void StringCodeSync::list_codes(std::vector<std::uint32_t>& codes) const {
  for (const std::vector<std::uint32_t>& theirs : theirs_)
    for (std::uint32_t ours : theirs)
      if (ours != UINT32_MAX) codes.push_back(ours);
}

void StringCodeSync::set_dictionary(DictionaryPtr dictionary) {
  dictionary_ = std::move(dictionary);
  for (std::vector<bool>& told : told_) told.clear();
  owe_reset_.assign(told_.size(), true);
}

void StringCodeSync::describe_reset(int to, std::vector<std::byte>& out) {
  const auto r = static_cast<std::size_t>(to);
  if (r >= owe_reset_.size() || !owe_reset_[r]) return;
  owe_reset_[r] = false;
  const std::uint32_t record[2] = {kForgetCodes, 0};
  const std::size_t at = out.size();
  out.resize(at + sizeof(record));
  std::memcpy(out.data() + at, record, sizeof(record));
}

StringRowTranslator::StringRowTranslator(StringCodeSync& sync,
                                         std::vector<std::uint32_t> code_words, bool rehash_keys,
                                         int key_first, int key_words, KeyHasher hasher)
    : sync_(sync),
      code_words_(std::move(code_words)),
      rehash_keys_(rehash_keys),
      key_first_(key_first),
      key_words_(key_words),
      hasher_(hasher) {}

void StringRowTranslator::describe(int to, std::span<const std::uint64_t> rows,
                                   std::uint32_t row_words, std::vector<std::byte>& out) {
  if (code_words_.empty()) return;
  sync_.describe_reset(to, out);
  for (std::size_t r = 0; r + row_words <= rows.size(); r += row_words)
    for (std::uint32_t w : code_words_)
      sync_.describe(to, static_cast<std::uint32_t>(rows[r + w]), out);
}

void StringRowTranslator::translate(int from, std::span<const std::byte> description,
                                    std::span<std::uint64_t> rows, std::uint32_t row_words) {
  if (code_words_.empty()) return;
  sync_.learn(from, description);
  for (std::size_t r = 0; r + row_words <= rows.size(); r += row_words) {
    std::uint64_t* row = rows.data() + r;
    for (std::uint32_t w : code_words_) row[w] = sync_.local(from, row[w]);
    if (rehash_keys_) row[0] = hasher_(row + key_first_, 1, key_words_, 0);
  }
}

}  // namespace sluice::detail
