// Real frames captured from HAProxy 2.6.12 (tests/data/spop/capture-haproxy26.sh): what the codec
// must understand in production. Each file is one whole frame with its length prefix.
#include <catch2/catch.hpp>
#include <fstream>
#include <iterator>

#include "spoa/spop/spop.h"
#include "test_util.h"

using namespace myspoa::spop;
using myspoa::spop::test::bytes;
using myspoa::spop::test::to_hex;

namespace {
std::string read_file(const std::string& name) {
  const std::string path = std::string(MYSPOA_SPOP_DATA_DIR) + "/" + name;
  std::ifstream in(path, std::ios::binary);
  INFO(path);
  REQUIRE(in.good());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Splits and parses the single frame of `data`; returns its payload.
Bytes frame_payload(const std::string& data, FrameType type, FrameHeader& h) {
  size_t len = 0;
  REQUIRE(split_frame(bytes(data), kDefaultMaxFrameSize, len) == SplitResult::Ready);
  REQUIRE(len == data.size());
  Bytes payload;
  REQUIRE(parse_frame(bytes(data).subspan(4), h, payload) == Status::Normal);
  CHECK(h.type == type);
  CHECK((h.flags & kFlagFin) != 0);
  return payload;
}
}  // namespace

TEST_CASE("golden: HAProxy 2.6 HAPROXY-HELLO", "[spop][golden]") {
  const std::string data = read_file("haproxy26-hello.bin");
  FrameHeader h;
  const Bytes payload = frame_payload(data, FrameType::HaproxyHello, h);
  CHECK(h.stream_id == 0);
  CHECK(h.frame_id == 0);
  HaproxyHello hello;
  REQUIRE(parse_haproxy_hello(payload, hello) == Status::Normal);
  CHECK(hello.supported_versions == "2.0");
  CHECK(hello.max_frame_size == 16380);
  CHECK(hello.capabilities == "pipelining,async");
  CHECK_FALSE(hello.healthcheck);
  CHECK(hello.engine_id.size() == 36);  // a UUID

  const Negotiated n = negotiate(hello, kDefaultMaxFrameSize);
  CHECK(n.status == Status::Normal);
  CHECK(n.max_frame_size == 16380);
  CHECK(n.pipelining);
  CHECK_FALSE(n.healthcheck);
}

TEST_CASE("golden: HAProxy 2.6 health-check HELLO (option spop-check)", "[spop][golden]") {
  const std::string data = read_file("haproxy26-healthcheck-hello.bin");
  FrameHeader h;
  const Bytes payload = frame_payload(data, FrameType::HaproxyHello, h);
  HaproxyHello hello;
  REQUIRE(parse_haproxy_hello(payload, hello) == Status::Normal);
  CHECK(hello.healthcheck);
  CHECK(hello.has_capabilities);
  CHECK(hello.capabilities.empty());
  CHECK(hello.engine_id.empty());
  const Negotiated n = negotiate(hello, kDefaultMaxFrameSize);
  CHECK(n.status == Status::Normal);
  CHECK(n.healthcheck);
  CHECK_FALSE(n.pipelining);
}

TEST_CASE("golden: HAProxy 2.6 NOTIFY of the contract message", "[spop][golden]") {
  const std::string data = read_file("haproxy26-notify.bin");
  FrameHeader h;
  const Bytes payload = frame_payload(data, FrameType::Notify, h);
  CHECK(h.frame_id >= 1);
  Notify n;
  REQUIRE(parse_notify(payload, n) == Status::Normal);
  REQUIRE(n.messages.size() == 1);
  CHECK(n.messages[0].name == "myspoa-route");
  REQUIRE(n.messages[0].nb_args == 1);
  const TypedValue* intent = n.arg(n.messages[0], "intent");
  REQUIRE(intent != nullptr);
  CHECK(intent->type == DataType::String);
  CHECK(intent->str == "write");
}

TEST_CASE("golden: HAProxy 2.6 NOTIFY with every argument kind, re-encoded byte for byte",
          "[spop][golden]") {
  const std::string data = read_file("haproxy26-notify-types.bin");
  FrameHeader h;
  const Bytes payload = frame_payload(data, FrameType::Notify, h);
  Notify n;
  REQUIRE(parse_notify(payload, n) == Status::Normal);
  REQUIRE(n.messages.size() == 1);
  const Message& m = n.messages[0];
  CHECK(m.name == "all-types");

  const TypedValue* v = n.arg(m, "src");
  REQUIRE(v);
  CHECK(v->type == DataType::Ipv4);
  CHECK((v->ip[0] == 127 && v->ip[1] == 0 && v->ip[2] == 0 && v->ip[3] == 1));
  REQUIRE((v = n.arg(m, "port")));
  CHECK(v->type == DataType::Int64);  // HAProxy sends integer samples as INT64
  CHECK((v->i > 0 && v->i < 65536));
  REQUIRE((v = n.arg(m, "neg")));
  CHECK(v->i == -5);
  REQUIRE((v = n.arg(m, "yes")));
  CHECK((v->type == DataType::Bool && v->b));
  REQUIRE((v = n.arg(m, "no")));
  CHECK((v->type == DataType::Bool && !v->b));
  REQUIRE((v = n.arg(m, "s")));
  CHECK(v->str == "hello");
  REQUIRE((v = n.arg(m, "empty")));
  CHECK((v->type == DataType::String && v->str.empty()));
  REQUIRE((v = n.arg(m, "bin")));
  CHECK(v->type == DataType::Binary);
  CHECK(v->str == std::string_view("\x00\xff\x10", 3));
  REQUIRE((v = n.arg(m, "v4")));
  CHECK((v->type == DataType::Ipv4 && v->ip[0] == 10 && v->ip[3] == 3));
  REQUIRE((v = n.arg(m, "v6")));
  CHECK((v->type == DataType::Ipv6 && v->ip[0] == 0x20 && v->ip[1] == 0x01 && v->ip[15] == 1));
  REQUIRE((v = n.arg(m, "big")));
  CHECK(v->i == 9000000000);

  // Our encoder must produce exactly what HAProxy produced.
  std::string again;
  encode_string(m.name, again);
  again.push_back(static_cast<char>(m.nb_args));
  for (const Arg& a : n.args_of(m)) {
    encode_string(a.name, again);
    encode_typed(a.value, again);
  }
  CHECK(to_hex(again) == to_hex({reinterpret_cast<const char*>(payload.data()), payload.size()}));
}

TEST_CASE("golden: HAProxy 2.6 HAPROXY-DISCONNECT on soft stop", "[spop][golden]") {
  const std::string data = read_file("haproxy26-disconnect.bin");
  FrameHeader h;
  const Bytes payload = frame_payload(data, FrameType::HaproxyDisconnect, h);
  Disconnect d;
  REQUIRE(parse_disconnect(payload, d) == Status::Normal);
  CHECK(d.status_code == 0);
  CHECK(d.message == "normal");
}

TEST_CASE("golden: captured frames arriving in one read, cut at every byte", "[spop][golden]") {
  // The stream a session sees: HELLO, NOTIFY, DISCONNECT back to back, delivered in two pieces.
  const std::string stream = read_file("haproxy26-hello.bin") + read_file("haproxy26-notify.bin") +
                             read_file("haproxy26-disconnect.bin");
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    std::string buf = stream.substr(0, cut);
    std::vector<FrameType> seen;
    size_t fed = cut;
    for (int guard = 0; guard < 10; ++guard) {
      size_t len = 0;
      const SplitResult r = split_frame(bytes(buf), kDefaultMaxFrameSize, len);
      REQUIRE(r != SplitResult::TooBig);
      if (r == SplitResult::NeedMore) {
        if (fed == stream.size()) break;
        buf += stream.substr(fed);
        fed = stream.size();
        continue;
      }
      FrameHeader h;
      Bytes payload;
      REQUIRE(parse_frame(bytes(buf).subspan(4, len - 4), h, payload) == Status::Normal);
      seen.push_back(h.type);
      buf.erase(0, len);
    }
    INFO("cut " << cut);
    REQUIRE(seen.size() == 3);
    CHECK(seen[0] == FrameType::HaproxyHello);
    CHECK(seen[1] == FrameType::Notify);
    CHECK(seen[2] == FrameType::HaproxyDisconnect);
  }
}
