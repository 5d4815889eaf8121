#include "spoa/app/app.h"

#include <chrono>

#include <spdlog/spdlog.h>

#include "common/clock.h"
#include "consistency/consistency_scheduler.h"
#include "probes/probe_engine.h"
#include "spoa/refusal/refusal_endpoint.h"
#include "spoa/server/spop_server.h"
#include "spoa/version.h"

namespace myspoa::app {

App::App(config::Config config)
    : config_(std::make_shared<const config::Config>(std::move(config))),
      board_(config_->agent.threads),
      handler_(board_) {}

config::ConfigPtr App::config() const {
  std::lock_guard lock(config_mu_);
  return config_;
}

App::~App() {
  stop();
}

bool App::start(std::string& error) {
  started_unix_ms_ = clock::unix_ms();
  const auto cfg = config();
  for (const auto& w : cfg->warnings) {
    spdlog::warn("configuration: {}", w);
    events_.add("config", "", w);
  }
  alerter_ = std::make_unique<alerts::Alerter>(static_cast<size_t>(cfg->alerts.queue_size));
  writer_actions_ = std::make_unique<writer_actions::WriterActions>(
      [this](const std::string& server, std::string sql,
             std::function<void(probes::QueryOutcome &&)> done) {
        std::unique_lock lock(probes_mu_);
        if (probes_) return probes_->execute(server, std::move(sql), std::move(done));
        lock.unlock();
        probes::QueryOutcome o;
        o.error = "probe engine not running";
        done(std::move(o));
      },
      [this](const std::string& kind, const std::string& server, const std::string& message,
             bool failed) {
        events_.add(kind, server, message);
        if (failed) alert(kind, server, message);
      });
  refusal_ = std::make_unique<refusal::RefusalEndpoint>(cfg->agent.refusal_listen,
                                                        [this] { return refusal_message(); });
  if (!refusal_->start(error)) return false;

  server::SpopServerOptions options;
  options.host = cfg->agent.listen.host;
  options.port = cfg->agent.listen.port;
  options.threads = cfg->agent.threads;
  options.max_frame_size = cfg->agent.max_frame_size;
  spop_ = std::make_unique<server::SpopServer>(options, handler_);
  if (!spop_->start(error)) {
    stop();
    return false;
  }

  start_probes(nullptr);
  // The checker reads the writer from the published decision: never a replica, never while
  // writes are refused (split brain...).
  consistency_ = std::make_unique<consistency::ConsistencyScheduler>(
      *cfg,
      [this] {
        const auto d = board_.latest();
        consistency::WriterInfo w;
        if (d && d->known) w.writer = d->writer;
        w.scenario = d && d->known ? d->scenario : "unknown";
        // Cooperating agents: only the primary runs consistency checks (scheduled or asked).
        if (const auto why = not_primary_reason(); !why.empty()) {
          w.writer.reset();
          w.scenario = why;
        }
        return w;
      },
      [this](const std::string& server, bool inconsistent) {
        on_consistency_verdict(server, inconsistent);
      });
  consistency_->start();
  events_.add(
      "agent", "",
      std::string("myspoa ") + kVersion + " started, SPOP on " + cfg->agent.listen.to_string());
  return true;
}

void App::stop() {
  // The consistency run first: it reads the decision board and writes on the writer.
  if (consistency_) consistency_->stop();
  // Probes first: no decision is published into a board whose readers are going away.
  {
    // Joined outside the lock: the engine thread's on_round takes it.
    std::unique_ptr<probes::ProbeEngine> engine;
    {
      std::lock_guard lock(probes_mu_);
      engine = std::move(probes_);
    }
    if (engine) engine->stop();
  }
  // After the probes: fence callbacks run on the engine thread.
  if (writer_actions_) writer_actions_->stop();
  if (alerter_) alerter_->stop();
  if (spop_) spop_->stop();
  if (refusal_) refusal_->stop();
}

void App::start_probes(probes::SnapshotPtr seed) {
  auto engine = std::make_unique<probes::ProbeEngine>(*config(), std::move(seed));
  engine->on_round([this](probes::SnapshotPtr s) { on_round(std::move(s)); });
  if (previous_ && previous_->writer) engine->set_writer(*previous_->writer);
  probes::ProbeEngine* started = engine.get();
  {
    std::lock_guard lock(probes_mu_);
    probes_ = std::move(engine);
  }
  started->start();
}

probes::SnapshotPtr App::snapshot() const {
  std::lock_guard lock(probes_mu_);
  return probes_ ? probes_->snapshot() : probes::SnapshotPtr{};
}

namespace {
// Settings that only a restart applies: named so the operator knows they were not taken.
std::vector<std::string> restart_only_changes(const config::Config& a, const config::Config& b) {
  std::vector<std::string> keys;
  if (a.agent.listen.to_string() != b.agent.listen.to_string()) keys.push_back("agent.listen");
  if (a.agent.threads != b.agent.threads) keys.push_back("agent.threads");
  if (a.agent.max_frame_size != b.agent.max_frame_size) keys.push_back("agent.max_frame_size");
  if (a.agent.refusal_listen.to_string() != b.agent.refusal_listen.to_string())
    keys.push_back("agent.refusal_listen");
  if (a.admin.listen.to_string() != b.admin.listen.to_string()) keys.push_back("admin.listen");
  return keys;
}
}  // namespace

std::string App::reload(const std::string& path) {
  std::lock_guard reload_lock(reload_mu_);
  config::Config fresh;
  try {
    fresh = config::load_config_file(path);
  } catch (const config::ConfigError& e) {
    const std::string why =
        std::string("reload refused, keeping the running configuration: ") + e.what();
    spdlog::error("{}", why);
    events_.add("reload", "", why);
    return why;
  }
  const auto running = config();
  const config::Config& old = *running;
  const auto kept = restart_only_changes(old, fresh);
  // Restart-only settings keep their running values, so what config() shows is what runs.
  fresh.agent.listen = old.agent.listen;
  fresh.agent.threads = old.agent.threads;
  fresh.agent.max_frame_size = old.agent.max_frame_size;
  fresh.agent.refusal_listen = old.agent.refusal_listen;
  fresh.admin.listen = old.admin.listen;

  // Servers that stayed (same name, same address) keep their probed state.
  auto seed = std::make_shared<probes::Snapshot>();
  if (const auto current = snapshot()) {
    seed->round = current->round;
    for (const auto& s : fresh.cluster.servers) {
      const auto* before = old.cluster.find(s.name);
      const auto* st = current->find(s.name);
      if (before && st && before->address.to_string() == s.address.to_string())
        seed->servers.push_back(*st);
    }
  }
  // The old engine is joined before the new one starts, so on_round never runs twice at once.
  {
    std::unique_ptr<probes::ProbeEngine> retired;
    {
      std::lock_guard lock(probes_mu_);
      retired = std::move(probes_);
    }
    if (retired) retired->stop();
  }
  spdlog::set_level(spdlog::level::from_str(fresh.agent.log_level));
  const auto servers = fresh.cluster.servers.size();
  {
    std::lock_guard lock(config_mu_);
    config_ = std::make_shared<const config::Config>(std::move(fresh));
  }
  start_probes(std::move(seed));

  std::string msg =
      "configuration reloaded from " + path + " (" + std::to_string(servers) + " servers)";
  if (!kept.empty()) {
    msg += "; needs a restart, kept running values:";
    for (const auto& k : kept) msg += " " + k;
  }
  spdlog::warn("{}", msg);
  events_.add("reload", "", msg);
  return "";
}

policy::Overrides App::overrides() const {
  std::lock_guard lock(overrides_mu_);
  return overrides_;
}

std::string App::drain(const std::string& server, bool drained) {
  if (!config()->cluster.find(server)) return "unknown server '" + server + "'";
  {
    std::lock_guard lock(overrides_mu_);
    if (drained)
      overrides_.drained.insert(server);
    else
      overrides_.drained.erase(server);
  }
  events_.add("operator", server,
              drained ? server + " drained by operator" : server + " undrained by operator");
  spdlog::warn("{} {} by operator", server, drained ? "drained" : "undrained");
  return "";
}

std::string App::promote(const std::string& server, bool force) {
  const auto cfg = config();
  const auto* s = cfg->cluster.find(server);
  if (!s) return "unknown server '" + server + "'";
  if (!s->replica_of.empty()) return server + " is a replica, not a master";
  if (!force) {
    const auto snap = snapshot();
    const auto* st = snap ? snap->find(server) : nullptr;
    if (!st || !st->up()) return server + " is not up";
    if (st->replication != probes::ReplHealth::Ok &&
        st->replication != probes::ReplHealth::NotReplica) {
      return server + " replication is " + probes::to_string(st->replication) +
             ": promoting it could lose writes (use force)";
    }
    if (st->last.replication && !st->last.replication->relay_log_applied())
      return server + " has not applied its relay log yet (use force)";
  }
  {
    std::lock_guard lock(overrides_mu_);
    overrides_.writer_pin = server;
  }
  events_.add("operator", server,
              "operator moves the writer to " + server + (force ? " (forced)" : ""));
  spdlog::warn("operator moves the writer to {}{}", server, force ? " (forced)" : "");
  return "";
}

void App::set_inconsistent(const std::string& server, bool inconsistent) {
  std::lock_guard lock(overrides_mu_);
  if (inconsistent)
    overrides_.inconsistent.insert(server);
  else
    overrides_.inconsistent.erase(server);
}

void App::on_consistency_verdict(const std::string& server, bool inconsistent) {
  bool was = false;
  {
    std::lock_guard lock(overrides_mu_);
    was = overrides_.inconsistent.count(server) > 0;
  }
  const auto cfg = config();
  const bool drain = cfg->consistency.drain_on_inconsistent;
  if (inconsistent) {
    if (drain) set_inconsistent(server, true);
    const std::string msg = server + " is inconsistent, requires rebuild" +
                            (drain ? (cfg->cluster.drain_inconsistent ? ": drained from reads" : "")
                                   : " (on_inconsistent: flag, still serving reads)");
    events_.add("consistency", server, msg);
    if (!was) alert("inconsistency", server, msg);
  } else if (was) {
    set_inconsistent(server, false);
    events_.add("consistency", server, server + " is consistent again");
  }
}

std::string App::not_primary_reason() const {
  if (config()->cluster.cooperation != config::ClusterConfig::Cooperation::Majority) return "";
  const auto d = board_.latest();
  if (d && d->known && d->role == "primary") return "";
  const auto snap = snapshot();
  const std::string primary = snap ? snap->coordination.primary_name : "";
  const std::string role = d && d->known ? d->role : "starting";
  return "this agent (" + config()->agent.name + ") is " + role +
         ": consistency runs and read_only changes are the primary's (" +
         (primary.empty() ? "the agent holding the " + config()->cluster.lock_prefix +
                                ".primary lock on a majority of the servers"
                          : primary) +
         ")";
}

std::string App::refusal_message() const {
  const auto d = board_.latest();
  std::string text = "myspoa: ";
  if (d->writer) {
    text += "reads refused: no readable server (scenario " + d->scenario + ")";
  } else if (d->read_pool.empty()) {
    text += "connection refused: " + d->refusal + " (no writer, no readable server)";
  } else {
    text += "writes refused: " + d->refusal;
  }
  return text;
}

void App::log_server_changes(const probes::Snapshot& before, const probes::Snapshot& after) {
  for (const auto& s : after.servers) {
    const auto* old = before.find(s.name);
    if (old && old->liveness == s.liveness && old->replication == s.replication) continue;
    if (!old && s.liveness == probes::Liveness::Unknown) continue;
    events_.add("server", s.name,
                s.name + " " + probes::to_string(s.liveness) + ", replication " +
                    probes::to_string(s.replication) + (s.why.empty() ? "" : ": " + s.why));
  }
}

// Cooperating agents: this agent becoming primary, secondary or neither is an event and an alert.
void App::log_role_change(const policy::Decision& d, const probes::Snapshot& snap) {
  const auto& c = snap.coordination;
  if (!c.enabled || !d.known) return;
  const std::string before = previous_ && previous_->known ? previous_->role : "starting";
  if (before == d.role) return;
  const std::string name = config()->agent.name;
  const std::string locks =
      std::to_string(c.locks_held) + " of " + std::to_string(c.servers) + " locks";
  std::string msg = name + " is now " + d.role + " (was " + before + "; holds " + locks;
  if (d.role == "secondary" && !c.primary_name.empty()) msg += ", primary " + c.primary_name;
  if (d.role == "none") msg += ": no agent holds a majority, nobody changes read_only";
  msg += ")";
  spdlog::warn("coordination: {}", msg);
  events_.add("coordination", "", msg);
  alert("role-change", "", msg);
}

void App::on_round(probes::SnapshotPtr snapshot) {
  const auto ov = overrides();
  const auto cfg = config();  // one configuration for the whole round
  auto decision = std::make_shared<policy::Decision>(
      policy::decide(*snapshot, *cfg, previous_.get(), ov, clock::steady_ms()));

  if (previous_snapshot_) log_server_changes(*previous_snapshot_, *snapshot);
  log_role_change(*decision, *snapshot);
  if (!decision->writer_change.empty()) {
    spdlog::warn("writer change: {}", decision->writer_change);
    events_.add("writer-change", decision->writer.value_or(""), decision->writer_change);
    if (previous_ && previous_->writer && decision->writer != previous_->writer)
      failovers_.fetch_add(1, std::memory_order_relaxed);
  }
  if (!previous_ || previous_->scenario != decision->scenario) {
    const auto msg = "scenario " + decision->scenario +
                     (decision->writer ? ", writer " + *decision->writer
                                       : ", writes refused: " + decision->refusal) +
                     (decision->backup_mode ? " (BACKUP MODE: no healthy peer master)" : "");
    if (decision->scenario == "healthy")
      spdlog::info("{}", msg);
    else
      spdlog::warn("{}", msg);
    events_.add("scenario", "", msg);
  }
  // Fence the master writes leave before the new writer is published
  // (spoa/writer_actions/writer_actions.h).
  if (writer_actions_)
    writer_actions_->before_publish(*cfg, previous_.get(), *decision, *snapshot,
                                    clock::steady_ms());
  // Operator pin satisfied or impossible: keep it only while it names the writer.
  board_.publish(decision);
  // Sessions are cut after the publish so that reconnecting clients reach the new writer.
  if (writer_actions_) writer_actions_->after_publish(*cfg, previous_.get(), *decision, *snapshot);
  alert_round(*decision, *snapshot);
  {
    std::lock_guard lock(probes_mu_);  // reload may be swapping the engine
    if (probes_) probes_->set_writer(decision->writer.value_or(cfg->cluster.masters.front()));
  }
  previous_ = std::move(decision);
  previous_snapshot_ = std::move(snapshot);
}

void App::alert_round(const policy::Decision& d, const probes::Snapshot& snap) {
  if (!d.writer_change.empty()) alert("writer-change", d.writer.value_or(""), d.writer_change);
  if (d.scenario == "split-brain" && (!previous_ || previous_->scenario != d.scenario))
    alert("split-brain", "", d.refusal);
  if (d.backup_mode && (!previous_ || !previous_->backup_mode))
    alert("backup-mode", d.writer.value_or(""),
          "BACKUP MODE: " + d.writer.value_or("?") + " takes writes with no healthy peer master (" +
              d.scenario + ")");
  for (const auto& s : snap.servers) {
    const auto* before = previous_snapshot_ ? previous_snapshot_->find(s.name) : nullptr;
    if (s.flapping && !(before && before->flapping))
      alert("flapping", s.name, s.name + " " + s.why);
  }
}

void App::alert(const std::string& kind, const std::string& server, const std::string& message) {
  const auto cfg = config();
  const auto& a = cfg->alerts;
  if (a.command.empty() || !alerter_) return;
  alerts::AlertEvent e;
  e.kind = kind;
  e.server = server;
  e.message = message;
  const auto d = board_.latest();
  if (d && d->writer) e.writer = *d->writer;
  e.scenario = d ? d->scenario : "starting";
  e.unix_ms = clock::unix_ms();
  e.command = a.command;
  e.timeout_ms = a.timeout_ms;
  if (!alerter_->post(std::move(e)))
    spdlog::warn("alert {} dropped: alert queue full ({} pending)", kind, a.queue_size);
}

alerts::AlertCounters App::alert_counters() const {
  return alerter_ ? alerter_->counters() : alerts::AlertCounters{};
}

writer_actions::WriterActionCounters App::writer_action_counters() const {
  return writer_actions_ ? writer_actions_->counters() : writer_actions::WriterActionCounters{};
}

uint64_t App::flap_holds() const {
  std::lock_guard lock(probes_mu_);
  return probes_ ? probes_->counters().flap_holds : 0;
}

}  // namespace myspoa::app
