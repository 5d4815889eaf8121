#include "probes/round_book.h"

namespace myspoa::probes {

RoundBook::RoundBook(const config::Config& cfg, const SnapshotPtr& previous, Clock clock)
    : clock_(std::move(clock)) {
  const auto& m = cfg.mysql;
  for (const auto& s : cfg.cluster.servers) {
    Entry e{ServerHealth(s.name, Thresholds{m.rise, m.fall}, m.max_lag_s,
                         FlapDamping{m.flap_threshold, int64_t(m.flap_window_s) * 1000,
                                     int64_t(m.flap_hold_s) * 1000}),
            false};
    const ServerState* before = previous ? previous->find(s.name) : nullptr;
    if (before)
      e.health.seed(*before);
    else
      e.added_by_reload = previous != nullptr;
    servers_.push_back(std::move(e));
  }
  if (cfg.cluster.cooperation == config::ClusterConfig::Cooperation::Majority) {
    std::vector<std::string> peers;
    for (const auto& a : cfg.cluster.agents)
      if (a != cfg.agent.name) peers.push_back(a);
    election_ = std::make_unique<Election>(servers_.size(), cfg.cluster.lock_prefix, cfg.agent.name,
                                           std::move(peers));
  }
}

ServerHealth::Update RoundBook::observe(size_t i, ProbeResult r) {
  r.at_ms = clock_();
  return servers_[i].health.observe(r);
}

Snapshot RoundBook::build(uint64_t round) {
  Snapshot snap;
  snap.round = round;
  snap.taken_at_ms = clock_();
  snap.servers.reserve(servers_.size());
  snap.complete = true;
  for (const auto& e : servers_) {
    snap.servers.push_back(e.health.state());
    // A server added by a reload does not hold back the others: it is simply not up yet.
    if (e.health.state().liveness == Liveness::Unknown && !e.added_by_reload) snap.complete = false;
  }
  if (election_) snap.coordination = election_->tally(snap.taken_at_ms);
  return snap;
}

}  // namespace myspoa::probes
