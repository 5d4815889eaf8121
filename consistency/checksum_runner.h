// One consistency run: pt-table-checksum's chunked checksums on the writer, replicated in
// STATEMENT format to the writer's direct replicas (compared there with the differences query),
// plus the same chunk checksums computed directly on replicas of an intermediate master at the
// writer's GTID position (that master re-logs the statements as rows, so its replicas would only
// receive its results). Blocking; the scheduler calls it on its own thread. See README.md.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "consistency/checksum_sql.h"
#include "consistency/report.h"
#include "spoa/config/config.h"

namespace myspoa::consistency {

// Who takes writes right now, as the agent's policy decided it.
struct WriterInfo {
  std::optional<std::string> writer;  // nullopt: writes refused
  std::string scenario;               // "healthy", "split-brain", ...
};
using WriterSource = std::function<WriterInfo()>;

// Why a run may not start (or go on) with this writer information; "" when it may.
std::string refuse_reason(const WriterInfo& info);

// GTID positions "0-1-10,1-1-100012": per domain, the highest seqno.
std::map<uint32_t, uint64_t> parse_gtid_pos(const std::string& text);
// True when `have` has reached `want` in every domain of `want`.
bool gtid_reached(const std::string& want, const std::string& have);

struct RunnerOptions {
  int64_t initial_chunk_rows = 1000;
  int64_t min_chunk_rows = 100;
  int64_t max_chunk_rows = 2'000'000;
  int64_t unindexed_max_rows = 10'000;  // tables without a usable key: checksummed whole below this
  int retries = 3;                      // lock waits, and chunks changed under a direct check
  int replica_wait_s = 60;              // bound on waiting for a replica to reach a position
  int max_pause_s = 600;                // bound on pausing for lag / load before giving up
};

class ChecksumRunner {
 public:
  ChecksumRunner(config::Config config, WriterSource writer_source, RunnerOptions options = {});
  ~ChecksumRunner();

  // Runs (or resumes a cancelled/failed run with the same writer) until done or `cancel` is set.
  Report run(const std::atomic<bool>& cancel);
  Progress progress() const;
  bool has_resume_point() const;
  void forget_resume_point();

 private:
  struct State;
  config::Config config_;
  WriterSource writer_source_;
  RunnerOptions options_;
  mutable std::mutex progress_mu_;
  Progress progress_;
  std::unique_ptr<State> resume_;  // what a cancelled run had done
};

}  // namespace myspoa::consistency
