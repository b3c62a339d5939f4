// Decoding of engine outputs into API values: fired windows, stateless rows and late events.
#pragma once

#include <cstdint>
#include <vector>

#include "host/host_batch.hpp"
#include "host/query_compiler.hpp"
#include "sluice/batch.hpp"
#include "sluice/result.hpp"

namespace sluice::detail {

/// @brief Appends one WindowResult per fired row (keys decoded, aggregates finalized).
void decode_windows(const CompiledQuery& query, const FiredHost& fired,
                    const StringDictionary& dictionary, std::vector<WindowResult>& out);

/// @brief Orders results by window start, then key values.
void sort_results(std::vector<WindowResult>& results);

/// @brief A Batch of a stateless query's outputs (output j of row i at words[j * rows + i]).
Batch output_batch(const CompiledQuery& query, const std::vector<std::uint64_t>& words,
                   std::size_t rows, const DictionaryPtr& dictionary);

/// @brief A Batch of the read columns of `batch` at `rows` (late events).
Batch gather_rows(const Schema& read_schema, const HostBatch& batch,
                  const std::vector<std::uint32_t>& rows, const DictionaryPtr& dictionary);

}  // namespace sluice::detail
