// MariaDB GTID positions as servers print them (@@gtid_binlog_pos, @@gtid_current_pos,
// BINLOG_GTID_POS(): "0-1-10,1-1-100012"): per replication domain, the highest sequence number.
// Pure; server text that is not a position is an error value, never an exception.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "probes/replication_parser.h"

namespace myspoa::consistency {

class GtidPosition {
 public:
  // "" is the empty position (no GTID yet). Each item is domain-server-seqno, all decimal.
  static probes::Parsed<GtidPosition> parse(std::string_view text);

  // True when this position has reached `want` in every domain of `want`.
  bool reached(const GtidPosition& want) const;
  // True when this position is exactly `target` in every domain of `target` (not past it).
  bool at(const GtidPosition& target) const;

  // Highest seqno per domain.
  const std::map<uint32_t, uint64_t>& domains() const { return seq_; }
  // The text it was parsed from (for messages).
  const std::string& text() const { return text_; }

 private:
  std::map<uint32_t, uint64_t> seq_;
  std::string text_;
};

}  // namespace myspoa::consistency
