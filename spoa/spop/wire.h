// Internal helpers of the SPOP codec: fixed-width integers, frame header writing and the KV-list
// loop shared by HELLO and DISCONNECT. Not part of the public API (spop.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "spoa/spop/spop.h"

namespace myspoa::spop::wire {

constexpr size_t kLengthPrefix = 4;

inline void put_u8(uint8_t v, std::string& out) {
  out.push_back(static_cast<char>(v));
}

inline void put_u32be(uint32_t v, std::string& out) {
  const char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                     static_cast<char>(v >> 8), static_cast<char>(v)};
  out.append(b, 4);
}

inline uint32_t get_u32be(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// Appends a length placeholder and the frame header (always FIN: we never fragment). Returns the
// offset of the frame in `out`, to hand to end_frame() once the payload is appended.
inline size_t begin_frame(FrameType type, uint64_t stream_id, uint64_t frame_id, std::string& out) {
  const size_t start = out.size();
  put_u32be(0, out);
  put_u8(static_cast<uint8_t>(type), out);
  put_u32be(kFlagFin, out);
  encode_varint(stream_id, out);
  encode_varint(frame_id, out);
  return start;
}

// Patches the length prefix of the frame that starts at `start` (the length excludes itself).
inline void end_frame(size_t start, std::string& out) {
  const auto len = static_cast<uint32_t>(out.size() - start - kLengthPrefix);
  out[start + 0] = static_cast<char>(len >> 24);
  out[start + 1] = static_cast<char>(len >> 16);
  out[start + 2] = static_cast<char>(len >> 8);
  out[start + 3] = static_cast<char>(len);
}

// Walks a KV-list (repeated bare name + typed value) to the very end of `in`.
// on_kv(name, value) returns Status::Normal to continue, anything else to stop with that status.
// Truncation, unknown types or trailing garbage give Status::Invalid.
template <typename OnKv>
Status for_each_kv(Bytes in, OnKv&& on_kv) {
  size_t pos = 0;
  while (pos < in.size()) {
    std::string_view name;
    TypedValue value;
    if (!decode_string(in, pos, name) || !decode_typed(in, pos, value)) return Status::Invalid;
    const Status s = on_kv(name, value);
    if (s != Status::Normal) return s;
  }
  return Status::Normal;
}

// Integer value of any integer typed data; false for other types.
inline bool as_integer(const TypedValue& v, int64_t& signed_out, uint64_t& unsigned_out,
                       bool& negative) {
  switch (v.type) {
    case DataType::Int32:
    case DataType::Int64:
      negative = v.i < 0;
      signed_out = v.i;
      unsigned_out = negative ? 0 : static_cast<uint64_t>(v.i);
      return true;
    case DataType::Uint32:
    case DataType::Uint64:
      negative = false;
      unsigned_out = v.u;
      signed_out = static_cast<int64_t>(v.u);
      return true;
    default:
      return false;
  }
}

}  // namespace myspoa::spop::wire
