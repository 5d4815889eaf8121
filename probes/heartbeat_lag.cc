#include "probes/heartbeat_lag.h"

#include <algorithm>

namespace myspoa::probes {

std::optional<double> HeartbeatLag::observe(const std::vector<int64_t>& rows, int64_t now_us) {
  if (rows.empty()) return std::nullopt;
  int64_t newest = *std::max_element(rows.begin(), rows.end());
  int64_t sum = 0, n = 0;
  for (int64_t ts : rows)
    if (ts > seen_max_) {
      sum += std::max<int64_t>(0, now_us - ts);
      n++;
    }
  if (seen_max_ == 0) {
    // First read: the older slots may be minutes old; only the newest row says anything.
    apply_delay_s_ = std::max<int64_t>(0, now_us - newest) / 1e6;
  } else if (n > 0) {
    apply_delay_s_ = double(sum) / double(n) / 1e6;
  }
  seen_max_ = std::max(seen_max_, newest);
  double stale_s = std::max<int64_t>(0, now_us - newest - interval_us_) / 1e6;
  return std::max(apply_delay_s_, stale_s);
}

}  // namespace myspoa::probes
