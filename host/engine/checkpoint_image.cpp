// CheckpointImage: encoding as words, and decoding with every length checked.
#include "host/engine/checkpoint_image.hpp"

#include "host/engine/snapshot_words.hpp"

namespace sluice::detail {
namespace {

constexpr std::uint64_t kImageMark = 0x4547414D49434C53ULL;  // "SLCIMAGE"

std::vector<std::uint64_t> copy_words(WordReader& in) {
  const std::span<const std::uint64_t> w = in.get_words();
  return {w.begin(), w.end()};
}

}  // namespace

void CheckpointImage::encode(std::vector<std::uint64_t>& words) const {
  WordWriter out(words);
  out.put(kImageMark);
  out.put_string(fingerprint);
  out.put_words(positions);
  out.put(sink_position);
  out.put(code_limit);
  out.put(codes.size());
  for (std::size_t i = 0; i < codes.size(); ++i) {
    out.put(codes[i]);
    out.put_string(strings[i]);
  }
  out.put_words(counters);
  out.put_words(per_worker_batches);
  out.put_words(ingest);
  out.put_words(dispatch);
  out.put_words(broadcast);
  out.put(workers.size());
  for (const auto& w : workers) out.put_words(w);
}

CheckpointImage CheckpointImage::decode(std::span<const std::uint64_t> words,
                                        const std::string& path) {
  WordReader in(words, "checkpoint " + path);
  if (in.get() != kImageMark) in.fail("not a job's checkpoint");
  CheckpointImage image;
  image.fingerprint = in.get_string();
  image.positions = copy_words(in);
  image.sink_position = in.get();
  const std::uint64_t limit = in.get();
  if (limit > UINT32_MAX) in.fail("a dictionary of " + std::to_string(limit) + " codes");
  image.code_limit = static_cast<std::uint32_t>(limit);
  const std::size_t strings = in.get_count(2);
  image.codes.reserve(strings);
  image.strings.reserve(strings);
  for (std::size_t i = 0; i < strings; ++i) {
    const std::uint64_t code = in.get();
    if (code >= limit) in.fail("a string code " + std::to_string(code) + " beyond the limit");
    image.codes.push_back(static_cast<std::uint32_t>(code));
    image.strings.push_back(in.get_string());
  }
  image.counters = copy_words(in);
  if (image.counters.size() != kJobCounters)
    in.fail(std::to_string(image.counters.size()) + " counters, this build keeps " +
            std::to_string(static_cast<std::size_t>(kJobCounters)));
  image.per_worker_batches = copy_words(in);
  image.ingest = copy_words(in);
  image.dispatch = copy_words(in);
  image.broadcast = copy_words(in);
  const std::size_t workers = in.get_count();
  for (std::size_t w = 0; w < workers; ++w) image.workers.push_back(copy_words(in));
  if (!in.done()) in.fail("words after the last worker's state");
  return image;
}

}  // namespace sluice::detail
