// Heartbeat lag estimator for one replica (pure: timestamps in, seconds out).
// The writer stores its wall-clock time in one of kSlots rows per interval; replicas read them all.
// "now - newest row" alone is a sawtooth: MariaDB applies MASTER_DELAY per whole second, so rows
// arrive in one-second batches and the newest one is up to a second younger than the oldest. The
// estimate is therefore the apply delay of the OLDEST row that became visible since the last read
// (what the replica really waited), held until plain staleness (now - newest - interval) exceeds
// it, so a stopped replica still shows a growing lag.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace myspoa::probes {

class HeartbeatLag {
 public:
  static constexpr int kSlots = 16;

  explicit HeartbeatLag(int64_t interval_us) : interval_us_(interval_us) {}

  // `rows`: every ts_us read from the heartbeat table; `now_us` on the same wall clock.
  std::optional<double> observe(const std::vector<int64_t>& rows, int64_t now_us);

 private:
  int64_t interval_us_;
  int64_t seen_max_ = 0;  // newest ts seen so far (0: nothing yet)
  double apply_delay_s_ = 0;
};

}  // namespace myspoa::probes
