// PipelinePlan: a compiled query in executor-neutral form, as the pipeline runs it.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/aggregation_spec.hpp"
#include "kernels/ops/column_type.hpp"
#include "kernels/ops/program.hpp"
#include "kernels/partition.hpp"

namespace sluice::detail {

/// @brief Programs and their meaning. Windowed queries use `aggregation`; stateless ones the
/// filter conjuncts and the output programs.
struct PipelinePlan {
  std::vector<ColumnType> input_types;  ///< the columns a batch carries, in order
  int time_column = -1;                 ///< the input column of event time (the watermark's), or -1
  std::vector<Instr> code;
  std::vector<ProgramRef> programs;
  bool windowed = false;
  // Stateless queries.
  int filter_begin = 0;  ///< conjuncts [begin, begin + count)
  int filter_count = 0;
  int outputs_begin = 0;  ///< output columns [begin, begin + count)
  int outputs_count = 0;
  // Windowed queries.
  AggregationSpec aggregation;
  Partitioner partitioner;  ///< parts == number of workers
};

}  // namespace sluice::detail
