// myspoactl: the operator's command line for a running myspoa, over its admin HTTP endpoint.
// Exit codes fit scripts: 0 ok, 1 action refused or failed, 2 usage, 3 agent unreachable.
#include <httplib.h>
#include <CLI/CLI.hpp>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "spoa/ctl/checksum_views.h"
#include "spoa/ctl/status_table.h"

namespace {

using nlohmann::json;

constexpr int kOk = 0;
constexpr int kFailed = 1;
constexpr int kUsage = 2;
constexpr int kUnreachable = 3;

// `events --follow` stops at the next poll after SIGINT/SIGTERM (exit 0, like tail -f).
volatile std::sig_atomic_t g_stop = 0;
void on_stop(int) {
  g_stop = 1;
}

int64_t now_unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Options {
  std::string admin = "http://127.0.0.1:9400";
  std::string token;
  double timeout_s = 5.0;
};

// One request; prints why and returns the exit code when it did not get a 2xx answer.
class Admin {
 public:
  explicit Admin(const Options& o) : opts_(o), client_(o.admin) {
    const auto sec = static_cast<time_t>(o.timeout_s);
    const auto usec = static_cast<time_t>((o.timeout_s - static_cast<double>(sec)) * 1e6);
    client_.set_connection_timeout(sec, usec);
    client_.set_read_timeout(sec, usec);
    client_.set_write_timeout(sec, usec);
    if (!o.token.empty()) client_.set_bearer_token_auth(o.token.c_str());
  }

  // The raw answer, whatever its status (health checks read the 503 body).
  httplib::Result raw_get(const std::string& path) { return client_.Get(path.c_str()); }

  // Returns the response body on 2xx; otherwise std::nullopt with `rc` set.
  std::optional<std::string> get(const std::string& path, int& rc) {
    return check(client_.Get(path.c_str()), "GET " + path, rc);
  }
  std::optional<std::string> post(const std::string& path, const std::string& body, int& rc) {
    return check(client_.Post(path.c_str(), body, "application/json"), "POST " + path, rc);
  }

 private:
  std::optional<std::string> check(const httplib::Result& r, const std::string& what, int& rc) {
    if (!r) {
      std::cerr << "myspoactl: cannot reach the agent at " << opts_.admin << " ("
                << httplib::to_string(r.error()) << ")\n";
      rc = kUnreachable;
      return std::nullopt;
    }
    if (r->status >= 200 && r->status < 300) {
      rc = kOk;
      return r->body;
    }
    std::string message = r->body;
    try {
      const auto j = json::parse(r->body);
      if (j.is_object() && j.contains("error") && j["error"].is_string())
        message = j["error"].get<std::string>();
    } catch (const json::exception&) {
    }
    while (!message.empty() && (message.back() == '\n' || message.back() == '\r'))
      message.pop_back();
    std::cerr << "myspoactl: " << what << ": " << r->status << " " << message << "\n";
    if (r->status == 401)
      std::cerr << "myspoactl: pass the admin token (--token or MYSPOA_TOKEN)\n";
    rc = kFailed;
    return std::nullopt;
  }

  const Options& opts_;
  httplib::Client client_;
};

std::optional<json> parse_json(const std::string& body, int& rc) {
  try {
    return json::parse(body);
  } catch (const json::exception& e) {
    std::cerr << "myspoactl: the agent answered something that is not JSON: " << e.what() << "\n";
    rc = kFailed;
    return std::nullopt;
  }
}

// Prints {"message": ...} of an action's answer, or the whole JSON. `rc` is the request's exit
// code (read after the request has set it: never pass admin.post(...) and rc as two arguments).
int print_action(const std::optional<std::string>& body, int rc) {
  if (!body) return rc;
  const auto j = parse_json(*body, rc);
  if (!j) return rc;
  if (j->is_object() && j->contains("message") && (*j)["message"].is_string())
    std::cout << (*j)["message"].get<std::string>() << "\n";
  else
    std::cout << j->dump(2) << "\n";
  return kOk;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"myspoactl: inspect and operate a running myspoa agent (admin HTTP endpoint)"};
  cli.require_subcommand(1);
  Options o;
  cli.add_option("--admin", o.admin, "admin endpoint URL")
      ->envname("MYSPOA_ADMIN")
      ->capture_default_str();
  cli.add_option("--token", o.token, "admin bearer token (required for actions when configured)")
      ->envname("MYSPOA_TOKEN");
  cli.add_option("--timeout", o.timeout_s, "seconds to wait for the agent")
      ->check(CLI::Range(0.1, 120.0))
      ->capture_default_str();

  bool status_json = false;
  auto* status = cli.add_subcommand("status", "writer, scenario and one line per server");
  status->add_flag("--json", status_json, "print the agent's JSON");

  bool servers_json = false;
  auto* servers = cli.add_subcommand("servers", "the server table (or their JSON)");
  servers->add_flag("--json", servers_json, "print the servers as JSON");

  uint64_t since = 0;
  bool events_json = false;
  bool follow = false;
  double follow_interval_s = 1.0;
  auto* events = cli.add_subcommand("events", "recent state changes, writer changes, actions");
  events->add_option("--since", since, "only events after this sequence number");
  events->add_flag("--json", events_json, "print the agent's JSON (one object per line with -f)");
  events->add_flag("-f,--follow", follow, "keep printing new events until interrupted");
  events->add_option("--interval", follow_interval_s, "seconds between polls with --follow")
      ->check(CLI::Range(0.1, 60.0))
      ->capture_default_str();

