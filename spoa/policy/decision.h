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

// Why one server is (or is not) taking reads or writes; one entry per configured server.
struct ServerVerdict {
  std::string name;       // "db03"
  bool master = false;    // listed in cluster.masters
  bool writer = false;    // takes writes in this decision
  bool readable = false;  // member of read_pool
  int weight = 0;         // read weight when readable, else 0
  std::string why;        // "in read pool", "excluded: replication lagging (lag 7.0 s)", ...
  bool up = false;        // liveness Up in the snapshot
  // Masters only: when this decision chain first saw it up after it was down; 0 when down or up
  // since before the first known decision. Carried from decision to decision.
  int64_t up_since_ms = 0;
};

struct Decision {
  bool known = false;                 // false until the first complete probe round: refuse writes
  std::optional<std::string> writer;  // server name; nullopt: writes refused
  std::string writer_backend;         // HAProxy backend of the writer, "" when refused
  std::string refusal;  // why writes are refused ("split brain: ..."), "" when a writer exists
  std::vector<ReadTarget> read_pool;
  int total_read_weight = 0;
  std::string scenario;  // "healthy", "db02-replication-broken", "split-brain", "db01-down", ...
  bool backup_mode = false;   // degraded: writer has no healthy peer master
  std::string writer_change;  // non-empty when the writer differs from the previous decision: why
  int64_t decided_at_ms = 0;
  // A master waiting to take writes until it has applied its relay log (writes refused meanwhile).
  std::optional<std::string> promoting;
  int64_t promoting_since_ms = 0;
  uint64_t generation = 0;  // increments when writer/read pool/scenario change
  // Per-server explanation (config order) and decision-wide notes: replica exclusions, ignored
  // operator pins, drains. The scenario names only the masters' situation.
  std::vector<ServerVerdict> servers;
  std::vector<std::string> notes;

  // Cooperating agents (cluster.cooperation, issue 12; see policy.h).
  std::string role = "standalone";  // "standalone" | "primary" | "secondary" | "none"
  // The master this agent's policy wants taking writes, set only where this agent acts on
  // read_only: standalone (the writer, or the master still promoting) and primary (the master it
  // makes writable; while `promoting` names it, its relay-log wait is still running). nullopt
  // for secondary and none, and when no master can take writes.
  std::optional<std::string> target_writer;
  std::vector<std::string> writable_masters;  // up masters whose last probe saw read_only=0
  // Primary only: the target writer is down by this agent's probes but servers replicating from
  // it still see it (Slave_IO_Running=Yes): no failover for cluster.master_failure_timeout_ms.
  std::optional<std::string> confirming;
  int64_t confirming_since_ms = 0;
};

using DecisionPtr = std::shared_ptr<const Decision>;

}  // namespace myspoa::policy
