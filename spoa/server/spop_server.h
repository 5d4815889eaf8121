// SpopServer: the SPOP listener and its worker threads. A listener thread accepts connections and
// hands each fd round-robin to one of N workers (a queue + async wake-up, as nghttpx does); each
// worker runs its own event loop and serves its connections (see connection.h) by calling the
// NotifyHandler. stop() may be called from any thread except a worker's.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "spoa/server/counters.h"
#include "spoa/server/notify_handler.h"
#include "spoa/spop/spop.h"

namespace myspoa::server {

class Worker;
class Listener;

struct SpopServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 12345;  // 0: an ephemeral port, see SpopServer::port()
  int threads = 2;        // worker threads (>= 1)
  uint32_t max_frame_size = spop::kDefaultMaxFrameSize;  // our side of the HELLO negotiation
  double idle_timeout = 300.0;  // seconds without input before AGENT-DISCONNECT timeout; 0: never
  double stop_timeout = 1.0;    // stop(): time given to connections to flush before a hard close
  int backlog = 1024;
};

class SpopServer {
 public:
  SpopServer(SpopServerOptions options, NotifyHandler& handler);
  ~SpopServer();  // stop()
  SpopServer(const SpopServer&) = delete;
  SpopServer& operator=(const SpopServer&) = delete;

  // Binds, listens and starts the threads. False with a reason (bind failure...) in `error`.
  bool start(std::string& error);
  // Stops accepting, tells every connection goodbye (AGENT-DISCONNECT normal), flushes, closes and
  // joins the threads. Idempotent; thread-safe; returns when everything is closed.
  void stop();

  bool running() const { return running_.load(std::memory_order_acquire); }
  uint16_t port() const { return port_; }  // the bound port (valid after start())
  const SpopServerOptions& options() const { return options_; }
  int worker_count() const { return static_cast<int>(workers_.size()); }

  CountersSnapshot counters() const;  // sum over the workers
  CountersSnapshot worker_counters(int index) const;

 private:
  SpopServerOptions options_;
  NotifyHandler& handler_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<Listener> listener_;
  std::mutex lifecycle_mu_;
  std::atomic<bool> running_{false};
  uint16_t port_ = 0;
};

}  // namespace myspoa::server
