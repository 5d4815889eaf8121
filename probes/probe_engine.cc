#include "probes/probe_engine.h"

#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>
#include <random>

#include "common/clock.h"
#include "probes/heartbeat_lag.h"
#include "probes/replication_parser.h"

namespace myspoa::probes {
namespace {

// Heartbeat timestamps use the wall clock (clock::unix_us): written and compared by this process
// only.

constexpr int kVarsResult = 0;  // statement order of every probe (see probe_statements)
constexpr int kReplResult = 1;

// One server's connection settings; probes and execute() differ only in the query timeout.
MysqlClientSettings client_settings(const config::ServerConfig& c, const config::MysqlConfig& m,
                                    int query_timeout_ms) {
  return {c.address.host,
          c.address.port,
          m.user,
          m.password,
          m.connect_timeout_ms,
          query_timeout_ms,
          m.ssl_mode,
          m.ssl_ca,
          std::max(1, m.interval_ms / 2),
          std::max(1, m.interval_ms * 2)};
}

}  // namespace

struct ProbeEngine::Server {
  Server(const config::ServerConfig& c, const config::MysqlConfig& m, ev::Loop& loop, uint64_t seed)
      : cfg(c),
        client(loop, client_settings(c, m, m.query_timeout_ms), seed),
        heartbeat_lag(int64_t(m.interval_ms) * 1000),
        exec_settings(client_settings(c, m, std::max(2000, m.query_timeout_ms))),
        exec_seed(seed ^ 0x9e3779b97f4a7c15ULL) {}

