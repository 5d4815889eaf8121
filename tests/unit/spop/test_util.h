// Helpers for the SPOP codec tests: hand-written byte strings and spans over them.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "spoa/spop/spop.h"

namespace myspoa::spop::test {

// "00 0a ff" -> bytes; blanks are ignored so frames can be laid out field by field.
inline std::string hex(std::string_view h) {
  std::string out;
  int hi = -1;
  for (char c : h) {
    int d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else if (c == ' ' || c == '\n')
      continue;
    else
      throw std::invalid_argument("bad hex");
    if (hi < 0) {
      hi = d;
    } else {
      out.push_back(static_cast<char>(hi * 16 + d));
      hi = -1;
    }
  }
  if (hi >= 0) throw std::invalid_argument("odd hex");
  return out;
}

inline std::string to_hex(std::string_view s) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    if (!out.empty()) out.push_back(' ');
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

inline Bytes bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// A bare SPOP string: one-byte length (callers keep it under 240) + bytes.
inline std::string str(std::string_view s) {
  std::string out(1, static_cast<char>(s.size()));
  out.append(s);
  return out;
}

}  // namespace myspoa::spop::test
