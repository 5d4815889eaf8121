// ACK frames: a list of actions. set-var = 1 with 3 args (u8 scope, name, typed value); unset-var
// = 2 with 2 args (u8 scope, name). Frames are appended to a buffer that is reused (the
// connection's output, or the writer's own), so steady state does not allocate.
#include "spoa/spop/spop.h"
#include "spoa/spop/wire.h"

namespace myspoa::spop {

namespace {
constexpr uint8_t kActionSetVar = 1;
constexpr uint8_t kActionUnsetVar = 2;
}  // namespace

void AckWriter::begin(uint64_t stream_id, uint64_t frame_id, std::string& out) {
  if (&out == &own_) own_.clear();
  out_ = &out;
  actions_ = 0;
  start_ = wire::begin_frame(FrameType::Ack, stream_id, frame_id, out);
}

void AckWriter::set_var(Scope scope, std::string_view name, const TypedValue& value) {
  std::string& out = *out_;
  wire::put_u8(kActionSetVar, out);
  wire::put_u8(3, out);
  wire::put_u8(static_cast<uint8_t>(scope), out);
  encode_string(name, out);
  encode_typed(value, out);
  ++actions_;
}

void AckWriter::unset_var(Scope scope, std::string_view name) {
  std::string& out = *out_;
  wire::put_u8(kActionUnsetVar, out);
  wire::put_u8(2, out);
  wire::put_u8(static_cast<uint8_t>(scope), out);
  encode_string(name, out);
  ++actions_;
}

std::string_view AckWriter::finish() {
  if (out_ == nullptr || out_->size() < start_ + wire::kLengthPrefix) return {};  // no begin()
  wire::end_frame(start_, *out_);
  return std::string_view(*out_).substr(start_);
}

void AckWriter::discard() {
  if (out_ != nullptr && out_->size() >= start_) out_->resize(start_);
  actions_ = 0;
}

}  // namespace myspoa::spop
