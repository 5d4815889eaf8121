// One consistency run: pt-table-checksum's chunked checksums on the writer, replicated in
// STATEMENT format to the writer's direct replicas (compared there with the differences query),
// plus the same chunk checksums computed directly on replicas of an intermediate master at the
// writer's GTID position (that master re-logs the statements as rows, so its replicas would only
// receive its results). Blocking; the scheduler calls it on its own thread. See README.md.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "consistency/checksum_sql.h"
#include "consistency/report.h"
#include "consistency/run_options.h"
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

class ChecksumRunner {
 public:
  ChecksumRunner(config::Config config, WriterSource writer_source, RunnerOptions options = {});
  ~ChecksumRunner();

  // Runs (or resumes a cancelled/failed run with the same writer) until done or `cancel` is set.
  Report run(const std::atomic<bool>& cancel);
  Progress progress() const;
  bool has_resume_point() const;
  void forget_resume_point();

  struct State;  // what a run has done (defined in checksum_runner.cc)

 private:
  void run_body(const std::atomic<bool>& cancel, Report& rep);

  config::Config config_;
  WriterSource writer_source_;
  RunnerOptions options_;
  mutable std::mutex progress_mu_;
  Progress progress_;
  std::unique_ptr<State> resume_;  // what a cancelled run had done
};

}  // namespace myspoa::consistency
