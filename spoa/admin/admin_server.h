// AdminServer: the operator's HTTP endpoint (default 127.0.0.1:9400) on its own threads. Read-only
// views (/status, /events, /metrics, /check/<server>/{status,replication}) and operator actions
// (drain, undrain, move the writer, reload, checksum runs). Reads snapshots and counters from the
// App; never touches the SPOP hot path.
//
// Security: bound to anything but loopback, a bearer token (admin.token) is required or start()
// fails. When a token is configured every mutating call must carry `Authorization: Bearer <token>`;
// on loopback without a token mutating calls are allowed. Read-only views never need the token
// (Prometheus and HAProxy's httpchk scrape them).
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "spoa/admin/access.h"
#include "spoa/admin/status_view.h"
#include "spoa/config/config.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace myspoa::app {
class App;
}

namespace myspoa::admin {

// An answer produced by a pluggable action (checksum runner): HTTP status and a JSON body.
struct ActionReply {
  int status = 200;
  std::string body;  // JSON text
};

struct AdminCallbacks {
  // Reloads the configuration; "" on success, else why it was refused (running config kept).
  std::function<std::string()> reload;
  // Provided by the consistency engine; 501 "checksum runner not configured" while unset.
  std::function<ActionReply(const std::string& request_body)> checksum_run;
  std::function<ActionReply()> checksum_cancel;
  std::function<ActionReply()> checksum_status;
  std::function<ActionReply()> checksum_report;
  // Optional per-server consistency verdicts for /status ("consistent", ...).
  std::function<std::map<std::string, std::string>()> consistency;
};

// Largest request body accepted (bigger: 413).
inline constexpr size_t kMaxBodyBytes = 64 * 1024;
// HTTP worker threads: connections beyond this wait (idle ones for at most the 5 s read timeout).
inline constexpr int kHttpThreads = 8;

class AdminServer {
 public:
  AdminServer(app::App& app, config::AdminConfig config, AdminCallbacks callbacks = {});
  ~AdminServer();  // stop()
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Validates the config, binds and starts serving. False with the reason in `error`.
  bool start(std::string& error);
  void stop();  // idempotent
  uint16_t port() const { return port_; }

  // Gathers everything the views need (also used by tests).
  StatusInputs gather();

 private:
  void routes();
  bool authorized(const httplib::Request& req, httplib::Response& res) const;
  void sample_rate();

  app::App& app_;
  config::AdminConfig config_;
  AdminCallbacks callbacks_;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  uint16_t port_ = 0;

  // Decisions per second, sampled every second by its own small thread.
  std::mutex rate_mu_;
  RateMeter rate_;
  double rate_value_ = 0.0;
  std::thread sampler_;
  std::condition_variable sampler_cv_;
  bool stopping_ = false;
};

}  // namespace myspoa::admin
