#include "spoa/admin/status_view.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace myspoa::admin {

namespace {
using nlohmann::json;

// Shortest round-trip text of a double (Prometheus and humans both read it).
std::string num(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

// Error texts from MySQL may hold newlines; checks and labels must stay one line.
std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  return s;
}

// A server name echoed back in an answer: only the characters a configured name may use.
std::string safe_name(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (out.size() >= 64) break;
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.';
    out.push_back(ok ? c : '?');
  }
  return out;
}

std::string label_value(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out.push_back(c);
  }
  return out;
}

const policy::ServerVerdict* verdict_of(const policy::Decision* d, const std::string& name) {
  if (!d) return nullptr;
  for (const auto& v : d->servers)
    if (v.name == name) return &v;
  return nullptr;
}

const probes::ServerState* state_of(const StatusInputs& in, const std::string& name) {
  return in.snapshot ? in.snapshot->find(name) : nullptr;
}

std::string consistency_of(const StatusInputs& in, const std::string& name) {
  if (in.overrides.inconsistent.count(name)) return kInconsistent;
  const auto it = in.consistency.find(name);
  if (it != in.consistency.end() && !it->second.empty()) return it->second;
  return kConsistencyUnknown;
}

// Lag as seen by the last raw probe: heartbeat when available, else Seconds_Behind_Master.
std::optional<double> raw_lag(const probes::ProbeResult& p) {
  if (p.heartbeat_lag_s) return p.heartbeat_lag_s;
  if (p.replication && p.replication->seconds_behind)
    return static_cast<double>(*p.replication->seconds_behind);
  return std::nullopt;
}

json opt(const std::optional<double>& v) {
  return v ? json(*v) : json(nullptr);
}

json last_probe_json(const probes::ServerState& s) {
  const auto& p = s.last;
  json j;
  j["ok"] = p.ok;
  j["error"] = p.error;
  j["latency_ms"] = static_cast<double>(p.latency_us) / 1000.0;
  j["read_only"] = p.ok ? json(p.read_only) : json(nullptr);
  j["super_read_only"] = p.super_read_only ? json(*p.super_read_only) : json(nullptr);
  j["server_id"] = p.server_id;
  j["version"] = p.version;
  if (p.replication) {
    const auto& r = *p.replication;
    j["io_running"] = r.io_running;
    j["sql_running"] = r.sql_running;
    j["io_state"] = r.io_state;
    j["lag_s"] = opt(raw_lag(p));
    j["last_io_error"] = r.last_io_error;
    j["last_sql_error"] = r.last_sql_error;
    j["master"] = r.master_host + ":" + std::to_string(r.master_port);
  } else {
    j["io_running"] = nullptr;
    j["sql_running"] = nullptr;
    j["lag_s"] = opt(p.heartbeat_lag_s);
    j["last_io_error"] = nullptr;
    j["last_sql_error"] = nullptr;
    j["master"] = nullptr;
  }
  return j;
}

