#include <catch2/catch.hpp>

#include "spoa/spop/spop.h"
#include "test_util.h"

using namespace myspoa::spop;
using myspoa::spop::test::bytes;
using myspoa::spop::test::hex;
using myspoa::spop::test::to_hex;

TEST_CASE("varint: vectors from SPOP-NOTES", "[spop][varint]") {
  struct Vector {
    uint64_t value;
    const char* encoded;
  };
  const Vector vectors[] = {
      {0, "00"},      {1, "01"},          {239, "ef"},         {240, "f0 00"},
      {300, "fc 03"}, {2288, "f0 80 00"}, {16380, "fc f0 06"}, {4294967295ull, "ff f0 fe fe 7e"},
  };
  for (const auto& v : vectors) {
    INFO("value " << v.value);
    std::string out;
    const size_t n = encode_varint(v.value, out);
    CHECK(to_hex(out) == to_hex(hex(v.encoded)));
    CHECK(n == out.size());
    size_t pos = 0;
    uint64_t back = 0;
    REQUIRE(decode_varint(bytes(out), pos, back));
    CHECK(back == v.value);
    CHECK(pos == out.size());
  }
}

TEST_CASE("varint: 2^64-1 takes 10 bytes and round-trips", "[spop][varint]") {
  std::string out;
  CHECK(encode_varint(UINT64_MAX, out) == 10);
  CHECK(out.size() == 10);
  size_t pos = 0;
  uint64_t back = 0;
  REQUIRE(decode_varint(bytes(out), pos, back));
  CHECK(back == UINT64_MAX);
}

TEST_CASE("varint: round trip around every length boundary", "[spop][varint]") {
  // Boundaries of the 1..10 byte encodings, and a spread of other values.
  std::vector<uint64_t> values = {0,    239,  240,           241,           2287,
                                  2288, 2289, 0xffffffffull, UINT64_MAX - 1};
  for (int shift = 0; shift < 64; ++shift) {
    const uint64_t p = uint64_t{1} << shift;
    values.insert(values.end(), {p - 1, p, p + 1, p * 3});
  }
  for (uint64_t v : values) {
    std::string out = "xx";  // appends, does not overwrite
    const size_t n = encode_varint(v, out);
    REQUIRE(out.size() == 2 + n);
    size_t pos = 2;
    uint64_t back = 0;
    REQUIRE(decode_varint(bytes(out), pos, back));
    CHECK(back == v);
    CHECK(pos == out.size());
  }
}

TEST_CASE("varint: truncated or overlong input is refused without moving pos", "[spop][varint]") {
  const char* bad[] = {
      "",                                  // nothing
      "f0",                                // needs a second byte
      "ff f0 fe",                          // continuation bit set on the last byte
      "ff f0 fe fe fe fe fe fe fe fe 0e",  // 11 bytes: cannot fit 64 bits
      "ff f0 fe fe fe fe fe fe fe 7f",     // 10 bytes but the value exceeds 2^64-1
  };
  for (const char* h : bad) {
    INFO(h);
    const std::string in = hex(h);
    size_t pos = 0;
    uint64_t v = 42;
    CHECK_FALSE(decode_varint(bytes(in), pos, v));
    CHECK(pos == 0);
    CHECK(v == 42);
  }
}

TEST_CASE("varint: decoding starts at pos and leaves what follows", "[spop][varint]") {
  const std::string in = hex("aa fc 03 bb");
  size_t pos = 1;
  uint64_t v = 0;
  REQUIRE(decode_varint(bytes(in), pos, v));
  CHECK(v == 300);
  CHECK(pos == 3);
}
