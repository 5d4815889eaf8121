#include "consistency/gtid_position.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace myspoa::consistency {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// One decimal field of an item, ending at `sep` (or at the end when sep is 0).
template <typename Int>
bool field(std::string_view& rest, char sep, Int& out) {
  const auto end = sep ? rest.find(sep) : rest.size();
  if (end == std::string_view::npos || end == 0) return false;
  auto [p, ec] = std::from_chars(rest.data(), rest.data() + end, out);
  if (ec != std::errc() || p != rest.data() + end) return false;
  rest.remove_prefix(sep ? end + 1 : end);
  return true;
}

}  // namespace

probes::Parsed<GtidPosition> GtidPosition::parse(std::string_view text) {
  probes::Parsed<GtidPosition> out;
  text = trim(text);
  out.value.text_ = std::string(text);
  while (!text.empty()) {
    auto comma = text.find(',');
    const auto item = trim(text.substr(0, comma));
    text.remove_prefix(comma == std::string_view::npos ? text.size() : comma + 1);
    std::string_view rest = item;
    uint32_t domain = 0, server = 0;
    uint64_t seq = 0;
    if (!field(rest, '-', domain) || !field(rest, '-', server) || !field(rest, 0, seq) ||
        !rest.empty()) {
      out.error = "not a GTID position: '" + std::string(item.substr(0, 64)) +
                  "' (want domain-server-seqno)";
      return out;
    }
    auto& slot = out.value.seq_[domain];
    slot = std::max(slot, seq);
  }
  return out;
}

bool GtidPosition::reached(const GtidPosition& want) const {
  for (const auto& [domain, seq] : want.seq_) {
    const auto it = seq_.find(domain);
    if (it == seq_.end() || it->second < seq) return false;
  }
  return true;
}

bool GtidPosition::at(const GtidPosition& target) const {
  for (const auto& [domain, seq] : target.seq_) {
    const auto it = seq_.find(domain);
    if (it == seq_.end() || it->second != seq) return false;
  }
  return true;
}

}  // namespace myspoa::consistency
