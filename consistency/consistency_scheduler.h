// Runs consistency checks on the agent's behalf: on an interval or once a day inside a time
// window, and on demand (admin: run_now / cancel / status). One run at a time, on its own
// executor thread (spoa/executor; a second executor ticks the schedule every second); a cancelled
// run resumes where it stopped. Verdicts go to a callback (the App drains an inconsistent replica
// from reads) and to the log, in the seed's words.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "consistency/checksum_runner.h"
#include "consistency/report.h"
#include "spoa/config/config.h"
#include "spoa/executor/executor.h"

namespace myspoa::consistency {

// "HH:MM-HH:MM" -> minutes of the day [start, end); false when malformed. A window may span
// midnight ("22:00-02:00"); start == end means the whole day.
bool parse_window(const std::string& window, int& start_min, int& end_min);
bool in_window(int start_min, int end_min, int minute_of_day);

class ConsistencyScheduler {
 public:
  using VerdictCallback = std::function<void(const std::string& server, bool inconsistent)>;

  ConsistencyScheduler(config::Config config, WriterSource writer_source,
                       VerdictCallback on_verdict, RunnerOptions options = {});
  ~ConsistencyScheduler();

  void start();
  void stop();  // cancels a run in progress and joins

  // Starts a run now (resuming a cancelled one): "" when started, else why not.
  std::string run_now();
  // Cancels the run in progress; false when none was running.
  bool cancel();

  bool running() const { return running_.load(); }
  Progress progress() const { return runner_.progress(); }
  std::optional<Report> last_report() const;
  uint64_t runs_finished() const { return runs_finished_.load(); }
  // Waits until no run is in progress (tests, shutdown); false on timeout.
  bool wait_idle(std::chrono::milliseconds timeout) const;

  // For GET /checksum: schedule, running, progress, last report.
  nlohmann::json to_json() const;

  // Answers to on-demand requests, as plain results (the admin endpoint maps them to HTTP):
  // run -> Started | Refused (already running, stopping); cancel -> Started (stops after the
  // current chunk) | Refused (nothing running); status -> Ok to_json(); report -> Ok | NotFound
  // (no run finished yet).
  struct RequestResult {
    enum class Kind { Ok, Started, Refused, NotFound };
    Kind kind = Kind::Ok;
    nlohmann::json body;
  };
  RequestResult request_run();
  RequestResult request_cancel();
  RequestResult request_status() const { return {RequestResult::Kind::Ok, to_json()}; }
  RequestResult request_report() const;
  // Per replica of the last report: "consistent", "inconsistent", "error", "unchecked".
  std::map<std::string, std::string> verdicts() const;

 private:
  void tick();                   // on ticks_, every second: starts scheduled runs, ends window runs
  void launch(bool window_run);  // with mu_ held
  void execute(bool window_run);
  void publish_verdicts(const Report& report);

  config::Config config_;
  VerdictCallback on_verdict_;
  ChecksumRunner runner_;

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool stopping_ = false;
  bool started_ = false;
  std::optional<Report> last_report_;
  int64_t next_due_ = 0;         // Unix ms (reported as next_run_unix_ms)
  std::string last_window_day_;  // "2024-05-01" of the last window run
  std::atomic<bool> running_{false};
  std::atomic<bool> cancel_{false};
  std::atomic<bool> window_run_{false};
  std::atomic<uint64_t> runs_finished_{0};
  // Last: their threads stop before the members their tasks use go.
  executor::Executor ticks_{"myspoa-cons-tick", 1};
  executor::Executor runs_{"myspoa-cons-run", 1};
};

}  // namespace myspoa::consistency
