#include "spoa/writer_actions/writer_actions.h"

#include "spoa/writer_actions/runtime_api.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <sstream>

#include <spdlog/spdlog.h>

#include "common/clock.h"
#include "spoa/writer_actions/majority_read_only.h"

namespace myspoa::writer_actions {
namespace {

constexpr int64_t kRetryAfterFailureMs = 1000;
// After a success the next probes must first see the new read_only before we act again.
constexpr int64_t kRetryAfterSuccessMs = 2000;
constexpr int64_t kSecondCutAfterMs = 1000;
constexpr size_t kShutdownsPerCommand = 50;
constexpr size_t kMaxJobs = 64;

}  // namespace

std::vector<ReadOnlyAction> plan_read_only(const policy::Decision& d, const probes::Snapshot& snap,
                                           const config::ClusterConfig& cluster,
                                           const std::set<std::string>& left) {
  std::vector<ReadOnlyAction> out;
  if (!d.known) return out;
  const bool fence = cluster.fence == config::ClusterConfig::Fence::ReadOnly;
  for (const auto& m : cluster.masters) {
    const auto* st = snap.find(m);
    if (!st || !st->up() || !st->last.ok) continue;  // unreachable: nothing to do (or possible)
    const bool ro = st->last.read_only;
    if (d.writer == m || d.promoting == m) {
      if (cluster.manage_read_only && ro)
        out.push_back({m, false,
                       d.writer == m ? m + " takes writes"
                                     : m + " is about to take writes (applying its relay log)"});
      continue;
    }
    if (!fence || ro) continue;
    if (!cluster.manage_read_only && !left.count(m)) continue;
    out.push_back({m, true,
                   d.writer
                       ? "writes go to " + *d.writer
                       : "writes refused (" + (d.refusal.empty() ? d.scenario : d.refusal) + ")"});
  }
  return out;
}

std::string read_only_sql(bool read_only, bool has_super_read_only) {
  if (!read_only) return "SET GLOBAL read_only = 0";  // also clears super_read_only on MySQL
  return has_super_read_only ? "SET GLOBAL read_only = 1; SET GLOBAL super_read_only = 1"
                             : "SET GLOBAL read_only = 1";
}

WriterActions::WriterActions(Execute execute, Report report)
    : execute_(std::move(execute)), report_(std::move(report)), cuts_("myspoa-cuts", kMaxJobs) {}

WriterActions::~WriterActions() {
  stop();
}

void WriterActions::stop() {
  cuts_.stop(executor::Executor::OnStop::Drop);
}

WriterActionCounters WriterActions::counters() const {
  std::lock_guard lock(mu_);
  return counters_;
}

void WriterActions::before_publish(const config::Config& cfg, const policy::Decision* previous,
                                   const policy::Decision& d, const probes::Snapshot& snap,
                                   int64_t now_ms) {
  if (previous && previous->writer && d.writer != previous->writer) left_.insert(*previous->writer);
  if (d.writer) left_.erase(*d.writer);
  const auto& cl = cfg.cluster;
  std::vector<ReadOnlyAction> plan;
  if (cl.cooperation == config::ClusterConfig::Cooperation::Majority) {
    // Only the primary changes read_only (majority_read_only.h); secondaries only watch.
    none_writable_since_ms_ =
        none_writable_since(snap, cl.masters, none_writable_since_ms_, now_ms);
    plan = plan_read_only_majority({d.known, d.role == "primary", d.target_writer, d.promoting,
                                    none_writable_since_ms_, now_ms, cfg.mysql.interval_ms},
                                   snap, cl);
  } else {
    if (cl.fence == config::ClusterConfig::Fence::None && !cl.manage_read_only) return;
    plan = plan_read_only(d, snap, cl, left_);
  }

  for (auto& a : plan) {
    {
      std::lock_guard lock(mu_);
      auto& f = sql_state_[a.server];
      // The guard only holds back the same value: the probes may not have seen the last change
      // yet. The opposite change (fenced at start, now the writer) goes out at once.
      if (f.busy || (f.last_read_only == a.read_only && now_ms < f.retry_at_ms)) continue;
      f.busy = true;
      f.last_read_only = a.read_only;
    }
    const auto* st = snap.find(a.server);
    const bool super = st && st->last.super_read_only.has_value();
    const std::string what = a.read_only ? "fencing " + a.server + ": read_only=1 (" + a.why + ")"
                                         : a.server + ": read_only=0 (" + a.why + ")";
    spdlog::warn("{}", what);
    execute_(a.server, read_only_sql(a.read_only, super),
             [this, a, what](probes::QueryOutcome&& o) {
               {
                 std::lock_guard lock(mu_);
                 auto& f = sql_state_[a.server];
                 f.busy = false;
                 f.retry_at_ms =
                     clock::steady_ms() + (o.ok ? kRetryAfterSuccessMs : kRetryAfterFailureMs);
                 if (!o.ok)
                   counters_.read_only_failures++;
                 else if (a.read_only)
                   counters_.fences++;
                 else
                   counters_.unfences++;
               }
               const std::string kind = a.read_only ? "fence" : "read-only";
               if (o.ok) {
                 report_(kind, a.server, what + ": done", false);
               } else {
                 spdlog::error("{}: failed: {}", what, o.error);
                 report_(kind, a.server, what + ": FAILED: " + o.error, true);
               }
             });
  }
}

void WriterActions::after_publish(const config::Config& cfg, const policy::Decision* previous,
                                  const policy::Decision& d, const probes::Snapshot&) {
  if (cfg.haproxy.runtime_api.empty()) return;
  if (!previous || !previous->writer || d.writer == previous->writer) return;
  // Cut even when the old writer looks down to us: a frozen server still accepts TCP, so
  // HAProxy's own check may keep its sessions hanging.
  CutJob job;
  job.sockets = cfg.haproxy.runtime_api;
  job.frontend = cfg.haproxy.write_frontend;
  job.server = *previous->writer;
  job.backend = previous->writer_backend;  // where its sessions are, even across a reload
  job.timeout_ms = cfg.haproxy.timeout_ms;
  // Two passes: now, and once more a moment later (a routing answer computed just before the
  // switch). A refused pass (queue full, stopping) counts as a runtime API failure.
  const bool first = cuts_.post([this, job] { cut(job); });
  const bool second = cuts_.post_after(kSecondCutAfterMs, [this, job] { cut(job); });
  if (!first || !second) {
    std::lock_guard lock(mu_);
    counters_.runtime_api_failures += (first ? 0 : 1) + (second ? 0 : 1);
  }
}

void WriterActions::cut(const CutJob& job) {
  for (const auto& sock : job.sockets) {
    std::string error;
    const auto text = runtime_api_command(sock, "show sess", job.timeout_ms, error);
    size_t done = 0;
    if (error.empty()) {
      const auto ids = parse_show_sess(text, job.frontend, job.backend);
      for (size_t i = 0; i < ids.size() && error.empty(); i += kShutdownsPerCommand) {
        std::string cmd;
        for (size_t k = i; k < ids.size() && k < i + kShutdownsPerCommand; ++k)
          cmd += (cmd.empty() ? "" : "; ") + std::string("shutdown session ") + ids[k];
        runtime_api_command(sock, cmd, job.timeout_ms, error);
        if (error.empty()) done += std::min(kShutdownsPerCommand, ids.size() - i);
      }
    }
    {
      std::lock_guard lock(mu_);
      counters_.session_cuts++;
      counters_.sessions_cut += done;
      if (!error.empty()) counters_.runtime_api_failures++;
    }
    if (!error.empty()) {
      spdlog::error("cutting write sessions of {} via {}: {}", job.server, sock, error);
      report_("session-cut", job.server,
              "cutting write sessions of " + job.server + " via " + sock + " failed: " + error,
              true);
    } else if (done > 0) {
      const auto msg = "cut " + std::to_string(done) + " write session(s) of " + job.server + " (" +
                       job.frontend + " -> " + job.backend + ") via " + sock;
      spdlog::warn("{}", msg);
      report_("session-cut", job.server, msg, false);
    }
  }
}

}  // namespace myspoa::writer_actions
