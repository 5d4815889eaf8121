// The routing decision: who takes writes, which servers take reads, and why. Produced by the pure
// policy function (policy.h) after every probe round; published as an immutable snapshot that SPOP
// workers read without locks.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace myspoa::policy {

struct ReadTarget {
  std::string name;     // "db03"
  std::string backend;  // "be_db03"
  int weight = 0;       // > 0; lag-aware
};

struct Decision {
  bool known = false;           // false until the first complete probe round: refuse writes
  std::optional<std::string> writer;  // server name; nullopt: writes refused
  std::string writer_backend;   // HAProxy backend of the writer, "" when refused
  std::string refusal;          // why writes are refused ("split brain: ..."), "" when a writer exists
  std::vector<ReadTarget> read_pool;
  int total_read_weight = 0;
  std::string scenario;         // "healthy", "db02-replication-broken", "split-brain", "db01-down", ...
  bool backup_mode = false;     // degraded: writer has no healthy peer master
  std::string writer_change;    // non-empty when the writer differs from the previous decision: why
  int64_t decided_at_ms = 0;
  uint64_t generation = 0;      // increments when writer/read pool/scenario change
};

using DecisionPtr = std::shared_ptr<const Decision>;

}  // namespace myspoa::policy
