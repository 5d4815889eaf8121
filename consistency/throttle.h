// Pauses a run between chunks while it would hurt: a replica lagging more than
// consistency.max_lag_s, or the writer running more than consistency.max_threads_running threads.
// The decision is a pure function; Throttle::wait() reads the servers and sleeps, bounded by
// RunnerOptions::max_pause_s.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "consistency/replica_set.h"
#include "consistency/run_options.h"
#include "probes/blocking_session.h"
#include "spoa/config/config.h"

namespace myspoa::consistency {

struct Load {
  std::vector<std::pair<std::string, std::optional<int64_t>>> replica_lag_s;  // NULL: unknown
  std::string writer;
  std::optional<int64_t> writer_threads_running;
};

// Why chunks must wait now; "" when they may go on. An unknown lag (replication stopped) does
// not pause: waiting for the replica's position reports it.
std::string throttle_reason(const Load& load, const config::ConsistencyConfig& limits);

class Throttle {
 public:
  // on_pause: called after every reading with the current reason ("" when not paused).
  Throttle(const config::Config& cfg, const RunnerOptions& options, const std::atomic<bool>& cancel,
           std::function<void(const std::string&)> on_pause)
      : cfg_(cfg), opt_(options), cancel_(cancel), on_pause_(std::move(on_pause)) {}

  // Returns once the load is fine (or the run is cancelled: the caller sees the flag). False
  // with `error` after max_pause_s, or when a server reports a value that is not a number.
  bool wait(ReplicaSet& replicas, probes::BlockingSession& writer, const std::string& writer_name,
            std::string& error);

 private:
  bool read(ReplicaSet& replicas, probes::BlockingSession& writer, Load& load, std::string& error);

  const config::Config& cfg_;
  const RunnerOptions& opt_;
  const std::atomic<bool>& cancel_;
  std::function<void(const std::string&)> on_pause_;
};

}  // namespace myspoa::consistency
