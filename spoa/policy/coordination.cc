#include "spoa/policy/coordination.h"

#include <algorithm>

namespace myspoa::policy::coordination {
namespace {

bool loopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

// The replication source an IO thread reports names the master's configured address.
bool same_address(const probes::ReplicationStatus& r, const config::Endpoint& a) {
  if (r.master_port != a.port) return false;
  return r.master_host == a.host || (loopback(r.master_host) && loopback(a.host));
}

}  // namespace

std::vector<std::string> writable_masters(const probes::Snapshot& snap,
                                          const config::ClusterConfig& cluster) {
  std::vector<std::string> out;
  for (const auto& m : cluster.masters) {
    const auto* st = snap.find(m);
    if (st && st->up() && st->last.ok && !st->last.read_only) out.push_back(m);
  }
  return out;
}

std::vector<Confirmer> replicating_from(const probes::Snapshot& snap,
                                        const config::ClusterConfig& cluster,
                                        const std::string& master, int64_t since_ms) {
  std::vector<Confirmer> out;
  const auto* mc = cluster.find(master);
  if (!mc) return out;
  for (const auto& sc : cluster.servers) {
    if (sc.name == master) continue;
    const auto* st = snap.find(sc.name);
    if (!st || !st->up() || !st->last.ok || !st->last.replication) continue;
    const auto& r = *st->last.replication;
    if (!r.io_running || !same_address(r, mc->address)) continue;
    out.push_back({sc.name, st->io_progress_at_ms > since_ms});
  }
  return out;
}

std::string describe(const std::vector<Confirmer>& confirmers) {
  std::string names;
  bool moving = false;
  for (const auto& c : confirmers) {
    names += (names.empty() ? "" : ", ") + c.name;
    moving = moving || c.progressed;
  }
  return names + (moving ? " (read position moving)" : " (IO thread connected)");
}

}  // namespace myspoa::policy::coordination
