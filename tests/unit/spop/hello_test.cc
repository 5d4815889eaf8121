#include <catch2/catch.hpp>

#include "spoa/spop/spop.h"
#include "test_util.h"

using namespace myspoa::spop;
using myspoa::spop::test::bytes;
using myspoa::spop::test::hex;
using myspoa::spop::test::str;
using myspoa::spop::test::to_hex;

namespace {
// KV pieces of a HAPROXY-HELLO payload, written by hand.
std::string kv_versions(std::string_view v) {
  return str("supported-versions") + "\x08" + str(v);
}
std::string kv_max(uint32_t v) {
  std::string out = str("max-frame-size") + "\x03";
  encode_varint(v, out);
  return out;
}
std::string kv_caps(std::string_view v) {
  return str("capabilities") + "\x08" + str(v);
}

// The result holds views into `payload`: keep it alive while the hello is used.
HaproxyHello hello_of(std::string&& payload, Status expect = Status::Normal) = delete;
HaproxyHello hello_of(const std::string& payload, Status expect = Status::Normal) {
  HaproxyHello h;
  REQUIRE(parse_haproxy_hello(bytes(payload), h) == expect);
  return h;
}
}  // namespace

TEST_CASE("HAPROXY-HELLO: every key decoded", "[spop][hello]") {
  const std::string p = kv_versions("2.0") + kv_max(16380) + kv_caps("pipelining,async") +
                        str("healthcheck") + "\x11" + str("engine-id") + "\x08" + str("E1") +
                        str("future-key") + "\x04\x07";  // unknown keys are skipped
  const HaproxyHello h = hello_of(p);
  CHECK(h.has_versions);
  CHECK(h.supported_versions == "2.0");
  CHECK(h.has_max_frame_size);
  CHECK(h.max_frame_size == 16380);
  CHECK(h.has_capabilities);
  CHECK(h.capabilities == "pipelining,async");
  CHECK(h.healthcheck);
  CHECK(h.engine_id == "E1");
}

TEST_CASE("HAPROXY-HELLO: malformed payloads are Invalid", "[spop][hello]") {
  const std::string good = kv_versions("2.0") + kv_max(16380) + kv_caps("pipelining");
  HaproxyHello h;
  SECTION("truncated anywhere") {
    for (size_t n = 1; n < good.size(); ++n) {
      // Cuts that fall exactly between two KV pairs are a valid shorter list.
      const std::string cut = good.substr(0, n);
      const bool boundary =
          n == kv_versions("2.0").size() || n == kv_versions("2.0").size() + kv_max(16380).size();
      INFO("cut at " << n);
      CHECK((parse_haproxy_hello(bytes(cut), h) == Status::Normal) == boundary);
    }
  }
  SECTION("trailing garbage") {
    CHECK(parse_haproxy_hello(bytes(good + "\x05"), h) == Status::Invalid);
  }
  SECTION("wrong value types") {
    CHECK(parse_haproxy_hello(bytes(str("supported-versions") + "\x04\x02"), h) == Status::Invalid);
    CHECK(parse_haproxy_hello(bytes(str("max-frame-size") + "\x08" + str("big")), h) ==
          Status::Invalid);
    CHECK(parse_haproxy_hello(bytes(str("capabilities") + "\x11"), h) == Status::Invalid);
    CHECK(parse_haproxy_hello(bytes(str("healthcheck") + "\x08" + str("yes")), h) ==
          Status::Invalid);
  }
  SECTION("unknown data type") {
    CHECK(parse_haproxy_hello(bytes(str("x") + "\x0b"), h) == Status::Invalid);
  }
}

