#include "consistency/consistency_scheduler.h"

#include <ctime>

#include <spdlog/spdlog.h>

#include "common/clock.h"

namespace myspoa::consistency {

namespace {
constexpr int64_t kTickMs = 1000;

bool parse_hhmm(const std::string& t, int& minutes) {
  if (t.size() != 5 || t[2] != ':') return false;
  for (int i : {0, 1, 3, 4})
    if (t[i] < '0' || t[i] > '9') return false;
  const int h = (t[0] - '0') * 10 + (t[1] - '0');
  const int m = (t[3] - '0') * 10 + (t[4] - '0');
  if (h > 23 || m > 59) return false;
  minutes = h * 60 + m;
  return true;
}

struct LocalNow {
  int minute = 0;
  std::string day;  // date of the window's start
};

LocalNow local_now(int start_min) {
  const auto now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  LocalNow out;
  out.minute = tm.tm_hour * 60 + tm.tm_min;
  // Inside a window that spans midnight, after midnight the window began yesterday.
  std::time_t day_of = now;
  if (out.minute < start_min) day_of -= 24 * 3600;
  std::tm d{};
  localtime_r(&day_of, &d);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &d);
  out.day = buf;
  return out;
}
}  // namespace

bool parse_window(const std::string& window, int& start_min, int& end_min) {
  const auto dash = window.find('-');
  if (dash == std::string::npos) return false;
  return parse_hhmm(window.substr(0, dash), start_min) &&
         parse_hhmm(window.substr(dash + 1), end_min);
}

bool in_window(int start_min, int end_min, int minute) {
  if (start_min == end_min) return true;
  if (start_min < end_min) return minute >= start_min && minute < end_min;
  return minute >= start_min || minute < end_min;  // spans midnight
}

ConsistencyScheduler::ConsistencyScheduler(config::Config config, WriterSource writer_source,
                                           VerdictCallback on_verdict, RunnerOptions options)
    : config_(config),
      on_verdict_(std::move(on_verdict)),
      runner_(std::move(config), std::move(writer_source), options) {}

ConsistencyScheduler::~ConsistencyScheduler() {
  stop();
}

void ConsistencyScheduler::start() {
  std::lock_guard lock(mu_);
  if (started_) return;
  started_ = true;
  stopping_ = false;
  const auto& k = config_.consistency;
  if (k.interval_s > 0) next_due_ = clock::unix_ms() + int64_t{k.interval_s} * 1000;
  ticks_.post_after(kTickMs, [this] { tick(); });
}

void ConsistencyScheduler::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    cancel_ = true;
  }
  cv_.notify_all();
  ticks_.stop();
  runs_.stop();  // waits for a run in progress to see cancel_
}

std::string ConsistencyScheduler::run_now() {
  std::lock_guard lock(mu_);
  if (stopping_) return "the agent is stopping";
  if (running_) return "a consistency run is already in progress";
  launch(false);
  return "";
}

bool ConsistencyScheduler::cancel() {
  if (!running_) return false;
  cancel_ = true;
  return true;
}

std::optional<Report> ConsistencyScheduler::last_report() const {
  std::lock_guard lock(mu_);
  return last_report_;
}

bool ConsistencyScheduler::wait_idle(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [this] { return !running_.load(); });
}

void ConsistencyScheduler::launch(bool window_run) {
  running_ = true;
  cancel_ = false;
  window_run_ = window_run;
  // Never refused while running_ was false (the queue is empty) unless stopping.
  if (!runs_.post([this, window_run] { execute(window_run); })) running_ = false;
}

void ConsistencyScheduler::execute(bool window_run) {
  spdlog::info("consistency check {}{}", runner_.has_resume_point() ? "resumed" : "started",
               window_run ? " (daily window)" : "");
  auto report = runner_.run(cancel_);
  if (report.complete) {
    spdlog::info(
        "consistency check finished in {:.1f} s: {} tables, {} rows, {} chunks, {} skipped",
        report.seconds, report.tables_checked, report.rows_checked, report.chunks,
        report.skipped.size());
  } else {
    spdlog::warn("consistency check stopped after {:.1f} s: {}", report.seconds, report.error);
  }
  for (const auto& s : report.skipped)
    spdlog::warn("consistency check skipped {}: {}", s.table, s.reason);
  for (const auto& e : report.errors) spdlog::warn("consistency check: {}", e);
  publish_verdicts(report);
  {
    std::lock_guard lock(mu_);
    last_report_ = std::move(report);
    running_ = false;
  }
  runs_finished_.fetch_add(1);
  cv_.notify_all();
}

