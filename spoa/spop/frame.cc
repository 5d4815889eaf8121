// Framing: splitting a received byte stream into whole frames and decoding the frame header.
#include "spoa/spop/spop.h"
#include "spoa/spop/wire.h"

namespace myspoa::spop {

const char* to_string(Status s) {
  switch (s) {
    case Status::Normal:
      return "normal";
    case Status::Io:
      return "I/O error";
    case Status::Timeout:
      return "timeout";
    case Status::TooBig:
      return "frame is too big";
    case Status::Invalid:
      return "invalid frame received";
    case Status::NoVersion:
      return "version value not found";
    case Status::NoFrameSize:
      return "max-frame-size value not found";
    case Status::NoCapabilities:
      return "capabilities value not found";
    case Status::BadVersion:
      return "unsupported version";
    case Status::BadFrameSize:
      return "max-frame-size too big or too small";
    case Status::FragmentationNotSupported:
      return "fragmentation not supported";
    case Status::InterlacedFrames:
      return "invalid interlaced frames";
    case Status::FrameIdNotFound:
      return "frame-id not found";
    case Status::Resource:
      return "resource allocation error";
    case Status::Unknown:
      return "an unknown error occurred";
  }
  return "unknown status";
}

SplitResult split_frame(Bytes in, uint32_t max_frame_size, size_t& frame_len) {
  if (in.size() < wire::kLengthPrefix) return SplitResult::NeedMore;
  const uint32_t len = wire::get_u32be(in.data());
  // Checked before the body arrives: a peer announcing a huge frame is refused at once.
  if (len > max_frame_size) return SplitResult::TooBig;
  if (in.size() - wire::kLengthPrefix < len) return SplitResult::NeedMore;
  frame_len = wire::kLengthPrefix + len;
  return SplitResult::Ready;
}

namespace {
bool known_type(uint8_t t) {
  switch (static_cast<FrameType>(t)) {
    case FrameType::Unset:
    case FrameType::HaproxyHello:
    case FrameType::HaproxyDisconnect:
    case FrameType::Notify:
    case FrameType::AgentHello:
    case FrameType::AgentDisconnect:
    case FrameType::Ack:
      return true;
  }
  return false;
}

bool is_connection_level(FrameType t) {
  return t == FrameType::HaproxyHello || t == FrameType::HaproxyDisconnect ||
         t == FrameType::AgentHello || t == FrameType::AgentDisconnect;
}
}  // namespace

Status parse_frame(Bytes frame, FrameHeader& header, Bytes& payload) {
  constexpr size_t kFixed = 1 + 4;  // type + flags
  if (frame.size() < kFixed) return Status::Invalid;
  if (!known_type(frame[0])) return Status::Invalid;
  FrameHeader h;
  h.type = static_cast<FrameType>(frame[0]);
  h.flags = wire::get_u32be(frame.data() + 1);
  size_t pos = kFixed;
  if (!decode_varint(frame, pos, h.stream_id) || !decode_varint(frame, pos, h.frame_id)) {
    return Status::Invalid;
  }
  // A frame without FIN, a continuation (UNSET) or an aborted fragment all mean fragmentation,
  // which we never announce.
  if (!(h.flags & kFlagFin) || (h.flags & kFlagAbort) || h.type == FrameType::Unset) {
    return Status::FragmentationNotSupported;
  }
  if (is_connection_level(h.type) && (h.stream_id != 0 || h.frame_id != 0)) return Status::Invalid;
  header = h;
  payload = frame.subspan(pos);
  return Status::Normal;
}

}  // namespace myspoa::spop
