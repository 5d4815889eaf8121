#include <catch2/catch.hpp>

#include "spoa/spop/spop.h"
#include "test_util.h"

using namespace myspoa::spop;
using myspoa::spop::test::bytes;
using myspoa::spop::test::hex;
using myspoa::spop::test::to_hex;

namespace {
TypedValue round_trip(const TypedValue& v, std::string& buf) {
  buf.clear();
  encode_typed(v, buf);
  size_t pos = 0;
  TypedValue back;
  REQUIRE(decode_typed(bytes(buf), pos, back));
  CHECK(pos == buf.size());
  CHECK(back.type == v.type);
  return back;
}

TypedValue ip(DataType t, std::initializer_list<uint8_t> b) {
  TypedValue v;
  v.type = t;
  std::copy(b.begin(), b.end(), v.ip.begin());
  return v;
}
}  // namespace

TEST_CASE("typed data: exact bytes of each type", "[spop][typed]") {
  struct Case {
    TypedValue value;
    const char* encoded;
  };
  const Case cases[] = {
      {TypedValue::null(), "00"},
      {TypedValue::boolean(true), "11"},
      {TypedValue::boolean(false), "01"},
      {TypedValue::int32(5), "02 05"},
      {TypedValue::int32(-1), "02 ff f0 fe fe fe fe fe fe fe 0e"},  // 64-bit two's complement
      {TypedValue::uint32(300), "03 fc 03"},
      {TypedValue::int64(-5), "04 fb f0 fe fe fe fe fe fe fe 0e"},
      {TypedValue::uint64(2288), "05 f0 80 00"},
      {ip(DataType::Ipv4, {127, 0, 0, 1}), "06 7f 00 00 01"},
      {ip(DataType::Ipv6, {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}),
       "07 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01"},
      {TypedValue::string("write"), "08 05 77 72 69 74 65"},
      {TypedValue::string(""), "08 00"},
      {TypedValue::binary(std::string_view("\0\xff", 2)), "09 02 00 ff"},
  };
  for (const auto& c : cases) {
    INFO(c.encoded);
    std::string out;
    encode_typed(c.value, out);
    CHECK(to_hex(out) == to_hex(hex(c.encoded)));
  }
}

TEST_CASE("typed data: round trip of every type", "[spop][typed]") {
  std::string buf;
  CHECK(round_trip(TypedValue::null(), buf).type == DataType::Null);
  CHECK(round_trip(TypedValue::boolean(true), buf).b == true);
  CHECK(round_trip(TypedValue::boolean(false), buf).b == false);
  for (int32_t v : {0, 1, -1, 239, 240, INT32_MIN, INT32_MAX}) {
    CHECK(round_trip(TypedValue::int32(v), buf).i == v);
  }
  for (uint32_t v : {0u, 240u, UINT32_MAX}) CHECK(round_trip(TypedValue::uint32(v), buf).u == v);
  for (int64_t v : {int64_t{0}, int64_t{-5}, int64_t{9000000000}, INT64_MIN, INT64_MAX}) {
    CHECK(round_trip(TypedValue::int64(v), buf).i == v);
  }
  for (uint64_t v : {uint64_t{0}, uint64_t{1} << 40, UINT64_MAX}) {
    CHECK(round_trip(TypedValue::uint64(v), buf).u == v);
  }
  const TypedValue v4 = ip(DataType::Ipv4, {10, 1, 2, 3});
  CHECK(round_trip(v4, buf).ip == v4.ip);
  const TypedValue v6 =
      ip(DataType::Ipv6, {0xfe, 0x80, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14});
  CHECK(round_trip(v6, buf).ip == v6.ip);
  CHECK(round_trip(TypedValue::string(""), buf).str.empty());
  CHECK(round_trip(TypedValue::string("be_db03"), buf).str == "be_db03");
  const std::string big(1000, 'x');  // multi-byte length
  CHECK(round_trip(TypedValue::string(big), buf).str == big);
  const std::string_view bin("\0\x01\xff", 3);
  CHECK(round_trip(TypedValue::binary(bin), buf).str == bin);
}

TEST_CASE("typed data: decoded strings are views into the input", "[spop][typed]") {
  const std::string in = hex("08 03 61 62 63");
  size_t pos = 0;
  TypedValue v;
  REQUIRE(decode_typed(bytes(in), pos, v));
  CHECK(v.str == "abc");
  CHECK(v.str.data() == in.data() + 2);
}

TEST_CASE("typed data: flags live in the high nibble", "[spop][typed]") {
  // Type is the low nibble only: a string with a flag bit set is still a string.
  const std::string in = hex("28 01 61");
  size_t pos = 0;
  TypedValue v;
  REQUIRE(decode_typed(bytes(in), pos, v));
  CHECK(v.type == DataType::String);
  CHECK(v.str == "a");
}

TEST_CASE("typed data: a negative INT32 sent on 32 bits is still negative", "[spop][typed]") {
  const std::string in = hex("02 fb f0 fe fe 7e");  // 0xfffffffb
  size_t pos = 0;
  TypedValue v;
  REQUIRE(decode_typed(bytes(in), pos, v));
  CHECK(v.i == -5);
}

TEST_CASE("typed data: malformed input is refused without moving pos", "[spop][typed]") {
  const char* bad[] = {
      "",                                                 // no type byte
      "0a",                                               // unknown type 10
      "0f 00",                                            // unknown type 15
      "04",                                               // int without its varint
      "05 f0",                                            // truncated varint
      "06 7f 00 00",                                      // ipv4 short by one byte
      "07 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",  // ipv6 short by one byte
      "08 05 61 62",                                      // string length past the end
      "09 f0",                                            // binary with truncated length
      "08 ff f0 fe fe 7e",                                // 4 GiB string in a tiny buffer
  };
  for (const char* h : bad) {
    INFO(h);
    const std::string in = hex(h);
    size_t pos = 0;
    TypedValue v = TypedValue::int64(7);
    CHECK_FALSE(decode_typed(bytes(in), pos, v));
    CHECK(pos == 0);
    CHECK(v.i == 7);
  }
}

TEST_CASE("bare strings: length + bytes, no type byte", "[spop][typed]") {
  std::string out;
  encode_string("intent", out);
  CHECK(to_hex(out) == to_hex(hex("06 69 6e 74 65 6e 74")));
  size_t pos = 0;
  std::string_view s;
  REQUIRE(decode_string(bytes(out), pos, s));
  CHECK(s == "intent");
  CHECK(pos == out.size());

  const std::string truncated = hex("06 69 6e");
  pos = 0;
  CHECK_FALSE(decode_string(bytes(truncated), pos, s));
  CHECK(pos == 0);
}
