#include "spoa/admin/admin_server.h"
#include "spoa/admin/operator_routes.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>

#include <httplib.h>
#include <spdlog/spdlog.h>

#include "common/clock.h"
#include "spoa/version.h"

namespace myspoa::admin {

namespace {
using nlohmann::json;

constexpr const char* kJson = "application/json";
constexpr const char* kPromText = "text/plain; version=0.0.4; charset=utf-8";
constexpr const char* kText = "text/plain; charset=utf-8";
// Server names in paths: what a configured name may contain, bounded (anything else is a 404).
constexpr const char* kName = "([A-Za-z0-9_.-]{1,64})";

void reply_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  // replace: an error message may quote invalid UTF-8 from the request (bad JSON); dump() would
  // throw and turn a 400 into a 500.
  res.set_content(body.dump(2, ' ', false, json::error_handler_t::replace) + "\n", kJson);
}
void reply_error(httplib::Response& res, int status, const std::string& message) {
  reply_json(res, status, json{{"ok", false}, {"error", message}});
}
void reply_ok(httplib::Response& res, const std::string& message) {
  reply_json(res, 200, json{{"ok", true}, {"message", message}});
}
void reply_action(httplib::Response& res, const ActionReply& r) {
  res.status = http_status(r.outcome);
  res.set_header("Cache-Control", "no-store");
  res.set_content(r.body.empty() ? std::string("{}\n") : r.body, kJson);
}

constexpr const char* kNoChecksum = "checksum runner not configured";
}  // namespace

int http_status(ActionOutcome outcome) {
  switch (outcome) {
    case ActionOutcome::Ok:
      return 200;
    case ActionOutcome::Accepted:
      return 202;
    case ActionOutcome::Refused:
      return 409;
    case ActionOutcome::NotFound:
      return 404;
  }
  return 500;
}

AdminServer::AdminServer(AgentView& agent, config::AdminConfig config, AdminCallbacks callbacks)
    : agent_(agent), config_(std::move(config)), callbacks_(std::move(callbacks)) {}

AdminServer::~AdminServer() {
  stop();
}

bool AdminServer::start(std::string& error) {
  error = validate_admin_config(config_);
  if (!error.empty()) return false;

  http_ = std::make_unique<httplib::Server>();
  // Each connection holds a thread until it sends its request (read timeout) or its keep-alive
  // ends: a few idle or slow clients (a stuck scraper, a half-open health check) must not make
  // HAProxy's /check requests or the operator wait behind them.
  http_->new_task_queue = [] { return new httplib::ThreadPool(kHttpThreads); };
  http_->set_payload_max_length(kMaxBodyBytes);
  http_->set_read_timeout(5, 0);
  http_->set_write_timeout(5, 0);
  http_->set_keep_alive_timeout(2);
  routes();

  errno = 0;
  const auto& l = config_.listen;
  if (l.port == 0) {
    const int p = http_->bind_to_any_port(l.host);
    if (p > 0) port_ = static_cast<uint16_t>(p);
  } else if (http_->bind_to_port(l.host, l.port)) {
    port_ = l.port;
  }
  if (port_ == 0) {
    error = "cannot bind the admin endpoint to " + l.to_string() +
            (errno ? std::string(": ") + std::strerror(errno) : std::string());
    http_.reset();
    return false;
  }
  {
    std::lock_guard lock(rate_mu_);
    stopping_ = false;
  }
  thread_ = std::thread([this] {
    // False only when accept() failed on a socket stop() did not close: the endpoint is gone.
    if (!http_->listen_after_bind())
      spdlog::error("admin endpoint on {} stopped accepting connections: {}",
                    config_.listen.to_string(), std::strerror(errno));
  });
  sampler_ = std::thread([this] {
    std::unique_lock lock(rate_mu_);
    while (!stopping_) {
      lock.unlock();
      sample_rate();
      lock.lock();
      sampler_cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; });
    }
  });
  spdlog::info("admin endpoint on http://{}:{}{}", l.host, port_,
               config_.token.empty() ? "" : " (bearer token required for actions)");
  return true;
}

void AdminServer::stop() {
  {
    std::lock_guard lock(rate_mu_);
    stopping_ = true;
  }
  sampler_cv_.notify_all();
  if (sampler_.joinable()) sampler_.join();
  if (http_) http_->stop();
  if (thread_.joinable()) thread_.join();
  http_.reset();
}

void AdminServer::sample_rate() {
  const uint64_t total = agent_.decisions_total();
  const auto now = clock::steady_ms();
  std::lock_guard lock(rate_mu_);
  rate_value_ = rate_.update(now, total);
}

StatusInputs AdminServer::gather() {
  StatusInputs in = agent_.status_inputs();
  {
    std::lock_guard lock(rate_mu_);
    in.decisions_per_s = rate_value_;
  }
  in.now_unix_ms = clock::unix_ms();
  in.version = kVersion;
  if (callbacks_.consistency) in.consistency = callbacks_.consistency();
  return in;
}

bool AdminServer::authorized(const httplib::Request& req, httplib::Response& res) const {
  if (config_.token.empty()) return true;  // only possible on loopback (validated at start)
  const auto header = req.get_header_value("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (header.size() > kBearer.size() && header.compare(0, kBearer.size(), kBearer) == 0 &&
      same_secret(header.substr(kBearer.size()), config_.token))
    return true;
  spdlog::warn("admin: {} {} from {} refused: {}", req.method, req.path, req.remote_addr,
               header.empty() ? "no bearer token" : "wrong bearer token");
  res.set_header("WWW-Authenticate", "Bearer");
  reply_error(
      res, 401,
      header.empty() ? "this action requires the admin bearer token" : "wrong admin bearer token");
  return false;
}

