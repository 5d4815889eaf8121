// Worker: one thread, one event loop, the connections handed to it by the listener. Other threads
// talk to a worker only through add_connection() / request_stop() (a queue + async wake-up).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "spoa/ev/loop.h"
#include "spoa/ev/watchers.h"
#include "spoa/server/counters.h"
#include "spoa/server/notify_handler.h"
#include "spoa/server/spop_server.h"
#include "spoa/spop/spop.h"

namespace myspoa::server {

class Connection;

class Worker {
 public:
  Worker(int index, const SpopServerOptions& options, NotifyHandler& handler);
  ~Worker();  // joins the thread if still running (after request_stop())
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void start();  // starts the thread
  // Thread-safe: queue an accepted non-blocking fd (ownership moves to the worker).
  void add_connection(int fd, std::string peer);
  // Thread-safe: say goodbye to every connection, then end the loop. join() waits for it.
  void request_stop();
  void join();

  // ---- used by Connection, on the worker thread ----
  int index() const { return index_; }
  ev::Loop& loop() { return loop_; }
  NotifyHandler& handler() { return handler_; }
  const SpopServerOptions& options() const { return options_; }
  WorkerCounters& counters() { return counters_; }
  const WorkerCounters& counters() const { return counters_; }
  spop::Notify& notify_scratch() { return notify_; }
  spop::AckWriter& ack_writer() { return ack_; }
  bool stopping() const { return stopping_; }
  // The connection has closed its fd: destroy it once its callback has returned.
  void release(Connection* conn);

 private:
  void run();
  void on_async();
  void reap();
  void maybe_finish_stop();

  const int index_;
  const SpopServerOptions& options_;
  NotifyHandler& handler_;
  WorkerCounters counters_;
  ev::Loop loop_;
  ev::Async wakeup_;
  ev::Timer reaper_;      // fires at once to destroy released connections outside their callbacks
  ev::Timer stop_timer_;  // bounds the goodbye phase of stop()
  spop::Notify notify_;   // scratch reused for every NOTIFY on this thread
  spop::AckWriter ack_;
  std::unordered_map<Connection*, std::unique_ptr<Connection>> connections_;
  std::vector<std::unique_ptr<Connection>> dead_;
  bool stopping_ = false;

  struct Pending {
    int fd;
    std::string peer;
  };
  std::mutex mu_;  // guards pending_ and stop_requested_
  std::vector<Pending> pending_;
  bool stop_requested_ = false;
  std::thread thread_;
};

}  // namespace myspoa::server
