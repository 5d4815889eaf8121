#include "consistency/throttle.h"

#include <chrono>
#include <cstdio>
#include <thread>

#include "consistency/server_values.h"

namespace myspoa::consistency {

std::string throttle_reason(const Load& load, const config::ConsistencyConfig& limits) {
  for (const auto& [name, lag] : load.replica_lag_s) {
    if (lag && static_cast<double>(*lag) > limits.max_lag_s) {
      char max[32];
      std::snprintf(max, sizeof max, "%g", limits.max_lag_s);
      return name + " lags " + std::to_string(*lag) + " s (max " + max + " s)";
    }
  }
  if (load.writer_threads_running && *load.writer_threads_running > limits.max_threads_running)
    return load.writer + " runs " + std::to_string(*load.writer_threads_running) +
           " threads (max " + std::to_string(limits.max_threads_running) + ")";
  return "";
}

bool Throttle::read(ReplicaSet& replicas, probes::BlockingSession& writer, Load& load,
                    std::string& error) {
  for (auto& r : replicas.all()) {
    if (!r.usable) continue;
    auto ss = r.session.query("SHOW SLAVE STATUS");
    if (!ss.ok) continue;  // a lost replica is reported when the run waits for it
    const auto status = probes::parse_replication_status(result_of(ss));
    if (!status.ok()) {
      error = r.cfg->name + ": SHOW SLAVE STATUS: " + status.error;
      return false;
    }
    if (status.value) load.replica_lag_s.emplace_back(r.cfg->name, status.value->seconds_behind);
  }
  auto tr = writer.query("SHOW GLOBAL STATUS LIKE 'Threads_running'");
  if (tr.ok) {
    if (const auto text = status_value(result_of(tr), "Threads_running")) {
      const auto n = parse_int(text, "Threads_running");
      if (!n.ok()) {
        error = load.writer + ": " + n.error;
        return false;
      }
      load.writer_threads_running = n.value;
    }
  }
  return true;
}

bool Throttle::wait(ReplicaSet& replicas, probes::BlockingSession& writer,
                    const std::string& writer_name, std::string& error) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::seconds(opt_.max_pause_s);
  for (;;) {
    Load load;
    load.writer = writer_name;
    if (!read(replicas, writer, load, error)) return false;
    const auto reason = throttle_reason(load, cfg_.consistency);
    if (on_pause_) on_pause_(reason);
    if (reason.empty() || cancel_) return true;
    if (Clock::now() > deadline) {
      error = "paused for more than " + std::to_string(opt_.max_pause_s) + " s: " + reason;
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

}  // namespace myspoa::consistency
