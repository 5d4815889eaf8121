// The probe engine's round logic without I/O or a loop: every server's hysteresis, the primary
// election's tally and the assembly of each round's Snapshot, all stamped by one injected clock.
// The engine (probe_engine.h) runs the connections and feeds results in; tests feed them by hand.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "common/clock.h"
#include "probes/election.h"
#include "probes/hysteresis.h"
#include "probes/snapshot.h"
#include "spoa/config/config.h"

namespace myspoa::probes {

class RoundBook {
 public:
  using Clock = clock::Source;  // steady milliseconds (common/clock.h)

  // `previous`: the snapshot of the engine this one replaces (configuration reload): servers it
  // names keep their state; servers it does not name do not hold back `complete`.
  RoundBook(const config::Config& cfg, const SnapshotPtr& previous, Clock clock);

  int64_t now() const { return clock_(); }
  size_t size() const { return servers_.size(); }
  const std::string& name(size_t i) const { return servers_[i].health.state().name; }

  // One probe of server i ended: stamped with the clock, through the hysteresis.
  ServerHealth::Update observe(size_t i, ProbeResult r);

  // Majority mode only (nullptr otherwise).
  Election* election() { return election_.get(); }

  // The snapshot of round `round`: every server's published state, `complete` once every
  // server (but those added by a reload) has a known liveness, and the election's tally.
  Snapshot build(uint64_t round);

 private:
  struct Entry {
    ServerHealth health;
    bool added_by_reload = false;  // not in the previous engine's snapshot
  };
  Clock clock_;
  std::vector<Entry> servers_;
  std::unique_ptr<Election> election_;
};

}  // namespace myspoa::probes
