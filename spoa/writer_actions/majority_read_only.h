// read_only management with cluster.cooperation: majority (issue 12). Two agents (one per load
// balancer) route writes only to the one master their own probes see writable, so the read_only
// flags on the masters carry the decision, and only the primary agent (majority of the
// GET_LOCK locks) changes them. When the primary's target writer moves X -> Y:
//   1. read_only=1 on every other master seen writable (X, when reachable);
//   2. the promotion wait: Y has applied its relay log (Decision::promoting no longer Y);
//   3. at least two probe intervals in which no master was seen writable, so that every agent's
//      probes have seen "none writable" and stopped routing writes to X;
//   4. read_only=0 on Y.
// A target already writable only needs step 1 for the others. No target (writes refused):
// every master seen writable gets read_only=1. Secondaries and agents without a majority plan
// nothing. Pure: table-tested in tests/unit/reliability/majority_read_only_test.cc.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "probes/snapshot.h"
#include "spoa/config/config.h"
#include "spoa/writer_actions/writer_actions.h"

namespace myspoa::writer_actions {

struct MajorityReadOnlyInput {
  bool known = false;                    // Decision::known
  bool primary = false;                  // this agent holds the majority of the locks
  std::optional<std::string> target;     // Decision::target_writer
  std::optional<std::string> promoting;  // Decision::promoting: relay log not applied yet
  int64_t none_writable_since_ms = 0;    // none_writable_since(); 0: a master is seen writable
  int64_t now_ms = 0;                    // steady clock
  int64_t interval_ms = 250;             // mysql.interval_ms
};

// How many probe intervals with no writable master come before read_only=0 on the new writer.
inline constexpr int kNoneWritableIntervals = 2;

std::vector<ReadOnlyAction> plan_read_only_majority(const MajorityReadOnlyInput& in,
                                                    const probes::Snapshot& snap,
                                                    const config::ClusterConfig& cluster);

// A master this agent's last probe saw answering with read_only=0, whatever its liveness (a
// master held Down by flap damping or not yet risen is seen writable too).
bool seen_writable(const probes::Snapshot& snap, const std::string& master);

// Since when (steady ms) no configured master has been seen writable, given the previous value
// (0 while one is): fed every probe round, on the probe thread.
int64_t none_writable_since(const probes::Snapshot& snap, const std::vector<std::string>& masters,
                            int64_t previous_since_ms, int64_t now_ms);

}  // namespace myspoa::writer_actions
