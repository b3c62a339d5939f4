// Tests of Batch and BatchBuilder: building, conversions, typed views, slices and wrapping.
#include "sluice/batch.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "expect_error.hpp"

namespace sluice {
namespace {

using test::contains;
using test::error_message;

Schema all_types() {
  return parse_schema("a:i32,b:i64,c:u32,d:u64,e:f32,f:f64,g:bool,ts:timestamp[ms],host:string");
}

TEST(BatchBuilder, AppendRowsAndRead) {
  BatchBuilder builder(all_types());
  builder.append_row({std::int64_t{-1}, std::int64_t{-2}, std::uint64_t{3}, std::uint64_t{4}, 1.5,
                      2.25, true, std::int64_t{1000}, std::string("web-1")});
  builder.append_row({std::int64_t{7}, std::int64_t{INT64_MAX}, std::int64_t{4000000000},
                      std::uint64_t{UINT64_MAX}, std::int64_t{-3}, std::int64_t{5}, false,
                      std::int64_t{2000}, std::string("web-2")});
  builder.append_row({std::int64_t{0}, std::int64_t{0}, std::uint64_t{0}, std::uint64_t{0}, 0.0,
                      0.0, false, std::int64_t{3000}, std::string("web-1")});
  EXPECT_EQ(builder.rows(), 3u);
  const Batch batch = builder.finish();
  EXPECT_EQ(builder.rows(), 0u);
  ASSERT_EQ(batch.rows(), 3u);
  ASSERT_EQ(batch.num_columns(), 9u);
  EXPECT_TRUE(batch.schema() == all_types());

  EXPECT_EQ(batch.values<std::int32_t>(0)[0], -1);
  EXPECT_EQ(batch.values<std::int64_t>(1)[1], INT64_MAX);
  EXPECT_EQ(batch.values<std::uint32_t>(2)[1], 4000000000u);
  EXPECT_EQ(batch.values<std::uint64_t>(3)[1], UINT64_MAX);
  EXPECT_EQ(batch.values<float>(4)[0], 1.5f);
  EXPECT_EQ(batch.values<float>(4)[1], -3.0f);
  EXPECT_EQ(batch.values<double>(5)[0], 2.25);
  EXPECT_EQ(batch.values<std::uint8_t>(6)[0], 1u);
  EXPECT_EQ(batch.values<std::uint8_t>(6)[1], 0u);
  EXPECT_EQ(batch.values<std::int64_t>(7)[2], 3000);
  const auto codes = batch.values<std::uint32_t>(8);
  EXPECT_EQ(codes[0], codes[2]);
  EXPECT_NE(codes[0], codes[1]);
  EXPECT_EQ(batch.values<std::int32_t>(0).size(), 3u);

  EXPECT_EQ(batch.at(0, 0), Value(std::int64_t{-1}));
  EXPECT_EQ(batch.at(1, 1), Value(std::int64_t{INT64_MAX}));
  EXPECT_EQ(batch.at(1, 2), Value(std::uint64_t{4000000000}));
  EXPECT_EQ(batch.at(1, 3), Value(std::uint64_t{UINT64_MAX}));
  EXPECT_EQ(batch.at(0, 4), Value(1.5));
  EXPECT_EQ(batch.at(0, 5), Value(2.25));
  EXPECT_EQ(batch.at(0, 6), Value(true));
  EXPECT_EQ(batch.at(1, 6), Value(false));
  EXPECT_EQ(batch.at(2, 7), Value(std::int64_t{3000}));
  EXPECT_EQ(batch.at(1, 8), Value(std::string("web-2")));

  const ColumnView host = batch.column(8);
  EXPECT_EQ(host.type.id, TypeId::string);
  EXPECT_EQ(host.dictionary, batch.dictionary(8).get());
  ASSERT_NE(host.dictionary, nullptr);
  EXPECT_EQ(host.dictionary->size(), 2u);
  EXPECT_EQ(batch.column(0).dictionary, nullptr);
  EXPECT_EQ(batch.dictionary(0), nullptr);
  EXPECT_EQ(batch.column(7).type, DataType::timestamp(TimeUnit::ms));
}

TEST(BatchBuilder, TypedSetters) {
  BatchBuilder builder(parse_schema("n:i64,name:string,x:f64"));
  builder.set_string(1, "alpha");
  builder.set_double(2, 0.5);
  builder.set_int(0, 10);
  builder.end_row();
  builder.set_uint(0, 11);
  builder.set_string(1, "beta");
  builder.set_int(2, 3);
  builder.set_int(2, 4);  // setting a cell again overwrites it
  builder.end_row();
  const Batch batch = builder.finish();
  ASSERT_EQ(batch.rows(), 2u);
  EXPECT_EQ(batch.at(0, 1), Value(std::string("alpha")));
  EXPECT_EQ(batch.at(1, 0), Value(std::int64_t{11}));
  EXPECT_EQ(batch.at(1, 2), Value(4.0));
}

TEST(BatchBuilder, IntegralDoublesAndBoolInts) {
  BatchBuilder builder(parse_schema("a:i32,b:u64,c:bool,d:timestamp[s]"));
  builder.set_double(0, -12.0);
  builder.set_double(1, 1e19);
  builder.set_int(2, 1);
  builder.set_double(3, 5.0);
  builder.end_row();
  builder.set_int(0, INT32_MIN);
  builder.set_uint(1, 0);
  builder.set_uint(2, 0);
  builder.set_int(3, -5);
  builder.end_row();
  const Batch batch = builder.finish();
  EXPECT_EQ(batch.at(0, 0), Value(std::int64_t{-12}));
  EXPECT_EQ(batch.at(0, 1), Value(std::uint64_t{10000000000000000000u}));
  EXPECT_EQ(batch.at(0, 2), Value(true));
  EXPECT_EQ(batch.at(1, 2), Value(false));
  EXPECT_EQ(batch.at(1, 0), Value(std::int64_t{INT32_MIN}));
  EXPECT_EQ(batch.at(1, 3), Value(std::int64_t{-5}));
}

TEST(BatchBuilder, ConversionErrorsNameTheColumn) {
  BatchBuilder builder(parse_schema("i:i32,u:u32,w:u64,l:i64,f:f32,d:f64,b:bool,s:string"));
  struct Case {
    std::function<void()> set;
    const char* expected;
  };
  const Case cases[] = {
      {[&] { builder.set_string(4, "abc"); }, "column 'f' (f32): cannot store string 'abc'"},
      {[&] { builder.set_int(0, 3000000000); },
       "column 'i' (i32): cannot store integer 3000000000"},
      {[&] { builder.set_int(0, -3000000000); }, "column 'i' (i32)"},
      {[&] { builder.set_uint(0, 2147483648u); }, "column 'i' (i32)"},
      {[&] { builder.set_int(1, -1); }, "column 'u' (u32): cannot store integer -1"},
      {[&] { builder.set_int(1, 4294967296); }, "column 'u' (u32)"},
      {[&] { builder.set_uint(1, 4294967296u); }, "column 'u' (u32)"},
      {[&] { builder.set_int(2, -1); }, "column 'w' (u64): cannot store integer -1"},
      {[&] { builder.set_uint(3, UINT64_MAX); }, "column 'l' (i64)"},
      {[&] { builder.set_double(0, 1.5); }, "column 'i' (i32): cannot store double 1.5"},
      {[&] { builder.set_double(0, 3e9); }, "column 'i' (i32)"},
      {[&] { builder.set_double(1, -1.0); }, "column 'u' (u32)"},
      {[&] { builder.set_double(2, 1.8446744073709552e19); }, "column 'w' (u64)"},
      {[&] { builder.set_double(3, 9.3e18); }, "column 'l' (i64)"},
      {[&] { builder.set_double(3, std::nan("")); }, "column 'l' (i64)"},
      {[&] { builder.set_double(3, INFINITY); }, "column 'l' (i64)"},
      {[&] { builder.set_double(4, 1e300); }, "column 'f' (f32)"},
      {[&] { builder.set_double(6, 1.0); }, "column 'b' (bool)"},
      {[&] { builder.set_int(6, 2); }, "column 'b' (bool): cannot store integer 2"},
      {[&] { builder.set_uint(6, 2); }, "column 'b' (bool)"},
      {[&] { builder.set_bool(0, true); }, "column 'i' (i32): cannot store bool true"},
      {[&] { builder.set_int(7, 1); }, "column 's' (string)"},
      {[&] { builder.set_uint(7, 1); }, "column 's' (string)"},
      {[&] { builder.set_double(7, 1.0); }, "column 's' (string)"},
      {[&] { builder.set_bool(7, false); }, "column 's' (string)"},
      {[&] { builder.set_string(5, "1.0"); }, "column 'd' (f64)"},
  };
  for (const Case& c : cases) {
    const std::string message = error_message(c.set, ErrorCode::type_mismatch);
    EXPECT_TRUE(contains(message, c.expected)) << c.expected;
  }
  // Nothing was stored by the failed setters, so the row is still empty.
  EXPECT_TRUE(contains(error_message([&] { builder.end_row(); }, ErrorCode::invalid_argument),
                       "column 'i'"));
  error_message([&] { builder.set_int(8, 1); }, ErrorCode::invalid_argument);
}

TEST(BatchBuilder, EndRowNamesTheMissingColumn) {
  BatchBuilder builder(parse_schema("a:i32,b:i64,c:string"));
  builder.set_int(0, 1);
  builder.set_string(2, "x");
  const std::string message =
      error_message([&] { builder.end_row(); }, ErrorCode::invalid_argument);
  EXPECT_TRUE(contains(message, "column 'b'"));
  EXPECT_TRUE(contains(message, "row 0"));
  builder.set_int(1, 2);
  builder.end_row();
  EXPECT_EQ(builder.rows(), 1u);
}

TEST(BatchBuilder, DiscardRow) {
  BatchBuilder builder(parse_schema("a:i32,b:string"));
  builder.append_row({std::int64_t{1}, std::string("x")});
  builder.set_int(0, 99);
  builder.discard_row();
  builder.append_row({std::int64_t{2}, std::string("y")});
  const Batch batch = builder.finish();
  ASSERT_EQ(batch.rows(), 2u);
  EXPECT_EQ(batch.at(1, 0), Value(std::int64_t{2}));
  EXPECT_EQ(batch.at(1, 1), Value(std::string("y")));
}

TEST(BatchBuilder, AppendRowErrors) {
  BatchBuilder builder(parse_schema("a:i32,b:string,c:f64"));
  EXPECT_TRUE(contains(
      error_message([&] { builder.append_row({std::int64_t{1}}); }, ErrorCode::invalid_argument),
      "1 values for a schema of 3 columns"));
  EXPECT_TRUE(contains(error_message(
                           [&] {
                             builder.append_row({std::int64_t{1}, Value{}, 1.0});
                           },
                           ErrorCode::type_mismatch),
                       "column 'b' (string): null not supported"));
  EXPECT_TRUE(contains(error_message(
                           [&] {
                             builder.append_row({std::int64_t{1}, std::string("x"), "bad"});
                           },
                           ErrorCode::type_mismatch),
                       "column 'c' (f64): cannot store string 'bad'"));
  EXPECT_EQ(builder.rows(), 0u);  // failed rows leave nothing behind
  builder.append_row({std::int64_t{1}, std::string("x"), 2.0});
  builder.set_int(0, 5);
  EXPECT_TRUE(contains(error_message(
                           [&] {
                             builder.append_row({std::int64_t{1}, std::string("x"), 2.0});
                           },
                           ErrorCode::invalid_argument),
                       "in progress"));
  EXPECT_TRUE(contains(error_message([&] { builder.finish(); }, ErrorCode::invalid_argument),
                       "incomplete"));
  builder.discard_row();
  EXPECT_EQ(builder.finish().rows(), 1u);
}

TEST(BatchBuilder, FinishKeepsDictionariesAndOldBatches) {
  BatchBuilder builder(parse_schema("k:string,v:i64"));
  builder.append_row({std::string("a"), std::int64_t{1}});
  builder.append_row({std::string("b"), std::int64_t{2}});
  const Batch first = builder.finish();
  builder.append_row({std::string("b"), std::int64_t{3}});
  builder.append_row({std::string("c"), std::int64_t{4}});
  const Batch second = builder.finish();
  EXPECT_EQ(first.dictionary(0), second.dictionary(0));
  EXPECT_EQ(second.values<std::uint32_t>(0)[0], first.values<std::uint32_t>(0)[1]);
  EXPECT_EQ(first.at(0, 0), Value(std::string("a")));
  EXPECT_EQ(first.at(1, 1), Value(std::int64_t{2}));
  EXPECT_EQ(second.at(1, 0), Value(std::string("c")));
  EXPECT_EQ(builder.dictionary(0)->size(), 3u);
  EXPECT_EQ(builder.dictionary(1), nullptr);
  const Batch empty = builder.finish();
  EXPECT_EQ(empty.rows(), 0u);
  EXPECT_EQ(empty.num_columns(), 2u);
}

TEST(BatchBuilder, SharedDictionaries) {
  const Schema schema = parse_schema("x:i32,k:string");
  auto dict = std::make_shared<StringDictionary>();
  dict->intern("pre");
  BatchBuilder one(schema, {nullptr, dict});
  BatchBuilder two(schema, {nullptr, dict});
  one.append_row({std::int64_t{1}, std::string("z")});
  two.append_row({std::int64_t{2}, std::string("z")});
  EXPECT_EQ(one.finish().values<std::uint32_t>(1)[0], 1u);
  EXPECT_EQ(two.finish().values<std::uint32_t>(1)[0], 1u);
  EXPECT_EQ(one.dictionary(1), dict);
  // A null entry for a string column gets a fresh dictionary.
  BatchBuilder three(schema, {nullptr, nullptr});
  EXPECT_NE(three.dictionary(1), nullptr);
  EXPECT_NE(three.dictionary(1), dict);
  EXPECT_TRUE(
      contains(error_message([&] { BatchBuilder(schema, {dict}); }, ErrorCode::invalid_argument),
               "1 dictionaries"));
}

TEST(Batch, ValuesTypeChecks) {
  BatchBuilder builder(all_types());
  const Batch batch = builder.finish();
  struct Case {
    std::function<void()> view;
    const char* column;
  };
  const Case cases[] = {
      {[&] { batch.values<std::int64_t>(0); }, "column 'a' (i32)"},
      {[&] { batch.values<std::uint32_t>(0); }, "column 'a' (i32)"},
      {[&] { batch.values<std::int32_t>(1); }, "column 'b' (i64)"},
      {[&] { batch.values<double>(1); }, "column 'b' (i64)"},
      {[&] { batch.values<std::int32_t>(2); }, "column 'c' (u32)"},
      {[&] { batch.values<std::int64_t>(3); }, "column 'd' (u64)"},
      {[&] { batch.values<std::int32_t>(4); }, "column 'e' (f32)"},
      {[&] { batch.values<double>(4); }, "column 'e' (f32)"},
      {[&] { batch.values<std::int64_t>(5); }, "column 'f' (f64)"},
      {[&] { batch.values<std::int8_t>(6); }, "column 'g' (bool)"},
      {[&] { batch.values<std::uint64_t>(7); }, "column 'ts' (timestamp[ms])"},
      {[&] { batch.values<std::int32_t>(8); }, "column 'host' (string)"},
  };
  for (const Case& c : cases) {
    EXPECT_TRUE(contains(error_message(c.view, ErrorCode::type_mismatch), c.column)) << c.column;
  }
  error_message([&] { batch.values<std::int32_t>(9); }, ErrorCode::invalid_argument);
  error_message([&] { batch.column(9); }, ErrorCode::invalid_argument);
  error_message([&] { batch.at(0, 0); }, ErrorCode::invalid_argument);
}

TEST(Batch, CopiesAndSlicesShareStorage) {
  BatchBuilder builder(parse_schema("v:i64,k:string,f:bool"));
  for (std::int64_t i = 0; i < 10; ++i) {
    builder.append_row({i, "k" + std::to_string(i), i % 2 == 0});
  }
  Batch batch = builder.finish();
  const Batch copy = batch;
  EXPECT_EQ(copy.column(0).data, batch.column(0).data);

  const Batch part = batch.slice(3, 4);
  EXPECT_EQ(part.rows(), 4u);
  EXPECT_EQ(part.values<std::int64_t>(0).data(), batch.values<std::int64_t>(0).data() + 3);
  EXPECT_EQ(part.at(0, 0), Value(std::int64_t{3}));
  EXPECT_EQ(part.at(3, 1), Value(std::string("k6")));
  EXPECT_EQ(part.at(1, 2), Value(true));
  EXPECT_EQ(part.slice(1, 2).at(0, 0), Value(std::int64_t{4}));
  EXPECT_EQ(batch.slice(10, 0).rows(), 0u);

  batch = Batch();  // the slice keeps the storage alive
  EXPECT_EQ(part.at(2, 0), Value(std::int64_t{5}));

  EXPECT_TRUE(contains(error_message([&] { part.slice(2, 3); }, ErrorCode::invalid_argument),
                       "out of range"));
  error_message([&] { part.slice(5, 0); }, ErrorCode::invalid_argument);
  error_message([&] { part.at(4, 0); }, ErrorCode::invalid_argument);
}

TEST(Batch, WrapBorrows) {
  const Schema schema = parse_schema("ts:timestamp[us],cpu:f32,host:string,ok:bool");
  std::vector<std::int64_t> ts = {10, 20, 30};
  std::vector<float> cpu = {0.5f, 1.5f, 2.5f};
  auto dict = std::make_shared<StringDictionary>();
  std::vector<std::uint32_t> host = {dict->intern("a"), dict->intern("b"), dict->intern("a")};
  std::vector<std::uint8_t> ok = {1, 0, 1};
  const Batch batch = Batch::wrap(schema, {ts.data(), cpu.data(), host.data(), ok.data()}, 3,
                                  {nullptr, nullptr, dict, nullptr});
  EXPECT_EQ(batch.rows(), 3u);
  EXPECT_EQ(batch.values<std::int64_t>(0).data(), ts.data());
  EXPECT_EQ(batch.at(2, 0), Value(std::int64_t{30}));
  EXPECT_EQ(batch.at(1, 1), Value(1.5));
  EXPECT_EQ(batch.at(2, 2), Value(std::string("a")));
  EXPECT_EQ(batch.at(1, 3), Value(false));
  EXPECT_EQ(batch.column(2).dictionary, dict.get());
  ts[2] = 31;  // borrowed, not copied
  EXPECT_EQ(batch.at(2, 0), Value(std::int64_t{31}));
  EXPECT_EQ(batch.slice(1, 2).at(0, 1), Value(1.5));
}

TEST(Batch, WrapKeepsOwnerAlive) {
  auto values = std::make_shared<std::vector<std::int64_t>>(std::vector<std::int64_t>{4, 5, 6});
  std::weak_ptr<std::vector<std::int64_t>> watch = values;
  const void* data = values->data();
  Batch part;
  {
    const Batch batch = Batch::wrap(parse_schema("v:i64"), {data}, 3, {}, std::move(values));
    part = batch.slice(1, 2);
  }
  EXPECT_FALSE(watch.expired());
  EXPECT_EQ(part.at(1, 0), Value(std::int64_t{6}));
  part = Batch();
  EXPECT_TRUE(watch.expired());
}

TEST(Batch, WrapErrors) {
  const Schema schema = parse_schema("a:i32,s:string");
  std::int32_t a[2] = {1, 2};
  std::uint32_t s[2] = {0, 0};
  auto dict = std::make_shared<StringDictionary>();
  EXPECT_TRUE(contains(error_message(
                           [&] {
                             Batch::wrap(schema, {a}, 2, {nullptr, dict});
                           },
                           ErrorCode::invalid_argument),
                       "1 column arrays for a schema of 2 columns"));
  EXPECT_TRUE(contains(error_message(
                           [&] {
                             Batch::wrap(schema, {a, s}, 2);
                           },
                           ErrorCode::invalid_argument),
                       "column 's' (string) has no dictionary"));
  EXPECT_TRUE(contains(error_message(
                           [&] {
                             Batch::wrap(schema, {nullptr, s}, 2, {nullptr, dict});
                           },
                           ErrorCode::invalid_argument),
                       "column 'a'"));
  error_message([&] { Batch::wrap(schema, {a, s}, 2, {dict}); }, ErrorCode::invalid_argument);
  EXPECT_EQ(Batch::wrap(parse_schema("a:i32"), {nullptr}, 0).rows(), 0u);
}

TEST(Batch, WrapRefusesACodeOutsideItsDictionaryAndNamesTheRow) {
  const Schema schema = parse_schema("a:i32,s:string");
  auto dict = std::make_shared<StringDictionary>();
  for (const char* text : {"x", "y", "z"}) dict->intern(text);
  for (std::size_t rows : {std::size_t{1}, std::size_t{2}, std::size_t{17}, std::size_t{1000}}) {
    std::vector<std::int32_t> a(rows, 1);
    std::vector<std::uint32_t> s(rows);
    for (std::size_t r = 0; r < rows; ++r) s[r] = static_cast<std::uint32_t>(r % 3);
    EXPECT_EQ(Batch::wrap(schema, {a.data(), s.data()}, rows, {nullptr, dict}).rows(), rows);
    // The first code past the dictionary, then one far past it, somewhere in the column.
    for (std::uint32_t bad : {3u, 0xffffffffu}) {
      const std::size_t at = rows / 2;
      s[at] = bad;
      if (at + 1 < rows) s[rows - 1] = bad;  // a later bad row: the first is named
      const std::string msg = error_message(
          [&] {
            Batch::wrap(schema, {a.data(), s.data()}, rows, {nullptr, dict});
          },
          ErrorCode::invalid_argument);
      EXPECT_TRUE(contains(msg, "column 's' (string) row " + std::to_string(at) +
                                    " holds string code " + std::to_string(bad)));
      EXPECT_TRUE(contains(msg, "(3 strings)"));
      s[at] = 0;
      s[rows - 1] = 0;
    }
  }
}

TEST(Batch, DefaultIsEmpty) {
  const Batch batch;
  EXPECT_EQ(batch.rows(), 0u);
  EXPECT_EQ(batch.num_columns(), 0u);
  EXPECT_EQ(batch.schema().size(), 0u);
}

}  // namespace
}  // namespace sluice
