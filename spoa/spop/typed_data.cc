// Typed data: one type byte (type in the low nibble, flags in the high nibble; for BOOL the flag
// 0x10 is the value) followed by the value. Integers are varints; negative ones are sent as their
// 64-bit two's complement. Bare strings (names) are a varint length and the bytes, no type byte.
#include <cstring>

#include "spoa/spop/spop.h"
#include "spoa/spop/wire.h"

namespace myspoa::spop {

namespace {
constexpr uint8_t kTypeMask = 0x0f;
constexpr uint8_t kBoolTrue = 0x10;
}  // namespace

void encode_string(std::string_view s, std::string& out) {
  encode_varint(s.size(), out);
  out.append(s);
}

bool decode_string(Bytes in, size_t& pos, std::string_view& s) {
  size_t p = pos;
  uint64_t len = 0;
  if (!decode_varint(in, p, len)) return false;
  if (len > in.size() - p) return false;
  s = std::string_view(reinterpret_cast<const char*>(in.data() + p), static_cast<size_t>(len));
  pos = p + static_cast<size_t>(len);
  return true;
}

void encode_typed(const TypedValue& v, std::string& out) {
  const auto type = static_cast<uint8_t>(v.type);
  switch (v.type) {
    case DataType::Null:
      wire::put_u8(type, out);
      return;
    case DataType::Bool:
      wire::put_u8(type | (v.b ? kBoolTrue : 0), out);
      return;
    case DataType::Int32:
      wire::put_u8(type, out);
      encode_varint(static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(v.i))), out);
      return;
    case DataType::Int64:
      wire::put_u8(type, out);
      encode_varint(static_cast<uint64_t>(v.i), out);
      return;
    case DataType::Uint32:
      wire::put_u8(type, out);
      encode_varint(static_cast<uint32_t>(v.u), out);
      return;
    case DataType::Uint64:
      wire::put_u8(type, out);
      encode_varint(v.u, out);
      return;
    case DataType::Ipv4:
      wire::put_u8(type, out);
      out.append(reinterpret_cast<const char*>(v.ip.data()), 4);
      return;
    case DataType::Ipv6:
      wire::put_u8(type, out);
      out.append(reinterpret_cast<const char*>(v.ip.data()), 16);
      return;
    case DataType::String:
    case DataType::Binary:
      wire::put_u8(type, out);
      encode_string(v.str, out);
      return;
  }
  // Not a DataType value: encode NULL rather than garbage.
  wire::put_u8(static_cast<uint8_t>(DataType::Null), out);
}

bool decode_typed(Bytes in, size_t& pos, TypedValue& v) {
  size_t p = pos;
  if (p >= in.size()) return false;
  const uint8_t tb = in[p++];
  TypedValue out;
  uint64_t raw = 0;
  switch (tb & kTypeMask) {
    case 0:
      out.type = DataType::Null;
      break;
    case 1:
      out.type = DataType::Bool;
      out.b = (tb & kBoolTrue) != 0;
      break;
    case 2:
      if (!decode_varint(in, p, raw)) return false;
      out.type = DataType::Int32;
      out.i = static_cast<int32_t>(static_cast<uint32_t>(raw));  // width of the declared type
      break;
    case 3:
      if (!decode_varint(in, p, raw)) return false;
      out.type = DataType::Uint32;
      out.u = static_cast<uint32_t>(raw);
      break;
    case 4:
      if (!decode_varint(in, p, raw)) return false;
      out.type = DataType::Int64;
      out.i = static_cast<int64_t>(raw);
      break;
    case 5:
      if (!decode_varint(in, p, raw)) return false;
      out.type = DataType::Uint64;
      out.u = raw;
      break;
    case 6:
      if (in.size() - p < 4) return false;
      out.type = DataType::Ipv4;
      std::memcpy(out.ip.data(), in.data() + p, 4);
      p += 4;
      break;
    case 7:
      if (in.size() - p < 16) return false;
      out.type = DataType::Ipv6;
      std::memcpy(out.ip.data(), in.data() + p, 16);
      p += 16;
      break;
    case 8:
    case 9:
      if (!decode_string(in, p, out.str)) return false;
      out.type = (tb & kTypeMask) == 8 ? DataType::String : DataType::Binary;
      break;
    default:
      return false;  // 10..15: unknown type
  }
  pos = p;
  v = out;
  return true;
}

}  // namespace myspoa::spop