TEST_CASE("negotiate: the HELLO checks in order", "[spop][hello]") {
  const std::string v = kv_versions("2.0"), m = kv_max(16380), c = kv_caps("pipelining,async");
  struct Case {
    const char* what;
    std::string payload;
    Status status;
  };
  const Case cases[] = {
      {"all good", v + m + c, Status::Normal},
      {"no version", m + c, Status::NoVersion},
      {"empty payload", "", Status::NoVersion},
      {"unsupported version", kv_versions("1.0") + m + c, Status::BadVersion},
      {"version prefix is not a match", kv_versions("2.01") + m + c, Status::BadVersion},
      {"version in a list", kv_versions("1.0, 2.0 ,3.0") + m + c, Status::Normal},
      {"no max-frame-size", v + c, Status::NoFrameSize},
      {"max-frame-size 255", v + kv_max(255) + c, Status::BadFrameSize},
      {"max-frame-size 0", v + kv_max(0) + c, Status::BadFrameSize},
      {"max-frame-size 256", v + kv_max(256) + c, Status::Normal},
      {"no capabilities", v + m, Status::NoCapabilities},
      {"empty capabilities (health check)", v + m + kv_caps(""), Status::Normal},
  };
  for (const auto& k : cases) {
    INFO(k.what);
    HaproxyHello h;
    REQUIRE(parse_haproxy_hello(bytes(k.payload), h) == Status::Normal);
    CHECK(negotiate(h, kDefaultMaxFrameSize).status == k.status);
  }
}

TEST_CASE("negotiate: frame size is min(ours, theirs), never below 256", "[spop][hello]") {
  const std::string p1 = kv_versions("2.0") + kv_max(16380) + kv_caps("pipelining,async");
  HaproxyHello h = hello_of(p1);
  CHECK(negotiate(h, 16384).max_frame_size == 16380);
  CHECK(negotiate(h, 1024).max_frame_size == 1024);
  CHECK(negotiate(h, 100).max_frame_size == kMinFrameSize);
  CHECK(negotiate(h, 16384).pipelining);
  CHECK_FALSE(negotiate(h, 16384).healthcheck);

  const std::string p2 =
      kv_versions("2.0") + kv_max(300) + kv_caps("async") + str("healthcheck") + "\x11";
  h = hello_of(p2);
  const Negotiated n = negotiate(h, 16384);
  CHECK(n.status == Status::Normal);
  CHECK(n.max_frame_size == 300);
  CHECK_FALSE(n.pipelining);
  CHECK(n.healthcheck);
}

TEST_CASE("negotiate: a negative or huge max-frame-size", "[spop][hello]") {
  // INT64 -1: refused as a bad size; UINT64 above 2^32: clamped, then min() with ours.
  const std::string negative = kv_versions("2.0") + str("max-frame-size") +
                               hex("04 ff f0 fe fe fe fe fe fe fe 0e") + kv_caps("pipelining");
  HaproxyHello h = hello_of(negative);
  CHECK(negotiate(h, 16384).status == Status::BadFrameSize);
  const std::string huge = kv_versions("2.0") + str("max-frame-size") +
                           hex("05 f0 fe fe fe fe 0e") + kv_caps("pipelining");
  h = hello_of(huge);
  CHECK(h.max_frame_size == UINT32_MAX);
  CHECK(negotiate(h, 16384).max_frame_size == 16384);
}

TEST_CASE("AGENT-HELLO: byte-exact frame", "[spop][hello]") {
  Negotiated n;
  n.max_frame_size = 16380;
  n.pipelining = true;
  std::string out = "prefix";  // appended after what is already there
  encode_agent_hello(n, out);
  const std::string expected = "prefix" +
                               hex("00 00 00 40"  // length 64
                                   "65"           // AGENT-HELLO
                                   "00 00 00 01"  // FIN
                                   "00 00") +     // stream-id 0, frame-id 0
                               hex("07") +
                               "version" + hex("08 03") + "2.0" + hex("0e") + "max-frame-size" +
                               hex("03 fc f0 06") + hex("0c") + "capabilities" + hex("08 0a") +
                               "pipelining";
  CHECK(to_hex(out) == to_hex(expected));
}
