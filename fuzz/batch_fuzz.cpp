// Fuzz target: caller arrays of arbitrary bytes wrapped as a batch of a schema picked by the
// first byte, with a small dictionary for its string columns: wrap either refuses them with a
// sluice::Error or every cell reads back.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "sluice/batch.hpp"
#include "sluice/dictionary.hpp"
#include "sluice/schema.hpp"
#include "sluice/status.hpp"
#include "sluice/types.hpp"
#include "sluice/value.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static const sluice::Schema schemas[] = {
      sluice::parse_schema("s:string"),
      sluice::parse_schema("ts:timestamp[ms],host:string,cpu:f32"),
      sluice::parse_schema("a:i32,b:u32,c:i64,d:u64,e:f64,f:bool,g:string"),
  };
  const sluice::Schema& schema = schemas[data[0] % 3];
  auto dictionary = std::make_shared<sluice::StringDictionary>();
  for (const char* text : {"a", "bb", ""}) dictionary->intern(text);
  std::size_t row_bytes = 0;
  for (std::size_t c = 0; c < schema.size(); ++c)
    row_bytes += sluice::type_width(schema.field(c).type.id);
  const std::size_t rows = (size - 1) / row_bytes;
  // Column-major copies of the bytes, each aligned for its type.
  std::vector<std::vector<std::uint64_t>> storage;
  std::vector<const void*> columns;
  std::vector<sluice::DictionaryPtr> dictionaries;
  const std::uint8_t* p = data + 1;
  for (std::size_t c = 0; c < schema.size(); ++c) {
    const std::size_t bytes = rows * sluice::type_width(schema.field(c).type.id);
    storage.emplace_back((bytes + 7) / 8 + 1);
    if (bytes > 0) std::memcpy(storage.back().data(), p, bytes);
    p += bytes;
    columns.push_back(storage.back().data());
    dictionaries.push_back(schema.field(c).type.id == sluice::TypeId::string ? dictionary
                                                                             : nullptr);
  }
  try {
    const sluice::Batch batch = sluice::Batch::wrap(schema, columns, rows, dictionaries);
    for (std::size_t r = 0; r < batch.rows(); ++r)
      for (std::size_t c = 0; c < batch.num_columns(); ++c) (void)sluice::to_string(batch.at(r, c));
  } catch (const sluice::Error&) {
  }
  return 0;
}