  config::ServerConfig cfg;
  MysqlClient client;
  uint64_t launched_round = 0;
  bool heartbeat_table_ready = false;  // CREATE ... IF NOT EXISTS done on this server
  uint64_t heartbeat_seq = 0;          // picks the slot row of the next write
  HeartbeatLag heartbeat_lag;
  // execute(): a second connection, opened on first use.
  MysqlClientSettings exec_settings;
  uint64_t exec_seed;
  std::unique_ptr<MysqlClient> exec_client;
  std::unique_ptr<MysqlClient> lock_client;  // majority mode: the election's connection
  std::deque<std::pair<std::string, ExecuteDone>> exec_pending;
  ExecuteDone exec_current;  // of the statement in flight
};

ProbeEngine::ProbeEngine(const config::Config& cfg, SnapshotPtr previous, Clock clock)
    : mysql_(cfg.mysql),
      server_cfg_(cfg.cluster.servers),
      previous_(std::move(previous)),
      book_(cfg, previous_, clock ? std::move(clock) : Clock(myspoa::clock::steady_ms)),
      election_(book_.election()) {
  writer_ = cfg.cluster.masters.empty() ? std::string() : cfg.cluster.masters.front();
  auto dot = mysql_.heartbeat_table.find('.');
  if (dot == std::string::npos) {
    hb_db_ = "myspoa";
    hb_table_ = "myspoa." + mysql_.heartbeat_table;
  } else {
    hb_db_ = mysql_.heartbeat_table.substr(0, dot);
    hb_table_ = mysql_.heartbeat_table;
  }
  auto initial = std::make_shared<Snapshot>();
  initial->complete = previous_ != nullptr;
  for (const auto& s : server_cfg_) {
    const ServerState* before = seed_for(s);
    ServerState st = before ? *before : ServerState{};
    st.name = s.name;
    if (before && st.liveness == Liveness::Unknown) initial->complete = false;
    initial->servers.push_back(std::move(st));
  }
  if (election_) {  // nobody is primary before the first answers
    initial->coordination.enabled = true;
    initial->coordination.servers = static_cast<int>(server_cfg_.size());
  }
  if (previous_) {
    initial->round = previous_->round;
    round_ = previous_->round;
  }
  snapshot_ = std::move(initial);  // no other thread yet
}

SnapshotPtr ProbeEngine::snapshot() const {
  std::lock_guard lock(snapshot_mu_);
  return snapshot_;
}

const ServerState* ProbeEngine::seed_for(const config::ServerConfig& s) const {
  if (!previous_) return nullptr;
  return previous_->find(s.name);
}

ProbeEngine::~ProbeEngine() {
  stop();
}

void ProbeEngine::set_writer(std::string name) {
  std::lock_guard lock(writer_mu_);
  writer_ = std::move(name);
}

std::string ProbeEngine::writer() const {
  std::lock_guard lock(writer_mu_);
  return writer_;
}

ProbeEngineCounters ProbeEngine::counters() const {
  ProbeEngineCounters c;
  c.rounds = counters_.rounds.load();
  c.probes_ok = counters_.probes_ok.load();
  c.probes_failed = counters_.probes_failed.load();
  c.skipped_busy = counters_.skipped_busy.load();
  c.catch_up = counters_.catch_up.load();
  c.lost_while_idle = counters_.lost_while_idle.load();
  c.transitions = counters_.transitions.load();
  c.heartbeat_writes = counters_.heartbeat_writes.load();
  c.flap_holds = counters_.flap_holds.load();
  c.executes = counters_.executes.load();
  c.execute_failures = counters_.execute_failures.load();
  c.lock_queries = counters_.lock_queries.load();
  c.lock_failures = counters_.lock_failures.load();
  return c;
}

void ProbeEngine::execute(const std::string& server, std::string sql, ExecuteDone done) {
  bool known = false;
  for (const auto& c : server_cfg_) known = known || c.name == server;
  const auto refuse = [&done](const std::string& why) {
    QueryOutcome o;
    o.connect_failed = true;
    o.error = why;
    if (done) done(std::move(o));
  };
  if (!known) return refuse("unknown server '" + server + "'");
  {
    std::lock_guard lock(exec_mu_);
    if (exec_open_) {
      exec_queue_.push_back({server, std::move(sql), std::move(done)});
      async_->send();
      return;
    }
  }
  refuse("probe engine not running");  // outside exec_mu_: the callback may call execute()
}

void ProbeEngine::drain_executes() {
  std::vector<ExecuteRequest> batch;
  {
    std::lock_guard lock(exec_mu_);
    batch.swap(exec_queue_);
  }
  for (auto& r : batch) {
    for (size_t i = 0; i < servers_.size(); ++i) {
      if (servers_[i]->cfg.name != r.server) continue;
      servers_[i]->exec_pending.emplace_back(std::move(r.sql), std::move(r.done));
      run_execute(i);
      break;
    }
  }
}

void ProbeEngine::run_execute(size_t i) {
  Server& s = *servers_[i];
  if (s.exec_pending.empty() || stopping_.load()) return;
  if (!s.exec_client)
    s.exec_client = std::make_unique<MysqlClient>(*loop_, s.exec_settings, s.exec_seed);
  if (s.exec_client->busy()) return;  // run when the current statement finishes
  auto [sql, next_done] = std::move(s.exec_pending.front());
  s.exec_pending.pop_front();
  s.exec_current = std::move(next_done);
  counters_.executes++;
  s.exec_client->run(std::move(sql), [this, i](QueryOutcome&& o) {
    if (!o.ok) counters_.execute_failures++;
    auto done = std::move(servers_[i]->exec_current);
    servers_[i]->exec_current = nullptr;
    if (done) done(std::move(o));
    run_execute(i);
  });
}

void ProbeEngine::start() {
  if (started_) return;
  started_ = true;
  loop_ = std::make_unique<ev::Loop>();
  std::random_device rd;
  uint64_t seed = (uint64_t(rd()) << 32) ^ rd();
  for (size_t i = 0; i < server_cfg_.size(); ++i) {
    servers_.push_back(std::make_unique<Server>(server_cfg_[i], mysql_, *loop_, seed + i));
    servers_.back()->client.on_lost([this, i](const std::string& why) { on_lost(i, why); });
    if (election_) {
      auto& lc = servers_.back()->lock_client;
      lc = std::make_unique<MysqlClient>(
          *loop_, client_settings(server_cfg_[i], mysql_, mysql_.query_timeout_ms),
          seed + i + 0x51ed270b2a5d5f6bULL);
      lc->on_lost([this, i](const std::string&) {
        election_->lost(i);
        if (published_ && !launching_) publish();  // step down at once, not next round
      });
    }
  }
  const double interval = std::max(1, mysql_.interval_ms) / 1000.0;
  tick_ = std::make_unique<ev::Timer>(*loop_, [this] { tick(); });
  tick_->start(0., interval);  // first round at once
  async_ = std::make_unique<ev::Async>(*loop_, [this] { on_async(); });
  async_->start();
  {
    std::lock_guard lock(exec_mu_);
    exec_open_ = true;
  }
  spdlog::info(
      "probes: monitoring {} servers every {} ms (connect {} ms, query {} ms, rise {}, "
      "fall {}, heartbeat {})",
      servers_.size(), mysql_.interval_ms, mysql_.connect_timeout_ms, mysql_.query_timeout_ms,
      mysql_.rise, mysql_.fall, mysql_.heartbeat ? "on" : "off");
  if (election_)
    spdlog::info("probes: cooperation majority, election lock '{}' on {} servers",
                 election_->primary_lock(), servers_.size());
  thread_ = std::thread([this] { run_thread(); });
}

void ProbeEngine::stop() {
  if (!started_) return;
  if (!stopping_.exchange(true)) async_->send();
  if (thread_.joinable()) thread_.join();
  tick_.reset();
  async_.reset();
  loop_.reset();
  started_ = false;
}

void ProbeEngine::run_thread() {
  // A write on a socket the server just closed must give EPIPE, not kill the process.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  loop_->run();
  // Clients own watchers on this loop: destroy them here, on the loop's thread.
  tick_->stop();
  async_->stop();
  // execute() callers get an answer for every request, even when stopping.
  std::vector<ExecuteRequest> unrun;
  {
    std::lock_guard lock(exec_mu_);
    exec_open_ = false;
    unrun.swap(exec_queue_);
  }
  for (auto& s : servers_) {
    if (s->exec_current) unrun.push_back({s->cfg.name, "", std::move(s->exec_current)});
    for (auto& p : s->exec_pending)
      unrun.push_back({s->cfg.name, std::move(p.first), std::move(p.second)});
  }
  servers_.clear();
  for (auto& r : unrun) {
    QueryOutcome o;
    o.connect_failed = true;
    o.error = "probe engine stopped";
    if (r.done) r.done(std::move(o));
  }
}

void ProbeEngine::on_async() {
  if (stopping_.load()) {
    loop_->break_loop();
    return;
  }
  drain_executes();
}

void ProbeEngine::tick() {
  if (!published_) publish();  // stragglers are published with a later round
  round_++;
  counters_.rounds++;
  published_ = false;
  outstanding_ = 0;
  launching_ = true;
  for (size_t i = 0; i < servers_.size(); ++i) {
    if (servers_[i]->client.busy()) {
      counters_.skipped_busy++;  // not duplicated; launched as soon as it finishes
    } else {
      launch(i);
    }
    // A lock statement still outstanding keeps its last answer (it ends by its deadline).
    if (election_ && !servers_[i]->lock_client->busy()) launch_lock(i);
  }
  launching_ = false;
  if (outstanding_ == 0) publish();
}

void ProbeEngine::launch(size_t i) {
  Server& s = *servers_[i];
  s.launched_round = round_;
  bool counted = !published_;
  if (counted) outstanding_++;
  bool is_writer = false;
  {
    std::lock_guard lock(writer_mu_);
    is_writer = writer_ == s.cfg.name;
  }
  std::string sql = probe_statements(parse_server_flavor(s.client.server_version()));
  bool hb_read = false;
  if (mysql_.heartbeat && is_writer) {
    if (!s.heartbeat_table_ready)
      sql += "; CREATE DATABASE IF NOT EXISTS `" + hb_db_ + "`; CREATE TABLE IF NOT EXISTS " +
             hb_table_ +
             " (server_id INT UNSIGNED NOT NULL, slot TINYINT UNSIGNED NOT NULL, ts_us BIGINT NOT "
             "NULL, PRIMARY KEY (server_id, slot))";
    sql += "; REPLACE INTO " + hb_table_ + " (server_id, slot, ts_us) VALUES (@@server_id, " +
           std::to_string(s.heartbeat_seq++ % HeartbeatLag::kSlots) + ", " +
           std::to_string(clock::unix_us()) + ")";
  } else if (mysql_.heartbeat) {
    sql += "; SELECT ts_us FROM " + hb_table_;
    hb_read = true;
  }
  uint64_t round = round_;
  s.client.run(std::move(sql), [this, i, round, counted, is_writer, hb_read](QueryOutcome&& o) {
    on_result(i, round, counted, is_writer && mysql_.heartbeat, hb_read, std::move(o));
  });
}

void ProbeEngine::launch_lock(size_t i) {
  Server& s = *servers_[i];
  const bool counted = !published_;
  if (counted) outstanding_++;
  counters_.lock_queries++;
  const uint64_t round = round_;
  s.lock_client->run(election_->statement(i), [this, i, round, counted](QueryOutcome&& o) {
    on_lock_result(i, round, counted, std::move(o));
  });
}

void ProbeEngine::on_lock_result(size_t i, uint64_t round, bool counted, QueryOutcome&& o) {
  LockObservation obs;
  if (o.ok && !o.results.empty()) {
    obs = parse_lock_result(o.results.back(), election_->peers());
  } else {
    obs.error = o.error.empty() ? "lock statement failed" : o.error;
  }
  if (!obs.answered) {
    counters_.lock_failures++;
    // Whatever went wrong, this connection must not keep a lock the tally no longer counts.
    if (servers_[i]->lock_client->connected()) servers_[i]->lock_client->close(obs.error);
    spdlog::debug("{}: lock statement: {}", servers_[i]->cfg.name, obs.error);
  }
  election_->observe(i, obs);
  round_done(round, counted, false);
}

void ProbeEngine::round_done(uint64_t round, bool counted, bool changed) {
  if (counted && round == round_ && !published_) {
    if (--outstanding_ == 0 && !launching_) publish();
  } else if (changed && published_ && !launching_) {
    publish();  // a late result changed a state: don't hold it back until the next round
  }
}

void ProbeEngine::on_result(size_t i, uint64_t round, bool counted, bool writer, bool hb_read,
                            QueryOutcome&& o) {
  Server& s = *servers_[i];
  ProbeResult r;
  r.latency_us = o.latency_us;
  // Liveness needs the variables and replication results; a failing heartbeat statement after
  // them (e.g. table not replicated yet) only loses the heartbeat.
  bool have_core = o.results.size() > kReplResult;
  if (have_core && (o.ok || !o.connect_failed)) {
    std::string err = parse_server_variables(o.results[kVarsResult], r);
    auto repl = parse_replication_status(o.results[kReplResult]);
    if (!err.empty() || !repl.ok()) {
      r.error = "unexpected probe result: " + (err.empty() ? repl.error : err);
    } else {
      r.ok = true;
      r.replication = std::move(repl.value);
      if (!r.super_read_only && o.results[kVarsResult].column({"super_read_only"}) < 0)
        r.super_read_only.reset();
    }
    if (r.ok && r.replication) {  // MariaDB reports its executed GTIDs as @@gtid_slave_pos
      const auto& vars = o.results[kVarsResult];
      int c = vars.column({"gtid_slave_pos"});
      if (r.replication->executed_gtid_set.empty() && c >= 0 && vars.rows[0][c])
        r.replication->executed_gtid_set = *vars.rows[0][c];
    }
    if (writer) {
      if (o.ok) {
        s.heartbeat_table_ready = true;
        counters_.heartbeat_writes++;
      } else {
        s.heartbeat_table_ready = false;
        spdlog::debug("{}: heartbeat write failed: {}", s.cfg.name, o.error);
      }
    }
    if (hb_read && o.ok && o.results.size() > kReplResult + 1) {
      const ResultSet& hb = o.results.back();
      std::vector<int64_t> rows;
      for (const auto& row : hb.rows) {
        if (row.empty() || !row[0]) continue;
        char* end = nullptr;
        long long v = std::strtoll(row[0]->c_str(), &end, 10);
        if (end && *end == '\0') rows.push_back(v);
      }
      r.heartbeat_lag_s = s.heartbeat_lag.observe(rows, clock::unix_us());
    }
  } else {
    r.error = o.error.empty() ? "probe failed" : o.error;
  }
  if (r.ok)
    counters_.probes_ok++;
  else
    counters_.probes_failed++;
  spdlog::debug("{}: probe {} in {} us{}{}", s.cfg.name, r.ok ? "ok" : "failed", r.latency_us,
                r.ok ? "" : ": ", r.error);
  bool changed = apply(i, r);
  round_done(round, counted, changed);
  // The probe of this server was skipped while this one was outstanding: run it now.
  if (s.launched_round < round_ && !stopping_.load() && !s.client.busy()) {
    counters_.catch_up++;
    launch(i);
  }
}

void ProbeEngine::on_lost(size_t i, const std::string& why) {
  counters_.lost_while_idle++;
  ProbeResult r;
  r.error = why;
  counters_.probes_failed++;
  if (apply(i, r) && published_) publish();
}

bool ProbeEngine::apply(size_t i, const ProbeResult& r) {
  auto u = book_.observe(i, r);
  if (u.flap_hold_started) counters_.flap_holds++;
  for (const auto& m : u.messages) {
    counters_.transitions++;
    if (u.flap_hold_started || u.flap_hold_ended)
      spdlog::warn("{}", m);
    else
      spdlog::info("{}", m);
  }
  return !u.messages.empty();
}

void ProbeEngine::publish() {
  published_ = true;
  auto snap = std::make_shared<Snapshot>(book_.build(round_));
  SnapshotPtr p = std::move(snap);
  {
    std::lock_guard lock(snapshot_mu_);
    snapshot_ = p;
  }
  if (on_round_) on_round_(p);
}

}  // namespace myspoa::probes
