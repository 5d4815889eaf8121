// HAProxy "peers" varint (see SPOP-NOTES.md): values below 240 take one byte; above, the first byte
// carries 4 bits (0xf0 | low bits) and each following byte 7 bits, with the high bit meaning
// "more". The continuation bit is not masked on decode: encode subtracts it, decode adds it back.
#include "spoa/spop/spop.h"

namespace myspoa::spop {

size_t encode_varint(uint64_t v, std::string& out) {
  if (v < 240) {
    out.push_back(static_cast<char>(v));
    return 1;
  }
  size_t n = 1;
  out.push_back(static_cast<char>((v & 0xff) | 0xf0));
  v = (v - 240) >> 4;
  while (v >= 128) {
    out.push_back(static_cast<char>((v & 0xff) | 0x80));
    v = (v - 128) >> 7;
    ++n;
  }
  out.push_back(static_cast<char>(v));
  return n + 1;
}

bool decode_varint(Bytes in, size_t& pos, uint64_t& v) {
  size_t p = pos;
  if (p >= in.size()) return false;
  uint64_t value = in[p++];
  if (value >= 240) {
    unsigned shift = 4;
    uint8_t b = 0;
    do {
      if (p >= in.size()) return false;
      // 2^64-1 needs 10 bytes (last shift 60); anything longer or wider cannot fit 64 bits.
      if (shift > 60) return false;
      b = in[p++];
      const uint64_t add = uint64_t{b} << shift;
      if ((add >> shift) != b) return false;
      if (__builtin_add_overflow(value, add, &value)) return false;
      shift += 7;
    } while (b >= 128);
  }
  pos = p;
  v = value;
  return true;
}

}  // namespace myspoa::spop
