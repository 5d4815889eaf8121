// DISCONNECT in both directions: a KV-list of status-code and message.
#include <algorithm>
#include <limits>

#include "spoa/spop/spop.h"
#include "spoa/spop/wire.h"

namespace myspoa::spop {

namespace {
// HAProxy 2.6 rejects a DISCONNECT whose message is longer than this.
constexpr size_t kMaxMessage = 255;
}  // namespace

void encode_agent_disconnect(Status status, std::string_view message, std::string& out) {
  const size_t start = wire::begin_frame(FrameType::AgentDisconnect, 0, 0, out);
  encode_string("status-code", out);
  encode_typed(TypedValue::uint32(static_cast<uint32_t>(status)), out);
  encode_string("message", out);
  encode_typed(TypedValue::string(message.substr(0, std::min(message.size(), kMaxMessage))), out);
  wire::end_frame(start, out);
}

Status parse_disconnect(Bytes payload, Disconnect& out) {
  Disconnect d;
  const Status s = wire::for_each_kv(payload, [&](std::string_view name, const TypedValue& v) {
    if (name == "status-code") {
      int64_t si = 0;
      uint64_t ui = 0;
      bool negative = false;
      if (!wire::as_integer(v, si, ui, negative) || negative ||
          ui > std::numeric_limits<uint32_t>::max()) {
        return Status::Invalid;
      }
      d.status_code = static_cast<uint32_t>(ui);
    } else if (name == "message") {
      if (v.type != DataType::String) return Status::Invalid;
      d.message = v.str;
    }
    return Status::Normal;
  });
  if (s != Status::Normal) return s;
  out = d;
  return Status::Normal;
}

}  // namespace myspoa::spop
