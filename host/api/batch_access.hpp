// BatchAccess: what the engine needs of a Batch beyond its public interface.
#pragma once

#include <cstddef>
#include <memory>
#include <span>

#include "sluice/batch.hpp"

namespace sluice::detail {

struct BatchAccess {
  /// @brief The storage a batch shares with its copies (null for one wrapped without
  /// keep_alive): holding it keeps the columns alive.
  static const std::shared_ptr<const void>& owner(const Batch& b) { return b.owner_; }
  /// @brief Points the columns of `b` (built once with the right schema and dictionaries) at
  /// `data` (one pointer per column) and sets its row count; allocates nothing.
  static void rebind(Batch& b, std::span<const void* const> data, std::size_t rows) {
    for (std::size_t i = 0; i < b.columns_.size() && i < data.size(); ++i)
      b.columns_[i].data = data[i];
    b.rows_ = rows;
  }
};

}  // namespace sluice::detail
