#include <catch2/catch.hpp>

#include "spoa/spop/spop.h"
#include "test_util.h"

using namespace myspoa::spop;
using myspoa::spop::test::bytes;
using myspoa::spop::test::hex;
using myspoa::spop::test::str;
using myspoa::spop::test::to_hex;

namespace {
Disconnect parse_agent_disconnect(const std::string& frame) {
  FrameHeader h;
  Bytes payload;
  REQUIRE(parse_frame(bytes(frame).subspan(4), h, payload) == Status::Normal);
  REQUIRE(h.type == FrameType::AgentDisconnect);
  Disconnect d;
  REQUIRE(parse_disconnect(payload, d) == Status::Normal);
  return d;
}
}  // namespace

TEST_CASE("AGENT-DISCONNECT: byte-exact frame", "[spop][disconnect]") {
  std::string out;
  encode_agent_disconnect(Status::BadVersion, "unsupported version", out);
  const std::string expected = hex("00 00 00 32"  // length 50
                                   "66"           // AGENT-DISCONNECT
                                   "00 00 00 01"  // FIN
                                   "00 00") +     // stream-id 0, frame-id 0
                               hex("0b") +
                               "status-code" + hex("03 08") + hex("07") + "message" + hex("08 13") +
                               "unsupported version";
  CHECK(to_hex(out) == to_hex(expected));
}

TEST_CASE("AGENT-DISCONNECT: message truncated to 255 bytes", "[spop][disconnect]") {
  std::string out;
  encode_agent_disconnect(Status::TooBig, std::string(300, 'x'), out);
  Disconnect d = parse_agent_disconnect(out);
  CHECK(d.status_code == 3);
  CHECK(d.message == std::string(255, 'x'));

  out.clear();
  encode_agent_disconnect(Status::Normal, std::string(255, 'y'), out);
  CHECK(parse_agent_disconnect(out).message.size() == 255);
}

TEST_CASE("HAPROXY-DISCONNECT: parsed, malformed is Invalid", "[spop][disconnect]") {
  Disconnect d;
  const std::string good = str("status-code") + "\x03\x02" + str("message") + "\x08" + str("bye");
  REQUIRE(parse_disconnect(bytes(good), d) == Status::Normal);
  CHECK(d.status_code == 2);
  CHECK(d.message == "bye");

  CHECK(parse_disconnect(bytes(good.substr(0, good.size() - 1)), d) == Status::Invalid);
  CHECK(parse_disconnect(bytes(str("status-code") + "\x08" + str("1")), d) == Status::Invalid);
  CHECK(parse_disconnect(bytes(str("status-code") + hex("04 ff f0 fe fe fe fe fe fe fe 0e")), d) ==
        Status::Invalid);  // negative
  CHECK(parse_disconnect(bytes(str("message") + "\x04\x01"), d) == Status::Invalid);
}
