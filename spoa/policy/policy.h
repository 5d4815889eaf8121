// The routing policy: a pure function from (probe snapshot, configuration, previous decision,
// operator overrides, time) to a Decision. No I/O, no clock reads, no globals, no logging: the
// caller logs decision.writer_change / notes and publishes the result.
//
// Rules (two masters, masters[0] = A preferred/active, masters[1] = B passive; the seed's HAProxy
// setup reproduced exactly by default):
//   situation                       | writes         | reads
//   all healthy                     | A              | A, B and every healthy replica
//   B replication broken or lagging | A              | A + A's replicas
//   A replication broken or lagging | B              | B + B's replicas
//   both broken, both up            | refused        | A, B only ("split-brain")
//   B down                          | A (backup mode)| A + A's replicas
//   A down                          | B (backup mode)| B + B's replicas
//   both down                       | refused        | nothing
//   snapshot not complete           | refused        | nothing ("starting", known=false)
//
// Definitions:
// - A master is "current" when it is up and its own replication (from its peer) is Ok, or when it
//   is up and every other master is down (its replication is then necessarily broken: ignored).
//   Replication Unknown/NotReplica on a master of a multi-master cluster counts as broken.
//   Rejoin grace: the previous writer also stays current while every other up master came back
//   (down -> up) less than cluster.rejoin_grace_ms ago: its IO thread to the returning peer
//   reconnects on its own schedule, and that alone must not move writes to the returning master.
//   "Came back" is carried in the decisions (ServerVerdict::up_since_ms), so it needs history:
//   at start every up master counts as up for long.
// - Writer eligibility: a current master not drained by the operator.
// - Writer choice: an eligible operator pin wins; else with failback Manual the previous writer
//   stays while eligible; else the first eligible master in cluster.masters order. Split brain
//   refuses writes whatever the pin (stop or fix one master to resolve it).
// - Read pool: current masters (when cluster.masters_in_read_pool) and replicas that are up,
//   replication Ok, whose replica_of is current (recursively), not drained, not inconsistent
//   (when cluster.drain_inconsistent), with configured weight > 0. A drained master is out of
//   reads and writes but its replicas stay (its data is still current). In split brain only the
//   up, non-drained masters read.
// - Promotion wait: a master that takes writes over from another (failover, failback, operator
//   move) must first have applied its relay log (read position = executed position); until then
//   writes are refused ("promoting db02: ...") for at most cluster.promotion_wait_ms, after which
//   it takes writes anyway with a note. Reads are not held back. With no known previous writer
//   (first decision after start, writes refused before) the chosen writer waits too.
// - Flap hold: when no master is up and every master is held as flapping (or down), a held
//   master whose last mysql.rise probes answered counts as up (previous writer first), with a
//   note: damping never turns "a master answers well" into "no writer".
// - Cooperating agents (cluster.cooperation: majority; coordination facts come from
//   Snapshot::coordination). Decision::role is primary / secondary / none. Every role routes
//   writes to the single master that is up, answered read_only=0 and is eligible (current, not
//   drained, no split brain); none writable -> refused "no writable master: ..."; two ->
//   refused "two writable masters: db01, db02". Only the primary has a target_writer (the
//   writer chosen by the rules above, or the promoting master), which its writer actions make
//   writable. Replica confirmation: when the previous target is down by this agent's probes
//   but servers replicating from it still have Slave_IO_Running=Yes to it, the target stays on
//   it (Decision::confirming, a note) for at most cluster.master_failure_timeout_ms; then the
//   normal failover proceeds. Reads stay this agent's own decision. Standalone mode: role
//   "standalone", target_writer = writer (or the promoting master), nothing else changes.
// - Read weight = weight * (1 - 0.9 * min(lag / max_lag_s, 1)), rounded, at least 1: linear down
//   to 10 % at the lag limit. Exclusion itself follows ReplHealth (the probe's hysteresis).
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include "probes/snapshot.h"
#include "spoa/config/config.h"
#include "spoa/policy/decision.h"

namespace myspoa::policy {

// Operator state, owned by the admin endpoint / checksum runner and passed in on every decision.
struct Overrides {
  std::set<std::string> drained;          // out of the read pool, never chosen as writer
  std::optional<std::string> writer_pin;  // operator "promote": honoured while eligible
  std::set<std::string> inconsistent;     // found inconsistent by the checksum runner
};

Decision decide(const probes::Snapshot& snapshot, const config::ClusterConfig& cluster,
                const config::MysqlConfig& mysql, const Decision* previous,
                const Overrides& overrides, int64_t now_ms);

inline Decision decide(const probes::Snapshot& snapshot, const config::Config& config,
                       const Decision* previous, const Overrides& overrides, int64_t now_ms) {
  return decide(snapshot, config.cluster, config.mysql, previous, overrides, now_ms);
}

// Read weight after lag adjustment (exposed for tests and the admin endpoint).
int lag_adjusted_weight(int configured_weight, std::optional<double> lag_s, double max_lag_s);

}  // namespace myspoa::policy
