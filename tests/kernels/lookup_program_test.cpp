// Tests of broadcast lookups in programs: name.column compiled by the query compiler, looked
// up by run_program and by the host's vector interpreter in the tables BroadcastState builds,
// against a std::map of the rows pushed (later rows replacing earlier ones).
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "host/engine/broadcast_state.hpp"
#include "host/query_compiler.hpp"
#include "kernel_test_util.hpp"
#include "kernels/host/vector_program.hpp"
#include "sluice/sluice.hpp"

namespace sluice::test {
namespace {

using detail::VType;

/// A table row of every type, keyed by an i64 or a string.
const Schema kTable({{"id", TypeId::i64},
                     {"name", TypeId::string},
                     {"a", TypeId::i32},
                     {"c", TypeId::u32},
                     {"d", TypeId::u64},
                     {"e", TypeId::f32},
                     {"f", TypeId::f64},
                     {"g", TypeId::boolean},
                     {"t", DataType::timestamp(TimeUnit::us)}});
/// The events: the keys to look up by (id as i32 to check the widening, name as a string).
const Schema kEvents({{"id", TypeId::i32}, {"name", TypeId::string}});

struct Row {
  std::vector<Value> values;  // kTable order
};

Row random_row(std::int64_t id, const std::string& name, std::mt19937_64& rng) {
  Row r;
  r.values = {
      Value(id),
      Value(name),
      Value(static_cast<std::int64_t>(static_cast<std::int32_t>(rng()))),
      Value(static_cast<std::uint64_t>(static_cast<std::uint32_t>(rng()))),
      Value(static_cast<std::uint64_t>(rng())),
      Value(static_cast<double>(static_cast<float>(static_cast<int>(rng() % 2001) - 1000) / 8)),
      Value(static_cast<double>(static_cast<std::int64_t>(rng() % 100001)) / 7),
      Value(rng() % 2 == 0),
      Value(static_cast<std::int64_t>(rng() >> 4))};
  return r;
}

Batch batch_of(const std::vector<Row>& rows) {
  BatchBuilder b(kTable);
  for (const Row& r : rows) b.append_row(r.values);
  return b.finish();
}

/// The column `name` of broadcast L as a stateless output, looked up by `key` ("id" or "name").
struct Compiled {
  detail::CompiledQuery query;
  detail::ProgramRef value;
  detail::ProgramRef found;  // the condition the compiler adds for the output
};

Compiled compile(const std::string& column, const std::string& key, StringDictionary& dict) {
  Query q = Query().broadcast("L", kTable, key).map("v", col("L." + column)).project({"v"});
  Compiled c;
  c.query = detail::compile_query(kEvents, q, dict, 1, PartitionSpec{});
  const auto& plan = c.query.plan;
  EXPECT_EQ(plan.filter_count, 1);
  c.found = plan.programs.at(static_cast<std::size_t>(plan.filter_begin));
  c.value = plan.programs.at(static_cast<std::size_t>(plan.outputs_begin));
  return c;
}

/// The word the program yields for a value of the table (see load_word).
std::uint64_t expected_word(const Value& v, TypeId type, StringDictionary& dict) {
  switch (type) {
    case TypeId::i32:
      return detail::to_word(static_cast<std::int32_t>(std::get<std::int64_t>(v)));
    case TypeId::u32:
      return std::get<std::uint64_t>(v);
    case TypeId::u64:
      return std::get<std::uint64_t>(v);
    case TypeId::f32:
      return detail::to_word(static_cast<float>(std::get<double>(v)));
    case TypeId::f64:
      return detail::to_word(std::get<double>(v));
    case TypeId::boolean:
      return std::get<bool>(v) ? 1 : 0;
    case TypeId::string:
      return dict.intern(std::get<std::string>(v));
    default:
      return static_cast<std::uint64_t>(std::get<std::int64_t>(v));
  }
}

/// Words of `n` values of type `t` from the vector interpreter.
std::vector<std::uint64_t> words_of(const detail::ValueVector& v, VType t, std::size_t n) {
  std::vector<std::uint64_t> w(n);
  detail::vector_to_words(v, t, n, w.data());
  return w;
}

TEST(LookupPrograms, EveryColumnTypeMatchesTheRowsPushedByIntegerAndStringKeys) {
  SLUICE_SEEDED_RNG(rng);
  // Ids 3 apart span a short range (a direct index); 100 003 apart they do not (a hash index).
  for (const std::int64_t spread : {std::int64_t{3}, std::int64_t{100'003}})
    for (const std::string key : {"id", "name"}) {
      for (std::size_t table_rows :
           {std::size_t{0}, std::size_t{1}, std::size_t{37}, std::size_t{1500}}) {
        SCOPED_TRACE("key " + key + ", " + std::to_string(table_rows) + " rows, ids " +
                     std::to_string(spread) + " apart");
        auto dict = std::make_shared<StringDictionary>();
        detail::BroadcastState state({{"L", kTable, key}}, {}, dict);
        // Two updates; the second replaces some rows and adds others. Ids are spread out and
        // negative ones included, so the keys are not a dense range.
        std::map<std::int64_t, Row> by_id;
        for (int update = 0; update < 2; ++update) {
          std::vector<Row> rows;
          for (std::size_t r = 0; r < table_rows; ++r) {
            const std::int64_t id =
                static_cast<std::int64_t>(rng() % (2 * table_rows + 1)) * spread - 1000;
            rows.push_back(random_row(id, "n" + std::to_string(id), rng));
            by_id[id] = rows.back();
          }
          state.apply("L", batch_of(rows));
        }
        const auto& snap = state.snapshot();
        ASSERT_NE(snap, nullptr);
        if (key == "id" && by_id.size() > 1) {  // one row spans nothing: always direct
          EXPECT_EQ(snap->tables.table[0].direct != nullptr, spread == 3) << "the index expected";
        }
        EXPECT_EQ(state.rows(0), by_id.size());
        // Events: every id the table may hold, its neighbours, and ids beyond either end.
        std::vector<std::int32_t> ids;
        std::vector<std::uint32_t> names;
        for (std::int64_t j = -2; j < static_cast<std::int64_t>(2 * table_rows + 3); ++j)
          for (std::int64_t id : {j * spread - 1000, j * spread - 999, j * spread - 1001}) {
            ids.push_back(static_cast<std::int32_t>(id));
            names.push_back(dict->intern("n" + std::to_string(id)));
          }
        detail::VectorStack stack;
        for (std::size_t c = 2; c < kTable.size(); ++c) {
          const Field& field = kTable.field(c);
          SCOPED_TRACE(field.name);
          const Compiled p = compile(field.name, key, *dict);
          // The programs read the key column only: input 0.
          ASSERT_EQ(p.query.read_columns.size(), 1u);
          detail::InputColumns in;
          in.count = 1;
          in.data[0] = key == "id" ? static_cast<const void*>(ids.data()) : names.data();
          in.type[0] = key == "id" ? detail::ColumnType::i32 : detail::ColumnType::string;
          in.lookups = snap->tables;
          const detail::Instr* code = p.query.plan.code.data();
          for (std::size_t first = 0; first < ids.size(); first += detail::kVectorRows) {
            const std::size_t n = std::min(detail::kVectorRows, ids.size() - first);
            const auto values =
                words_of(detail::run_program_vector(code, p.value, in, first, nullptr, n, stack),
                         p.value.result, n);
            const auto found =
                words_of(detail::run_program_vector(code, p.found, in, first, nullptr, n, stack),
                         p.found.result, n);
            for (std::size_t i = 0; i < n; ++i) {
              const std::size_t row = first + i;
              const auto it = by_id.find(ids[row]);
              const std::uint64_t want_found = it != by_id.end() ? 1 : 0;
              ASSERT_EQ(detail::run_program(code, p.found, in, row), want_found)
                  << "id " << ids[row];
              ASSERT_EQ(found[i], want_found) << "id " << ids[row] << " (vector interpreter)";
              if (it == by_id.end()) continue;
              const std::uint64_t want = expected_word(it->second.values[c], field.type.id, *dict);
              ASSERT_EQ(detail::run_program(code, p.value, in, row), want) << "id " << ids[row];
              ASSERT_EQ(values[i], want) << "id " << ids[row] << " (vector interpreter)";
            }
          }
        }
      }
    }
}

TEST(LookupPrograms, NoSnapshotYetMeansEveryKeyIsMissing) {
  StringDictionary dict;
  const Compiled p = compile("f", "id", dict);
  const std::int32_t id = 7;
  detail::InputColumns in;  // no lookup tables: nothing pushed yet
  in.count = 1;
  in.data[0] = &id;
  in.type[0] = detail::ColumnType::i32;
  EXPECT_EQ(detail::run_program(p.query.plan.code.data(), p.found, in, 0), 0u);
}

/// The deepest stack `program` reaches.
int stack_need(const detail::Instr* code, detail::ProgramRef program) {
  int top = 0, need = 0;
  for (std::uint32_t i = program.begin; i < program.begin + program.size; ++i) {
    switch (code[i].op) {
      case detail::Op::load:
      case detail::Op::konst:
        ++top;
        break;
      case detail::Op::cast:
      case detail::Op::neg:
      case detail::Op::logical_not:
      case detail::Op::lookup:
        break;
      default:
        if (!detail::is_compare_konst(code[i].op)) --top;
        break;
    }
    need = std::max(need, top);
  }
  return need;
}

TEST(LookupPrograms, ManyConjunctsAndLookupConditionsStayWithinTheStack) {
  // 40 conjuncts, some reading the table (each adds a condition): folded into the programs'
  // limit without passing the interpreters' stack depth.
  StringDictionary dict;
  Expr filter = col("L.f") > lit(0.5);
  for (int i = 0; i < 40; ++i)
    filter = filter && (i % 3 == 0 ? col("L.a") != lit(i) : col("id") != lit(i));
  const Query q = Query()
                      .broadcast("L", kTable, "id")
                      .filter(filter)
                      .key_by({"L.name"})
                      .aggregate({count(), sum(col("L.e"))});
  const detail::CompiledQuery c = detail::compile_query(kEvents, q, dict, 1, PartitionSpec{});
  const auto& agg = c.plan.aggregation;
  ASSERT_GT(agg.conjuncts, 0);
  for (int p = 0; p < agg.conjuncts; ++p) {
    const detail::ProgramRef ref =
        c.plan.programs.at(static_cast<std::size_t>(agg.conjuncts_begin + p));
    EXPECT_LE(stack_need(c.plan.code.data(), ref), detail::kMaxStackDepth) << "conjunct " << p;
  }
}

}  // namespace
}  // namespace sluice::test
