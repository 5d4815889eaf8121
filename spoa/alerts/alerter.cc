#include "spoa/alerts/alerter.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <ctime>
#include <thread>

#include <spdlog/spdlog.h>

#include "common/clock.h"

extern char** environ;

namespace myspoa::alerts {
namespace {

std::string one_line(std::string s) {
  for (auto& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

std::string iso_utc(int64_t unix_ms) {
  const time_t secs = static_cast<time_t>(unix_ms / 1000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[40];
  const size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(unix_ms % 1000));
  return buf;
}

}  // namespace

Alerter::Alerter(size_t queue_size) : executor_("myspoa-alerts", queue_size ? queue_size : 1) {}

Alerter::~Alerter() {
  stop();
}

void Alerter::stop() {
  const size_t dropped = executor_.stop(executor::Executor::OnStop::Drop);
  std::lock_guard lock(mu_);
  counters_.dropped += dropped;
}

bool Alerter::post(AlertEvent e) {
  if (e.command.empty()) return true;
  const bool queued = executor_.post([this, e = std::move(e)] { run_one(e); });
  std::lock_guard lock(mu_);
  (queued ? counters_.posted : counters_.dropped)++;
  return queued;
}

AlertCounters Alerter::counters() const {
  std::lock_guard lock(mu_);
  return counters_;
}

std::vector<std::string> Alerter::event_environment(const AlertEvent& e) {
  return {
      "MYSPOA_EVENT_KIND=" + one_line(e.kind),       "MYSPOA_EVENT_SERVER=" + one_line(e.server),
      "MYSPOA_EVENT_MESSAGE=" + one_line(e.message), "MYSPOA_EVENT_TIME=" + iso_utc(e.unix_ms),
      "MYSPOA_WRITER=" + one_line(e.writer),         "MYSPOA_SCENARIO=" + one_line(e.scenario),
  };
}

void Alerter::run_one(const AlertEvent& e) {
  // The agent's environment minus inherited MYSPOA_EVENT_* etc., plus the event.
  std::vector<std::string> env;
  for (char** p = environ; p && *p; ++p) {
    const std::string_view kv(*p);
    if (kv.starts_with("MYSPOA_EVENT_") || kv.starts_with("MYSPOA_WRITER=") ||
        kv.starts_with("MYSPOA_SCENARIO="))
      continue;
    env.emplace_back(kv);
  }
  for (auto& v : event_environment(e)) env.push_back(std::move(v));
  std::vector<char*> envp;
  for (auto& v : env) envp.push_back(v.data());
  envp.push_back(nullptr);

  std::string sh = "/bin/sh", dash_c = "-c", cmd = e.command;
  char* argv[] = {sh.data(), dash_c.data(), cmd.data(), nullptr};

  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Own process group (killed as a whole on timeout), default signal mask and dispositions: the
  // agent blocks SIGTERM/SIGINT/SIGHUP in every thread and ignores SIGPIPE.
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGHUP);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);

  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &fa, &attr, argv, envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    spdlog::error("alert {}: cannot run '{}': {}", e.kind, e.command, std::strerror(rc));
    std::lock_guard lock(mu_);
    counters_.failed++;
    return;
  }

  // Polling waitpid keeps this bounded without signals or extra threads; alerts are rare.
  const int64_t deadline = clock::steady_ms() + e.timeout_ms;
  int status = 0;
  bool timed_out = false, stopping = false;
  for (;;) {
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid || (r < 0 && errno != EINTR)) break;
    stopping = executor_.stopping();
    if (clock::steady_ms() >= deadline || stopping) {
      timed_out = !stopping;
      kill(-pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::lock_guard lock(mu_);
  if (timed_out) {
    counters_.timed_out++;
    spdlog::warn("alert {}: '{}' killed after {} ms", e.kind, e.command, e.timeout_ms);
  } else if (stopping) {
    counters_.failed++;
  } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    counters_.succeeded++;
    spdlog::debug("alert {}: '{}' done", e.kind, e.command);
  } else {
    counters_.failed++;
    spdlog::warn("alert {}: '{}' failed ({} {})", e.kind, e.command,
                 WIFEXITED(status) ? "exit status" : "signal",
                 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
  }
}

}  // namespace myspoa::alerts
