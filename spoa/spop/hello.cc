// HELLO handshake: decoding HAPROXY-HELLO, checking it (one check per key, in the order HAProxy's
// spoa-example reports them) and writing the AGENT-HELLO.
#include <algorithm>
#include <limits>

#include "spoa/spop/spop.h"
#include "spoa/spop/wire.h"

namespace myspoa::spop {

namespace {
constexpr std::string_view kVersion = "2.0";
constexpr std::string_view kOurCapabilities = "pipelining";

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// True if the comma-separated list holds `token` (surrounding blanks ignored).
bool list_has(std::string_view list, std::string_view token) {
  while (true) {
    const size_t comma = list.find(',');
    if (trim(list.substr(0, comma)) == token) return true;
    if (comma == std::string_view::npos) return false;
    list.remove_prefix(comma + 1);
  }
}
}  // namespace

Status parse_haproxy_hello(Bytes payload, HaproxyHello& out) {
  HaproxyHello h;
  const Status s = wire::for_each_kv(payload, [&](std::string_view name, const TypedValue& v) {
    if (name == "supported-versions") {
      if (v.type != DataType::String) return Status::Invalid;
      h.supported_versions = v.str;
      h.has_versions = true;
    } else if (name == "max-frame-size") {
      int64_t si = 0;
      uint64_t ui = 0;
      bool negative = false;
      if (!wire::as_integer(v, si, ui, negative)) return Status::Invalid;
      // A negative size becomes 0 so that negotiate() reports BadFrameSize.
      h.max_frame_size =
          negative
              ? 0
              : static_cast<uint32_t>(std::min<uint64_t>(ui, std::numeric_limits<uint32_t>::max()));
      h.has_max_frame_size = true;
    } else if (name == "capabilities") {
      if (v.type != DataType::String) return Status::Invalid;
      h.capabilities = v.str;
      h.has_capabilities = true;
    } else if (name == "healthcheck") {
      if (v.type != DataType::Bool) return Status::Invalid;
      h.healthcheck = v.b;
    } else if (name == "engine-id") {
      if (v.type != DataType::String) return Status::Invalid;
      h.engine_id = v.str;
    }
    // Unknown keys are ignored: later HAProxy versions may add some.
    return Status::Normal;
  });
  if (s != Status::Normal) return s;
  out = h;
  return Status::Normal;
}

Negotiated negotiate(const HaproxyHello& hello, uint32_t our_max_frame_size) {
  Negotiated n;
  n.healthcheck = hello.healthcheck;
  if (!hello.has_versions) {
    n.status = Status::NoVersion;
  } else if (!list_has(hello.supported_versions, kVersion)) {
    n.status = Status::BadVersion;
  } else if (!hello.has_max_frame_size) {
    n.status = Status::NoFrameSize;
  } else if (hello.max_frame_size < kMinFrameSize) {
    n.status = Status::BadFrameSize;
  } else if (!hello.has_capabilities) {
    n.status = Status::NoCapabilities;
  } else {
    // Our own limit can never push the result below the protocol minimum.
    n.max_frame_size = std::min(std::max(our_max_frame_size, kMinFrameSize), hello.max_frame_size);
    n.pipelining = list_has(hello.capabilities, "pipelining");
  }
  return n;
}

void encode_agent_hello(const Negotiated& n, std::string& out) {
  const size_t start = wire::begin_frame(FrameType::AgentHello, 0, 0, out);
  encode_string("version", out);
  encode_typed(TypedValue::string(kVersion), out);
  encode_string("max-frame-size", out);
  encode_typed(TypedValue::uint32(n.max_frame_size), out);
  encode_string("capabilities", out);
  encode_typed(TypedValue::string(kOurCapabilities), out);
  wire::end_frame(start, out);
}

}  // namespace myspoa::spop
