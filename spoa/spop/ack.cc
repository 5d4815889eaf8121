// ACK frames: a list of actions. set-var = 1 with 3 args (u8 scope, name, typed value); unset-var
// = 2 with 2 args (u8 scope, name). The buffer is reused so steady state does not allocate.
#include "spoa/spop/spop.h"
#include "spoa/spop/wire.h"

namespace myspoa::spop {

namespace {
constexpr uint8_t kActionSetVar = 1;
constexpr uint8_t kActionUnsetVar = 2;
}  // namespace

void AckWriter::begin(uint64_t stream_id, uint64_t frame_id) {
  buf_.clear();
  actions_ = 0;
  wire::begin_frame(FrameType::Ack, stream_id, frame_id, buf_);
}

void AckWriter::set_var(Scope scope, std::string_view name, const TypedValue& value) {
  wire::put_u8(kActionSetVar, buf_);
  wire::put_u8(3, buf_);
  wire::put_u8(static_cast<uint8_t>(scope), buf_);
  encode_string(name, buf_);
  encode_typed(value, buf_);
  ++actions_;
}

void AckWriter::unset_var(Scope scope, std::string_view name) {
  wire::put_u8(kActionUnsetVar, buf_);
  wire::put_u8(2, buf_);
  wire::put_u8(static_cast<uint8_t>(scope), buf_);
  encode_string(name, buf_);
  ++actions_;
}

std::string_view AckWriter::finish() {
  if (buf_.size() < wire::kLengthPrefix) return {};  // finish() without begin()
  wire::end_frame(0, buf_);
  return buf_;
}

}  // namespace myspoa::spop