  std::string drain_name, undrain_name, promote_name;
  bool force = false;
  auto* drain = cli.add_subcommand("drain", "take a server out of reads and writes");
  drain->add_option("NAME", drain_name, "server name")->required();
  auto* undrain = cli.add_subcommand("undrain", "give a drained server back");
  undrain->add_option("NAME", undrain_name, "server name")->required();
  auto* promote = cli.add_subcommand("promote", "move the writer to a master");
  promote->add_option("NAME", promote_name, "master name")->required();
  promote->add_flag("--force", force, "even when unsafe (replication broken, relay log unapplied)");

  std::string checksum_action;
  bool checksum_json = false;
  auto* checksum = cli.add_subcommand("checksum", "consistency checksum runs");
  checksum->add_option("ACTION", checksum_action, "run | status | report | cancel")
      ->required()
      ->check(CLI::IsMember({"run", "status", "report", "cancel"}));
  checksum->add_flag("--json", checksum_json, "print the agent's JSON");

  auto* reload = cli.add_subcommand("reload", "reload the agent's configuration file");

  bool health_live = false;
  double health_wait_s = 0;
  auto* health = cli.add_subcommand(
      "health", "readiness (GET /health/ready): exit 0 ready, 1 not ready, 3 unreachable");
  health->add_flag("--live", health_live, "liveness instead (GET /health/live)");
  health->add_option("--wait", health_wait_s, "wait up to this many seconds for a 200")
      ->check(CLI::Range(0.0, 3600.0));

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e) == 0 ? kOk : kUsage;
  }

  Admin admin(o);
  int rc = kOk;
  if (*status || *servers) {
    const auto body = admin.get("/status", rc);
    if (!body) return rc;
    const auto j = parse_json(*body, rc);
    if (!j) return rc;
    if (*status)
      std::cout << (status_json ? j->dump(2) + "\n" : myspoa::ctl::render_status(*j));
    else
      std::cout << (servers_json ? (*j)["servers"].dump(2) + "\n"
                                 : myspoa::ctl::render_servers(*j));
    return kOk;
  }
  if (*events) {
    if (follow) {
      std::signal(SIGINT, on_stop);
      std::signal(SIGTERM, on_stop);
    }
    for (;;) {
      const auto body = admin.get("/events?since=" + std::to_string(since), rc);
      if (!body) return rc;
      const auto j = parse_json(*body, rc);
      if (!j) return rc;
      if (!follow) {
        std::cout << (events_json ? j->dump(2) + "\n" : myspoa::ctl::render_events(*j));
        return kOk;
      }
      if (j->contains("events") && !(*j)["events"].empty()) {
        std::cout << (events_json ? j->dump() + "\n" : myspoa::ctl::render_events(*j))
                  << std::flush;
      }
      if (j->contains("last_seq") && (*j)["last_seq"].is_number_unsigned()) {
        const auto last = (*j)["last_seq"].get<uint64_t>();
        if (last > since) since = last;
      }
      // Sleep in small steps so Ctrl-C ends the command at once.
      const auto until = std::chrono::steady_clock::now() +
                         std::chrono::milliseconds(static_cast<int64_t>(follow_interval_s * 1000));
      while (!g_stop && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (g_stop) return kOk;
    }
  }
  // Names go into a path: anything a configured name cannot contain is a usage error here
  // rather than a confusing 404.
  auto valid_name = [](const std::string& n) {
    if (n.empty() || n.size() > 64) return false;
    for (char c : n)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.')
        return false;
    return n != "." && n != "..";
  };
  if (*drain || *undrain) {
    const auto& name = *drain ? drain_name : undrain_name;
    if (!valid_name(name)) {
      std::cerr << "myspoactl: invalid server name '" << name << "'\n";
      return kUsage;
    }
    const auto body = admin.post("/servers/" + name + (*drain ? "/drain" : "/undrain"), "", rc);
    return print_action(body, rc);
  }
  if (*promote) {
    const json body = {{"server", promote_name}, {"force", force}};
    const auto answer = admin.post("/writer", body.dump(), rc);
    return print_action(answer, rc);
  }
  if (*checksum) {
    std::optional<std::string> body;
    if (checksum_action == "run")
      body = admin.post("/checksum/run", "{}", rc);
    else if (checksum_action == "cancel")
      body = admin.post("/checksum/cancel", "{}", rc);
    else if (checksum_action == "status")
      body = admin.get("/checksum", rc);
    else
      body = admin.get("/checksum/report", rc);
    if (!body) return rc;
    const auto j = parse_json(*body, rc);
    if (!j) return rc;
    if (checksum_json || checksum_action == "run" || checksum_action == "cancel")
      std::cout << j->dump(2) << "\n";
    else if (checksum_action == "status")
      std::cout << myspoa::ctl::render_checksum_status(*j, now_unix_ms());
    else
      std::cout << myspoa::ctl::render_checksum_report(*j);
    return kOk;
  }
  if (*reload) {
    const auto answer = admin.post("/reload", "", rc);
    return print_action(answer, rc);
  }
  if (*health) {
    // Polls every 200 ms until a 200 or the deadline (systemd's ExecStartPost, scripts).
    const std::string path = health_live ? "/health/live" : "/health/ready";
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::milliseconds(static_cast<int64_t>(health_wait_s * 1000));
    for (;;) {
      const auto r = admin.raw_get(path);
      const bool last = std::chrono::steady_clock::now() >= deadline;
      if (r && r->status == 200) {
        std::cout << r->body;
        return kOk;
      }
      if (last) {
        if (!r) {
          std::cerr << "myspoactl: cannot reach the agent at " << o.admin << " ("
                    << httplib::to_string(r.error()) << ")\n";
          return kUnreachable;
        }
        std::cout << r->body;
        return kFailed;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  return kUsage;
}