void AdminServer::routes() {
  using httplib::Request;
  using httplib::Response;
  auto& s = *http_;
  register_operator_routes(s, [this] { return gather(); });  // GET /, /health/live, /health/ready

  s.Get("/status", [this](const Request&, Response& res) {
    reply_json(res, 200, render_status_json(gather()));
  });

  s.Get("/events", [this](const Request& req, Response& res) {
    uint64_t since = 0;
    if (req.has_param("since")) {
      const auto v = req.get_param_value("since");
      const auto r = std::from_chars(v.data(), v.data() + v.size(), since);
      if (v.empty() || r.ec != std::errc() || r.ptr != v.data() + v.size())
        return reply_error(res, 400, "since must be a non-negative integer");
    }
    reply_json(res, 200, render_events_json(agent_.events_since(since)));
  });

  s.Get("/metrics", [this](const Request&, Response& res) {
    res.set_content(render_metrics(gather()), kPromText);
  });

  s.Get(std::string("/check/") + kName + "/(status|replication)",
        [this](const Request& req, Response& res) {
          const auto in = gather();
          const std::string server = req.matches[1];
          const auto a = req.matches[2] == "status" ? check_server_status(in, server)
                                                    : check_server_replication(in, server);
          res.status = a.status;
          res.set_header("Cache-Control", "no-store");
          res.set_content(a.body, kText);
        });

  s.Post(std::string("/servers/") + kName + "/(drain|undrain)",
         [this](const Request& req, Response& res) {
           if (!authorized(req, res)) return;
           const std::string server = req.matches[1];
           const bool drain = req.matches[2] == "drain";
           if (!agent_.knows_server(server))
             return reply_error(res, 404, "unknown server '" + server + "'");
           const auto why = agent_.drain(server, drain);
           if (!why.empty()) return reply_error(res, 409, why);
           reply_ok(res, server + (drain ? " drained" : " undrained") +
                             "; takes effect at the next probe round");
         });

  s.Post("/writer", [this](const Request& req, Response& res) {
    if (!authorized(req, res)) return;
    json body;
    try {
      body = json::parse(req.body);
    } catch (const json::exception& e) {
      return reply_error(res, 400, std::string("bad JSON: ") + e.what());
    }
    if (!body.is_object() || !body.contains("server") || !body["server"].is_string())
      return reply_error(res, 400, R"(expected {"server": "<name>", "force": false})");
    if (body.contains("force") && !body["force"].is_boolean())
      return reply_error(res, 400, "force must be true or false");
    for (const auto& item : body.items())
      if (item.key() != "server" && item.key() != "force")
        return reply_error(res, 400, "unknown key '" + item.key() + "'");
    const auto server = body["server"].get<std::string>();
    const bool force = body.value("force", false);
    if (server.size() > 64 || !agent_.knows_server(server))
      return reply_error(res, 404, "unknown server");
    const auto why = agent_.promote(server, force);
    if (!why.empty()) return reply_error(res, 409, why);
    reply_ok(res,
             "writer moves to " + server + (force ? " (forced)" : "") + " at the next probe round");
  });

  s.Post("/reload", [this](const Request& req, Response& res) {
    if (!authorized(req, res)) return;
    if (!callbacks_.reload) return reply_error(res, 501, "reload not configured");
    const auto why = callbacks_.reload();
    if (!why.empty()) return reply_error(res, 500, "reload failed: " + why);
    reply_ok(res, "configuration reloaded");
  });

  s.Post("/checksum/run", [this](const Request& req, Response& res) {
    if (!authorized(req, res)) return;
    if (!callbacks_.checksum_run) return reply_error(res, 501, kNoChecksum);
    reply_action(res, callbacks_.checksum_run(req.body));
  });
  s.Post("/checksum/cancel", [this](const Request& req, Response& res) {
    if (!authorized(req, res)) return;
    if (!callbacks_.checksum_cancel) return reply_error(res, 501, kNoChecksum);
    reply_action(res, callbacks_.checksum_cancel());
  });
  s.Get("/checksum", [this](const Request&, Response& res) {
    if (!callbacks_.checksum_status) return reply_error(res, 501, kNoChecksum);
    reply_action(res, callbacks_.checksum_status());
  });
  s.Get("/checksum/report", [this](const Request&, Response& res) {
    if (!callbacks_.checksum_report) return reply_error(res, 501, kNoChecksum);
    reply_action(res, callbacks_.checksum_report());
  });

  // Unknown paths and oversized bodies: a JSON error unless a handler already answered.
  s.set_error_handler([](const Request&, Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 404) return reply_error(res, 404, "not found");
    if (res.status == 413)
      return reply_error(
          res, 413, "request body too large (max " + std::to_string(kMaxBodyBytes) + " bytes)");
    reply_error(res, res.status, "request failed");
  });
  s.set_exception_handler([](const Request& req, Response& res, std::exception_ptr ep) {
    std::string what = "internal error";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    spdlog::error("admin: {} {}: {}", req.method, req.path, what);
    reply_error(res, 500, "internal error");
  });
}

}  // namespace myspoa::admin
