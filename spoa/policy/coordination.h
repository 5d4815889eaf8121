// Private to spoa/policy: pure facts about the masters that cooperating agents route on
// (cluster.cooperation: majority, issue 12). No I/O; inputs are the probe snapshot and the config.
#pragma once

#include <string>
#include <vector>

#include "probes/snapshot.h"
#include "spoa/config/config.h"

namespace myspoa::policy::coordination {

// Up masters whose last probe answered read_only=0, in cluster.masters order.
std::vector<std::string> writable_masters(const probes::Snapshot& snap,
                                          const config::ClusterConfig& cluster);

// A server that still replicates from `master`: up by this agent's probes, its last probe ok,
// Slave_IO_Running=Yes and its replication source is `master`'s configured address (replicas,
// and the peer master of a multi-master pair).
struct Confirmer {
  std::string name;
  bool progressed = false;  // its read position moved since `since_ms`
};
std::vector<Confirmer> replicating_from(const probes::Snapshot& snap,
                                        const config::ClusterConfig& cluster,
                                        const std::string& master, int64_t since_ms);

// "db02, db03 (read position moving)" for notes and refusals.
std::string describe(const std::vector<Confirmer>& confirmers);

}  // namespace myspoa::policy::coordination
