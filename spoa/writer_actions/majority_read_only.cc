#include "spoa/writer_actions/majority_read_only.h"

namespace myspoa::writer_actions {

bool seen_writable(const probes::Snapshot& snap, const std::string& master) {
  // The last probe's answer, not the hysteresis: a master held Down (flap damping, rise not
  // reached yet after a restart with read_only=0) that answers writable is fenced all the same.
  // Otherwise another agent that sees it Up would see two writable masters and refuse writes
  // for the whole hold, and HAProxy's fallback could write to it.
  const auto* st = snap.find(master);
  return st && st->last.ok && !st->last.read_only;
}

std::vector<ReadOnlyAction> plan_read_only_majority(const MajorityReadOnlyInput& in,
                                                    const probes::Snapshot& snap,
                                                    const config::ClusterConfig& cluster) {
  std::vector<ReadOnlyAction> out;
  if (!in.known || !in.primary) return out;
  bool others_writable = false;
  for (const auto& m : cluster.masters) {
    if (in.target == m || !seen_writable(snap, m)) continue;
    others_writable = true;
    out.push_back({m, true,
                   in.target ? "primary: writes move to " + *in.target
                             : std::string("primary: writes refused")});
  }
  if (!in.target) return out;
  const auto* st = snap.find(*in.target);
  // Unreachable, or already writable: nothing to do on the target.
  if (!st || !st->up() || !st->last.ok || !st->last.read_only) return out;
  if (others_writable) return out;             // step 1 first
  if (in.promoting == *in.target) return out;  // step 2: relay log not applied yet
  if (in.none_writable_since_ms <= 0) return out;
  const int64_t quiet = in.now_ms - in.none_writable_since_ms;
  if (quiet < kNoneWritableIntervals * in.interval_ms) return out;  // step 3
  out.push_back({*in.target, false,
                 "primary: " + *in.target + " takes writes (no master writable for " +
                     std::to_string(quiet) + " ms)"});
  return out;
}

int64_t none_writable_since(const probes::Snapshot& snap, const std::vector<std::string>& masters,
                            int64_t previous_since_ms, int64_t now_ms) {
  for (const auto& m : masters)
    if (seen_writable(snap, m)) return 0;
  return previous_since_ms != 0 ? previous_since_ms : now_ms;
}

}  // namespace myspoa::writer_actions
