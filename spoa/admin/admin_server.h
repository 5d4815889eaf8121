// AdminServer: the operator's HTTP endpoint (default 127.0.0.1:9400) on its own threads. Read-only
// views (/status, /events, /metrics, /check/<server>/{status,replication}) and operator actions
// (drain, undrain, move the writer, reload, checksum runs). Reads snapshots and counters through
// the narrow AgentView below (the process wires it to the App: spoa/process/admin_bridge.h), so
// admin does not depend on spoa/app; never touches the SPOP hot path.
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
#include <vector>

#include "spoa/admin/access.h"
#include "spoa/admin/status_view.h"
#include "spoa/config/config.h"
#include "spoa/events/event_log.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace myspoa::admin {

// What the admin endpoint reads and acts on. Implemented over the App by the process
// (spoa/process/admin_bridge.h); every call may come from any HTTP thread.
class AgentView {
 public:
  virtual ~AgentView() = default;
  // The agent-owned part of /status and /metrics: configuration (kept alive by the inputs),
  // snapshot, decision, overrides and counters. AdminServer adds the rate, time and version.
  virtual StatusInputs status_inputs() const = 0;
  // Routing decisions answered so far (every intent and result), for the decisions/s meter.
  virtual uint64_t decisions_total() const = 0;
  virtual std::vector<events::Event> events_since(uint64_t seq) const = 0;
  virtual bool knows_server(const std::string& server) const = 0;
  // Operator actions: "" when done, else why they were refused (answered 409).
  virtual std::string drain(const std::string& server, bool drained) = 0;
  virtual std::string promote(const std::string& server, bool force) = 0;
};

// How a pluggable action (checksum runner) ended; AdminServer turns it into an HTTP status:
// Ok 200, Accepted 202, Refused 409, NotFound 404.
enum class ActionOutcome { Ok, Accepted, Refused, NotFound };
int http_status(ActionOutcome outcome);

struct ActionReply {
  ActionOutcome outcome = ActionOutcome::Ok;
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
  // `agent` must outlive the server.
  AdminServer(AgentView& agent, config::AdminConfig config, AdminCallbacks callbacks = {});
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

  AgentView& agent_;
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
