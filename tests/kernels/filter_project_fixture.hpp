// The filter_project test batch (one column of every type) and the ProgramSet builder that the
// host and GPU filter_project tests write their filters and outputs with.
#pragma once

#include <cstdint>
#include <vector>

#include "kernel_test_util.hpp"
#include "kernels/filter_project.hpp"

namespace sluice::test {

// Column indices of the test batch.
enum Col : int { kI32, kI64, kU32, kU64, kF32, kF64, kBool, kTs, kStr, kNumCols };

inline const detail::ColumnType kTypes[kNumCols] = {
    detail::ColumnType::i32,     detail::ColumnType::i64,       detail::ColumnType::u32,
    detail::ColumnType::u64,     detail::ColumnType::f32,       detail::ColumnType::f64,
    detail::ColumnType::boolean, detail::ColumnType::timestamp, detail::ColumnType::string};

struct Batch {
  std::vector<std::int32_t> i32;
  std::vector<std::int64_t> i64;
  std::vector<std::uint32_t> u32;
  std::vector<std::uint64_t> u64;
  std::vector<float> f32;
  std::vector<double> f64;
  std::vector<std::uint8_t> boolean;
  std::vector<std::int64_t> ts;
  std::vector<std::uint32_t> str;

  std::size_t size() const { return i64.size(); }
  /// The columns in host memory.
  detail::InputColumns in() const {
    detail::InputColumns c;
    c.count = kNumCols;
    c.data[kI32] = i32.data();
    c.data[kI64] = i64.data();
    c.data[kU32] = u32.data();
    c.data[kU64] = u64.data();
    c.data[kF32] = f32.data();
    c.data[kF64] = f64.data();
    c.data[kBool] = boolean.data();
    c.data[kTs] = ts.data();
    c.data[kStr] = str.data();
    for (int k = 0; k < kNumCols; ++k) c.type[k] = kTypes[k];
    return c;
  }
};

/// A program set under construction: programs appended to one shared code array.
struct ProgramSet {
  std::vector<detail::Instr> code;
  std::vector<detail::ProgramRef> programs;

  struct Builder {
    ProgramSet& set;
    detail::ValueKind kind;
    std::uint32_t begin;
    Builder& load(int column) {
      detail::Instr i;
      i.op = detail::OpCode::load;
      i.type = kTypes[column];
      i.column = static_cast<std::uint16_t>(column);
      set.code.push_back(i);
      return *this;
    }
    Builder& push_i(std::int64_t v) {
      detail::Instr i;
      i.literal = static_cast<std::uint64_t>(v);
      set.code.push_back(i);
      return *this;
    }
    Builder& push_f(double v) {
      detail::Instr i;
      i.literal = dbits(v);
      set.code.push_back(i);
      return *this;
    }
    Builder& op(detail::OpCode o) {
      detail::Instr i;
      i.op = o;
      set.code.push_back(i);
      return *this;
    }
    int done() {
      set.programs.push_back(
          detail::ProgramRef{begin, static_cast<std::uint16_t>(set.code.size() - begin), kind});
      return static_cast<int>(set.programs.size()) - 1;
    }
  };
  Builder start(detail::ValueKind kind) {
    return Builder{*this, kind, static_cast<std::uint32_t>(code.size())};
  }
  detail::ProgramSetView view() const {
    return detail::ProgramSetView{code.data(), programs.data()};
  }
};

}  // namespace sluice::test
