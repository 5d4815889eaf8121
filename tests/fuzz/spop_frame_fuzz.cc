// libFuzzer target for the SPOP codec: everything HAProxy (or anyone reaching the agent port) can
// send goes through these functions. Beyond "no crash, no UB", it checks properties the server
// relies on: decoded views stay inside the input, negotiation stays within bounds, every frame we
// write parses back, and varints/typed values re-encode to the very bytes they came from.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "spoa/spop/spop.h"

using namespace myspoa::spop;

namespace {

#define FUZZ_CHECK(cond)           \
  do {                             \
    if (!(cond)) __builtin_trap(); \
  } while (0)

bool inside(Bytes in, std::string_view s) {
  if (s.empty()) return true;
  const auto* b = reinterpret_cast<const char*>(in.data());
  return s.data() >= b && s.data() + s.size() <= b + in.size();
}

Bytes bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Parses a frame we wrote ourselves (length prefix included); it must be well-formed.
Bytes reparse_own(std::string_view frame, FrameType type, FrameHeader& h) {
  size_t len = 0;
  FUZZ_CHECK(split_frame(bytes(frame), UINT32_MAX, len) == SplitResult::Ready);
  FUZZ_CHECK(len == frame.size());
  Bytes payload;
  FUZZ_CHECK(parse_frame(bytes(frame).subspan(4), h, payload) == Status::Normal);
  FUZZ_CHECK(h.type == type);
  FUZZ_CHECK(h.flags == kFlagFin);
  return payload;
}

void check_hello(Bytes payload, std::string& out) {
  HaproxyHello hello;
  if (parse_haproxy_hello(payload, hello) != Status::Normal) return;
  FUZZ_CHECK(inside(payload, hello.supported_versions));
  FUZZ_CHECK(inside(payload, hello.capabilities));
  FUZZ_CHECK(inside(payload, hello.engine_id));
  for (uint32_t ours : {kMinFrameSize, kDefaultMaxFrameSize, UINT32_MAX}) {
    const Negotiated n = negotiate(hello, ours);
    if (n.status != Status::Normal) continue;
    FUZZ_CHECK(n.max_frame_size >= kMinFrameSize);
    FUZZ_CHECK(n.max_frame_size <= ours);
    FUZZ_CHECK(n.max_frame_size <= hello.max_frame_size);
    out.clear();
    encode_agent_hello(n, out);
    FrameHeader h;
    reparse_own(out, FrameType::AgentHello, h);
    FUZZ_CHECK(h.stream_id == 0 && h.frame_id == 0);
  }
}

void check_notify(Bytes payload, const FrameHeader& fh, Notify& notify, AckWriter& ack) {
  if (parse_notify(payload, notify) != Status::Normal) return;
  ack.begin(fh.stream_id, fh.frame_id);
  size_t total = 0;
  for (const Message& m : notify.messages) {
    FUZZ_CHECK(inside(payload, m.name));
    FUZZ_CHECK(m.first_arg + m.nb_args <= notify.args.size());
    FUZZ_CHECK(m.first_arg == total);
    total += m.nb_args;
    for (const Arg& a : notify.args_of(m)) {
      FUZZ_CHECK(inside(payload, a.name));
      FUZZ_CHECK(inside(payload, a.value.str));
      FUZZ_CHECK(notify.arg(m, a.name) != nullptr);
      ack.set_var(Scope::Sess, a.name, a.value);  // echo every arg back: exercises the encoder
    }
  }
  FUZZ_CHECK(total == notify.args.size());
  if (ack.actions() == 0) ack.set_var(Scope::Sess, "empty", TypedValue::boolean(true));
  FrameHeader h;
  reparse_own(ack.finish(), FrameType::Ack, h);
  FUZZ_CHECK(h.stream_id == fh.stream_id && h.frame_id == fh.frame_id);
}

void check_disconnect(Bytes payload, std::string& out) {
  Disconnect d;
  if (parse_disconnect(payload, d) != Status::Normal) return;
  FUZZ_CHECK(inside(payload, d.message));
  out.clear();
  encode_agent_disconnect(static_cast<Status>(d.status_code & 0xff), d.message, out);
  FrameHeader h;
  Disconnect back;
  FUZZ_CHECK(parse_disconnect(reparse_own(out, FrameType::AgentDisconnect, h), back) ==
             Status::Normal);
  FUZZ_CHECK(back.status_code == (d.status_code & 0xff));
  FUZZ_CHECK(back.message == d.message.substr(0, 255));
}

// The peers varint is a bijection: a decoded varint re-encodes to exactly the bytes consumed.
// Typed values too, for types that carry no flags and no width truncation.
void check_round_trips(Bytes in, std::string& out) {
  size_t pos = 0;
  uint64_t v = 0;
  if (decode_varint(in, pos, v)) {
    out.clear();
    FUZZ_CHECK(encode_varint(v, out) == pos);
    FUZZ_CHECK(out == std::string_view(reinterpret_cast<const char*>(in.data()), pos));
  } else {
    FUZZ_CHECK(pos == 0);
  }
  pos = 0;
  TypedValue t;
  if (decode_typed(in, pos, t)) {
    FUZZ_CHECK(inside(in, t.str));
    const bool canonical = (in[0] & 0xf0) == 0 && t.type != DataType::Int32 &&
                           t.type != DataType::Uint32 && t.type != DataType::Bool;
    if (canonical) {
      out.clear();
      encode_typed(t, out);
      FUZZ_CHECK(out == std::string_view(reinterpret_cast<const char*>(in.data()), pos));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Reused across inputs like a session reuses them across frames.
  static Notify notify;
  static AckWriter ack;
  static std::string out;

  const Bytes in(data, size);

  // 1. As a byte stream from HAProxy: split into frames and dispatch, as a session would.
  Bytes rest = in;
  for (int guard = 0; guard < 1024; ++guard) {
    size_t len = 0;
    const SplitResult r = split_frame(rest, kDefaultMaxFrameSize, len);
    if (r != SplitResult::Ready) break;
    FUZZ_CHECK(len >= 4 && len <= rest.size());
    FrameHeader h;
    Bytes payload;
    if (parse_frame(rest.subspan(4, len - 4), h, payload) == Status::Normal) {
      FUZZ_CHECK(payload.data() >= rest.data() &&
                 payload.data() + payload.size() <= rest.data() + len);
      switch (h.type) {
        case FrameType::HaproxyHello:
          check_hello(payload, out);
          break;
        case FrameType::Notify:
          check_notify(payload, h, notify, ack);
          break;
        case FrameType::HaproxyDisconnect:
          check_disconnect(payload, out);
          break;
        default:
          break;
      }
    }
    rest = rest.subspan(len);
  }

  // 2. As a bare frame and as bare payloads, so the parsers are explored without framing.
  FrameHeader h;
  Bytes payload;
  (void)parse_frame(in, h, payload);
  check_hello(in, out);
  check_notify(in, FrameHeader{}, notify, ack);
  check_disconnect(in, out);
  check_round_trips(in, out);
  return 0;
}
