// Alerts: an optional operator command (config `alerts.command`) run on events worth waking
// someone for (writer change, split brain, backup mode, inconsistency, flapping, fencing), with
// the event in MYSPOA_EVENT_* environment variables. Commands run one at a time on the alerter's
// executor thread (spoa/executor) (posix_spawn, waitpid with a deadline, SIGKILL to the command's
// process group on timeout), so a slow or hung script never delays a routing decision. post() never
// blocks: when the bounded queue is full the event is dropped and counted.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "spoa/executor/executor.h"

namespace myspoa::alerts {

struct AlertEvent {
  std::string kind;      // "writer-change", "split-brain", "backup-mode", "inconsistency", ...
  std::string server;    // "" when not about one server
  std::string message;   // one line, with the reason
  std::string writer;    // current writer, "" when writes are refused
  std::string scenario;  // current scenario
  int64_t unix_ms = 0;
  // What to run, taken from the configuration when the event was posted (reload-safe).
  std::string command;
  int timeout_ms = 5000;
};

struct AlertCounters {
  uint64_t posted = 0;     // accepted into the queue
  uint64_t dropped = 0;    // queue full (or alerter stopping)
  uint64_t succeeded = 0;  // exit status 0
  uint64_t failed = 0;     // spawn error or non-zero exit
  uint64_t timed_out = 0;  // killed after timeout_ms
};

class Alerter {
 public:
  // Starts the alerter's thread; at most `queue_size` events wait behind a running command.
  explicit Alerter(size_t queue_size);
  ~Alerter();
  Alerter(const Alerter&) = delete;
  Alerter& operator=(const Alerter&) = delete;

  // Kills a running command, drops what is queued (counted), joins the thread. Idempotent.
  void stop();

  // Queues the event; false (counted as dropped) when the queue is full. Thread-safe, never
  // blocks on a running command. Events with an empty command are ignored (true).
  bool post(AlertEvent e);

  AlertCounters counters() const;

  // The variables added to the agent's environment for one event: MYSPOA_EVENT_KIND,
  // MYSPOA_EVENT_SERVER, MYSPOA_EVENT_MESSAGE, MYSPOA_EVENT_TIME (UTC, ISO 8601 with ms),
  // MYSPOA_WRITER, MYSPOA_SCENARIO. Newlines in values become spaces.
  static std::vector<std::string> event_environment(const AlertEvent& e);

 private:
  void run_one(const AlertEvent& e);

  mutable std::mutex mu_;  // guards counters_
  AlertCounters counters_;
  executor::Executor executor_;  // last: its thread stops before the counters go
};

}  // namespace myspoa::alerts