// Prometheus text writer: HELP and TYPE once per family, then samples.
class Prom {
 public:
  void family(const char* name, const char* type, const char* help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }
  void sample(const std::string& name, const std::string& labels, double v) {
    out_ += name;
    if (!labels.empty()) out_ += "{" + labels + "}";
    out_ += ' ';
    out_ += num(v);
    out_ += '\n';
  }
  static std::string label(const char* k, const std::string& v) {
    return std::string(k) + "=\"" + label_value(v) + "\"";
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

// Cooperating agents (issue 12): this agent's role in the primary election.
json coordination_json(const StatusInputs& in) {
  const auto& cfg = *in.config;
  const bool majority = cfg.cluster.cooperation == config::ClusterConfig::Cooperation::Majority;
  const probes::CoordinationState none;
  const auto& c = in.snapshot ? in.snapshot->coordination : none;
  const policy::Decision* d = in.decision.get();
  json j;
  j["mode"] = majority ? "majority" : "standalone";
  j["name"] = cfg.agent.name;
  j["role"] = !majority ? "standalone" : d && d->known ? d->role : "none";
  j["locks_held"] = c.locks_held;
  j["servers"] = majority ? c.servers : static_cast<int>(cfg.cluster.servers.size());
  j["primary_since_ms"] = c.primary_since_ms;  // steady clock; 0 when not primary
  j["primary"] = c.primary                ? json(cfg.agent.name)
                 : c.primary_name.empty() ? json(nullptr)
                                          : json(c.primary_name);
  j["target_writer"] = d && d->target_writer ? json(*d->target_writer) : json(nullptr);
  j["writable_masters"] = d ? d->writable_masters : std::vector<std::string>{};
  return j;
}

}  // namespace

json render_status_json(const StatusInputs& in) {
  const auto& cfg = *in.config;
  const policy::Decision* d = in.decision.get();
  json j;

  auto& agent = j["agent"];
  agent["version"] = in.version;
  agent["started_unix_ms"] = in.started_unix_ms;
  agent["uptime_s"] = in.started_unix_ms > 0 && in.now_unix_ms >= in.started_unix_ms
                          ? static_cast<double>(in.now_unix_ms - in.started_unix_ms) / 1000.0
                          : 0.0;
  agent["config_file"] = cfg.source.empty() ? "<embedded default>" : cfg.source;
  agent["spop_listen"] = cfg.agent.listen.to_string();
  agent["spop_running"] = in.spop_running;
  agent["spop_connections"] = {{"open", in.spop.connections_open},
                               {"total", in.spop.connections_total}};
  agent["notifies"] = in.spop.notifies;
  agent["protocol_errors"] = in.spop.protocol_errors;
  agent["decisions_per_s"] = in.decisions_per_s;
  agent["decisions"] = {
      {"write", {{"routed", in.decisions[0][0]}, {"refused", in.decisions[0][1]}}},
      {"read", {{"routed", in.decisions[1][0]}, {"refused", in.decisions[1][1]}}}};
  agent["failovers"] = in.failovers;
  agent["probe_round"] = in.snapshot ? in.snapshot->round : 0;

  json servers = json::array();
  for (const auto& sc : cfg.cluster.servers) {
    const auto* st = state_of(in, sc.name);
    const auto* v = verdict_of(d, sc.name);
    json s;
    s["name"] = sc.name;
    s["address"] = sc.address.to_string();
    s["backend"] = sc.backend;
    const bool master = std::find(cfg.cluster.masters.begin(), cfg.cluster.masters.end(),
                                  sc.name) != cfg.cluster.masters.end();
    s["role"] = master ? "master" : "replica";
    s["replica_of"] = sc.replica_of.empty() ? json(nullptr) : json(sc.replica_of);
    s["writer"] = d && d->writer && *d->writer == sc.name;
    s["state"] = st ? probes::to_string(st->liveness) : "unknown";
    s["replication"] = st ? probes::to_string(st->replication) : "unknown";
    s["lag_s"] = st && st->up() ? opt(st->lag_s) : json(nullptr);
    s["why"] = st ? st->why : "";
    s["routing"] = v ? v->why : "";
    s["in_read_pool"] = v && v->readable;
    s["weight"] = v ? v->weight : 0;
    s["configured_weight"] = sc.weight;
    s["drained"] = in.overrides.drained.count(sc.name) > 0;
    s["consistency"] = consistency_of(in, sc.name);
    s["last_probe"] = st && st->probes > 0 ? last_probe_json(*st) : json(nullptr);
    servers.push_back(std::move(s));
  }
  j["servers"] = std::move(servers);

  j["writer"] = d && d->writer ? json(*d->writer) : json(nullptr);
  json pool = json::array();
  if (d)
    for (const auto& r : d->read_pool) pool.push_back({{"name", r.name}, {"weight", r.weight}});
  j["read_pool"] = std::move(pool);
  j["scenario"] = d ? d->scenario : "starting";
  j["backup_mode"] = d && d->backup_mode;
  j["refusal"] = d ? d->refusal : "no decision yet";
  j["known"] = d && d->known;
  j["generation"] = d ? d->generation : 0;
  j["notes"] = d ? d->notes : std::vector<std::string>{};
  j["writer_pin"] = in.overrides.writer_pin ? json(*in.overrides.writer_pin) : json(nullptr);
  j["coordination"] = coordination_json(in);
  return j;
}

json render_events_json(const std::vector<events::Event>& events) {
  json list = json::array();
  uint64_t last = 0;
  for (const auto& e : events) {
    list.push_back({{"seq", e.seq},
                    {"unix_ms", e.unix_ms},
                    {"kind", e.kind},
                    {"server", e.server},
                    {"message", e.message}});
    last = e.seq;
  }
  return {{"events", std::move(list)}, {"last_seq", last}};
}

std::string render_metrics(const StatusInputs& in) {
  const auto& cfg = *in.config;
  const policy::Decision* d = in.decision.get();
  Prom p;
  const char* type = "gauge";
  auto per_server = [&](const char* name, const char* help, auto value_of) {
    p.family(name, type, help);
    for (const auto& sc : cfg.cluster.servers) {
      const auto* st = state_of(in, sc.name);
      const std::optional<double> v = value_of(sc, st);
      if (v) p.sample(name, Prom::label("server", sc.name), *v);
    }
  };
  using SC = config::ServerConfig;
  using ST = probes::ServerState;
  auto b = [](bool x) { return std::optional<double>(x ? 1.0 : 0.0); };

  per_server("myspoa_server_up", "Whether the MySQL server is up after rise/fall (1 up, 0 not).",
             [&](const SC&, const ST* st) { return b(st && st->up()); });
  per_server("myspoa_server_replication_running",
             "Whether the last probe saw both replication threads (IO and SQL) running.",
             [&](const SC&, const ST* st) {
               return b(st && st->last.ok && st->last.replication &&
                        st->last.replication->io_running && st->last.replication->sql_running);
             });
  per_server("myspoa_server_replication_lag_seconds",
             "Replication lag in seconds (heartbeat when enabled, else Seconds_Behind_Master); "
             "absent when unknown.",
             [&](const SC&, const ST* st) {
               // A down server's last lag is stale: no sample rather than a reassuring 0.
               return st && st->up() ? st->lag_s : std::optional<double>();
             });
  per_server("myspoa_server_read_only", "Value of @@read_only seen by the last successful probe.",
             [&](const SC&, const ST* st) {
               return st && st->last.ok ? b(st->last.read_only) : std::optional<double>();
             });
  per_server("myspoa_server_in_read_pool",
             "Whether the server takes reads in the current decision.",
             [&](const SC& sc, const ST*) {
               const auto* v = verdict_of(d, sc.name);
               return b(v && v->readable);
             });
  per_server("myspoa_server_read_weight", "Lag-adjusted read weight in the current decision.",
             [&](const SC& sc, const ST*) {
               const auto* v = verdict_of(d, sc.name);
               return std::optional<double>(v ? v->weight : 0);
             });
  per_server("myspoa_server_drained", "Whether the operator drained the server.",
             [&](const SC& sc, const ST*) { return b(in.overrides.drained.count(sc.name) > 0); });
  per_server(
      "myspoa_server_inconsistent",
      "Whether the checksum runner found the server inconsistent (requires rebuild).",
      [&](const SC& sc, const ST*) { return b(in.overrides.inconsistent.count(sc.name) > 0); });
  per_server("myspoa_writer", "1 for the server taking writes, 0 for the others.",
             [&](const SC& sc, const ST*) { return b(d && d->writer && *d->writer == sc.name); });
  per_server("myspoa_probe_duration_seconds", "Duration of the last probe of the server.",
             [&](const SC&, const ST* st) {
               return st && st->probes > 0
                          ? std::optional<double>(static_cast<double>(st->last.latency_us) / 1e6)
                          : std::optional<double>();
             });
  per_server("myspoa_server_flapping",
             "1 while flap damping holds the server Down (mysql.flap_threshold).",
             [&](const SC&, const ST* st) { return b(st && st->flapping); });
  type = "counter";
  per_server("myspoa_server_state_changes_total",
             "Liveness or replication state changes since the probes (re)started.",
             [&](const SC&, const ST* st) {
               return std::optional<double>(st ? static_cast<double>(st->transitions) : 0.0);
             });

  {
    const probes::CoordinationState none;
    const auto& c = in.snapshot ? in.snapshot->coordination : none;
    p.family("myspoa_coordination_primary", "gauge",
             "1 when this agent is the primary of cooperating agents (cluster.cooperation: "
             "majority), else 0.");
    p.sample("myspoa_coordination_primary", "", c.primary ? 1 : 0);
    p.family("myspoa_coordination_locks_held", "gauge",
             "Servers on which this agent holds the primary election lock.");
    p.sample("myspoa_coordination_locks_held", "", c.locks_held);
  }
  p.family("myspoa_backup_mode", "gauge", "1 when the writer has no healthy peer master.");
  p.sample("myspoa_backup_mode", "", d && d->backup_mode ? 1 : 0);
  p.family("myspoa_split_brain", "gauge", "1 when both masters are up with broken replication.");
  p.sample("myspoa_split_brain", "", d && d->scenario == "split-brain" ? 1 : 0);
  p.family("myspoa_writes_refused", "gauge", "1 when no server takes writes.");
  p.sample("myspoa_writes_refused", "", d && d->writer ? 0 : 1);
  p.family("myspoa_decision_known", "gauge", "1 once every server reached a known state.");
  p.sample("myspoa_decision_known", "", d && d->known ? 1 : 0);

  p.family("myspoa_decisions_total", "counter", "Routing answers given to HAProxy.");
  static const char* const kIntents[2] = {"write", "read"};
  static const char* const kResults[2] = {"routed", "refused"};
  for (int i = 0; i < 2; ++i)
    for (int r = 0; r < 2; ++r)
      p.sample("myspoa_decisions_total",
               Prom::label("intent", kIntents[i]) + "," + Prom::label("result", kResults[r]),
               static_cast<double>(in.decisions[static_cast<size_t>(i)][static_cast<size_t>(r)]));

  const auto& c = in.spop;
  p.family("myspoa_spop_connections", "gauge", "Open SPOP connections from HAProxy.");
  p.sample("myspoa_spop_connections", "", static_cast<double>(c.connections_open));
  p.family("myspoa_spop_connections_total", "counter", "SPOP connections accepted.");
  p.sample("myspoa_spop_connections_total", "", static_cast<double>(c.connections_total));
  p.family("myspoa_spop_notifies_total", "counter", "SPOP NOTIFY frames processed.");
  p.sample("myspoa_spop_notifies_total", "", static_cast<double>(c.notifies));
  p.family("myspoa_spop_protocol_errors_total", "counter",
           "SPOP connections closed because of a protocol error.");
  p.sample("myspoa_spop_protocol_errors_total", "", static_cast<double>(c.protocol_errors));

  // Log2 buckets of nanoseconds: bucket i holds [2^i, 2^(i+1)) ns, so its upper bound is
  // 2^(i+1) ns; the last bucket also holds everything above and maps to +Inf only.
  p.family("myspoa_spop_notify_latency_seconds", "histogram",
           "Time to process one NOTIFY (parse, decide, encode the ACK); one NOTIFY in "
           "kLatencySampleEvery (16) is timed, so _count is a sample of notifies_total.");
  uint64_t cumulative = 0;
  for (size_t i = 0; i < server::kLatencyBuckets; ++i) {
    cumulative += c.notify_latency[i];
    if (i + 1 == server::kLatencyBuckets) break;
    const double le = std::ldexp(1.0, static_cast<int>(i) + 1) / 1e9;
    p.sample("myspoa_spop_notify_latency_seconds_bucket", Prom::label("le", num(le)),
             static_cast<double>(cumulative));
  }
  p.sample("myspoa_spop_notify_latency_seconds_bucket", Prom::label("le", "+Inf"),
           static_cast<double>(cumulative));
  p.sample("myspoa_spop_notify_latency_seconds_sum", "",
           static_cast<double>(c.notify_latency_sum_ns) / 1e9);
  p.sample("myspoa_spop_notify_latency_seconds_count", "", static_cast<double>(cumulative));

  p.family("myspoa_failovers_total", "counter", "Writer changes away from a previous writer.");
  p.sample("myspoa_failovers_total", "", static_cast<double>(in.failovers));
  const auto counter = [&](const char* name, const char* help, uint64_t value) {
    p.family(name, "counter", help);
    p.sample(name, "", static_cast<double>(value));
  };
  const auto& wa = in.writer_actions;
  counter("myspoa_flap_holds_total", "Times flap damping held a server Down.", in.flap_holds);
  counter("myspoa_fences_total", "read_only=1 statements that succeeded (cluster.fence).",
          wa.fences);
  counter("myspoa_unfences_total",
          "read_only=0 statements that succeeded (cluster.manage_read_only).", wa.unfences);
  counter("myspoa_read_only_failures_total", "read_only statements that failed.",
          wa.read_only_failures);
  counter("myspoa_session_cut_passes_total",
          "Passes over HAProxy's sessions to cut the old writer's (haproxy.runtime_api).",
          wa.session_cuts);
  counter("myspoa_sessions_cut_total", "Write sessions shut down through HAProxy's runtime API.",
          wa.sessions_cut);
  counter("myspoa_runtime_api_failures_total", "HAProxy runtime API commands that failed.",
          wa.runtime_api_failures);
  p.family("myspoa_alerts_total", "counter", "Alert command runs (alerts.command) by result.");
  const std::pair<const char*, uint64_t> alert_results[] = {{"succeeded", in.alerts.succeeded},
                                                            {"failed", in.alerts.failed},
                                                            {"timed_out", in.alerts.timed_out},
                                                            {"dropped", in.alerts.dropped}};
  for (const auto& [result, n] : alert_results)
    p.sample("myspoa_alerts_total", Prom::label("result", result), static_cast<double>(n));
  p.family("myspoa_probe_rounds_total", "counter", "Probe rounds completed.");
  p.sample("myspoa_probe_rounds_total", "",
           in.snapshot ? static_cast<double>(in.snapshot->round) : 0.0);
  p.family("myspoa_start_time_seconds", "gauge", "Start time of the agent since the Unix epoch.");
  p.sample("myspoa_start_time_seconds", "", static_cast<double>(in.started_unix_ms) / 1000.0);
  p.family("myspoa_info", "gauge", "Agent information; always 1.");
  p.sample("myspoa_info", Prom::label("version", in.version), 1);
  return p.take();
}

CheckAnswer check_server_status(const StatusInputs& in, const std::string& server) {
  if (!in.config->cluster.find(server))
    return {404, "unknown server '" + safe_name(server) + "'\n"};
  const auto* st = state_of(in, server);
  if (!st || st->probes == 0) return {503, server + " is unknown: not probed yet\n"};
  if (st->last.ok) return {200, server + " is up\n"};
  std::string why = st->last.error.empty() ? st->why : st->last.error;
  if (why.empty()) why = "no answer";
  return {503, server + " is down: " + one_line(why) + "\n"};
}

CheckAnswer check_server_replication(const StatusInputs& in, const std::string& server) {
  if (!in.config->cluster.find(server))
    return {404, "unknown server '" + safe_name(server) + "'\n"};
  const auto* st = state_of(in, server);
  if (!st || st->probes == 0) return {503, server + " replication is unknown: not probed yet\n"};
  const auto& p = st->last;
  if (!p.ok)
    return {503, server + " replication is unknown: " + server +
                     " is down: " + one_line(p.error.empty() ? "no answer" : p.error) + "\n"};
  if (!p.replication) return {503, server + " replication is not configured\n"};
  const auto& r = *p.replication;
  if (!r.io_running || !r.sql_running) {
    std::string why = "Slave_IO_Running=" +
                      (r.io_state.empty() ? std::string(r.io_running ? "Yes" : "No") : r.io_state) +
                      ", Slave_SQL_Running=" + (r.sql_running ? "Yes" : "No");
    const std::string& err = !r.last_sql_error.empty() ? r.last_sql_error : r.last_io_error;
    if (!err.empty()) why += ": " + err;
    return {503, server + " replication is broken: " + one_line(why) + "\n"};
  }
  const auto lag = raw_lag(p);
  if (!lag) return {503, server + " replication is broken: Seconds_Behind_Master is NULL\n"};
  const double max_lag = in.config->mysql.max_lag_s;
  if (*lag > max_lag)
    return {503, server + " replication is lagging: " + num(*lag) + " s behind (max " +
                     num(max_lag) + " s)\n"};
  return {200, server + " replication is running, " + num(*lag) + " s behind\n"};
}

double RateMeter::update(int64_t now_ms, uint64_t total) {
  if (!samples_.empty() && (total < samples_.back().total || now_ms < samples_.back().at_ms))
    samples_.clear();  // counter reset or clock jump: start over
  samples_.push_back({now_ms, total});
  // Keep one sample at or before the window's start so the rate covers the whole window.
  size_t drop = 0;
  while (drop + 2 < samples_.size() && samples_[drop + 1].at_ms <= now_ms - window_ms_) ++drop;
  if (samples_.size() - drop > 4096) drop = samples_.size() - 4096;
  samples_.erase(samples_.begin(), samples_.begin() + static_cast<std::ptrdiff_t>(drop));
  const auto& first = samples_.front();
  if (now_ms <= first.at_ms) return 0.0;
  return static_cast<double>(total - first.total) * 1000.0 /
         static_cast<double>(now_ms - first.at_ms);
}

}  // namespace myspoa::admin