void ConsistencyScheduler::publish_verdicts(const Report& report) {
  for (const auto& r : report.replicas) {
    // Drift found is real even in a partial run; "consistent" needs every table checked.
    if (r.state == ReplicaState::Inconsistent) {
      spdlog::error("{}", r.verdict_text());
      if (on_verdict_) on_verdict_(r.name, true);
    } else if (r.state == ReplicaState::Consistent && report.complete) {
      spdlog::info("{}", r.verdict_text());
      if (on_verdict_) on_verdict_(r.name, false);
    } else if (r.state == ReplicaState::Error) {
      spdlog::warn("{}", r.verdict_text());
    }
  }
}

void ConsistencyScheduler::tick() {
  const auto& k = config_.consistency;
  int wstart = 0, wend = 0;
  const bool window = !k.window.empty() && parse_window(k.window, wstart, wend);
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    if (window) {
      const auto now = local_now(wstart);
      const bool inside = in_window(wstart, wend, now.minute);
      // A window run that outlives its window is cancelled; the next window resumes it.
      if (!inside && running_ && window_run_) cancel_ = true;
      if (k.enabled && inside && !running_ && now.day != last_window_day_) {
        last_window_day_ = now.day;
        launch(true);
      }
    } else if (k.enabled && k.interval_s > 0 && !running_ && clock::unix_ms() >= next_due_) {
      next_due_ = clock::unix_ms() + int64_t{k.interval_s} * 1000;
      launch(false);
    }
  }
  ticks_.post_after(kTickMs, [this] { tick(); });
}

using Kind = ConsistencyScheduler::RequestResult::Kind;

ConsistencyScheduler::RequestResult ConsistencyScheduler::request_run() {
  const bool resuming = runner_.has_resume_point();
  const auto why = run_now();
  if (!why.empty()) return {Kind::Refused, {{"started", false}, {"error", why}}};
  return {Kind::Started, {{"started", true}, {"resumed", resuming}}};
}

ConsistencyScheduler::RequestResult ConsistencyScheduler::request_cancel() {
  if (!cancel())
    return {Kind::Refused, {{"cancelled", false}, {"error", "no consistency run in progress"}}};
  return {Kind::Started,
          {{"cancelled", true},
           {"note", "the run stops after its current chunk; run again to resume"}}};
}

ConsistencyScheduler::RequestResult ConsistencyScheduler::request_report() const {
  const auto r = last_report();
  if (!r) return {Kind::NotFound, {{"error", "no consistency run has finished yet"}}};
  return {Kind::Ok, consistency::to_json(*r)};
}

std::map<std::string, std::string> ConsistencyScheduler::verdicts() const {
  std::map<std::string, std::string> out;
  const auto r = last_report();
  if (!r) return out;
  for (const auto& x : r->replicas) out[x.name] = to_string(x.state);
  return out;
}

nlohmann::json ConsistencyScheduler::to_json() const {
  const auto& k = config_.consistency;
  nlohmann::json j{{"enabled", k.enabled},
                   {"interval_s", k.interval_s},
                   {"window", k.window},
                   {"on_inconsistent", k.drain_on_inconsistent ? "drain" : "flag"},
                   {"schema_table", k.schema_table},
                   {"running", running_.load()},
                   {"resume_pending", !running_.load() && runner_.has_resume_point()},
                   {"runs_finished", runs_finished_.load()},
                   {"progress", consistency::to_json(runner_.progress())}};
  std::lock_guard lock(mu_);
  j["last_report"] = last_report_ ? consistency::to_json(*last_report_) : nlohmann::json();
  if (k.enabled && k.interval_s > 0) j["next_run_unix_ms"] = next_due_;
  return j;
}

}  // namespace myspoa::consistency
