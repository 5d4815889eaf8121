// failover_probe: measures how long after a fault on a MySQL server the first new client connection
// through an HAProxy frontend lands on the expected server. It sends the fault itself (SIGKILL =
// `labctl crash`, SIGSTOP = `labctl freeze`) to the pid in --pidfile so that t0 is the exact
// instant of the signal, then starts a new connection every --interval-ms, each in its own thread
// (a connection routed to a frozen server hangs until its timeout; the next ones must not wait for
// it), and stops at the first connection whose SELECT @@server_id returns --want.
// --signal none only waits (used to wait for failback between trials).
// Output (one line): "landed_ms=<t> started_ms=<t> attempts=<n> errors=<n> other=<n>"
// where landed is when that connection got its answer and started when it was opened, both
// relative to the signal; exit 1 when nothing landed before --timeout-ms.
#include <mysql.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string host = "127.0.0.1";
  unsigned port = 13306;
  std::string user = "myspoa";
  std::string password = "myspoa";
  std::string pidfile;
  std::string match;  // /proc/<pid>/cmdline must contain it (it is our mariadbd)
  std::string signal = "none";
  unsigned want = 2;
  unsigned interval_ms = 20;
  unsigned timeout_ms = 10000;
};

struct Attempt {
  int64_t started_us = 0;
  int64_t done_us = -1;
  unsigned server_id = 0;  // 0: error
};

int64_t since_us(Clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count();
}

// One connection; fills the attempt (done_us set last, under the lock).
void connect_once(const Options& o, Clock::time_point t0, Attempt& a, std::mutex& mu) {
  unsigned sid = 0;
  MYSQL* c = mysql_init(nullptr);
  if (c != nullptr) {
    unsigned t = 1;  // seconds: the smallest Connector/C timeout
    mysql_options(c, MYSQL_OPT_CONNECT_TIMEOUT, &t);
    mysql_options(c, MYSQL_OPT_READ_TIMEOUT, &t);
    mysql_options(c, MYSQL_OPT_WRITE_TIMEOUT, &t);
    if (mysql_real_connect(c, o.host.c_str(), o.user.c_str(), o.password.c_str(), nullptr, o.port,
                           nullptr, 0) != nullptr &&
        mysql_query(c, "SELECT @@server_id") == 0) {
      if (MYSQL_RES* res = mysql_store_result(c)) {
        MYSQL_ROW row = mysql_fetch_row(res);
        if (row != nullptr && row[0] != nullptr) sid = static_cast<unsigned>(std::stoul(row[0]));
        mysql_free_result(res);
      }
    }
    mysql_close(c);
  }
  std::lock_guard lock(mu);
  a.server_id = sid;
  a.done_us = since_us(t0);
}

bool read_pid(const Options& o, pid_t& pid) {
  std::ifstream f(o.pidfile);
  long v = 0;
  if (!(f >> v) || v <= 1) {
    std::fprintf(stderr, "failover_probe: no pid in %s\n", o.pidfile.c_str());
    return false;
  }
  std::ifstream cmd("/proc/" + std::to_string(v) + "/cmdline");
  std::string args((std::istreambuf_iterator<char>(cmd)), std::istreambuf_iterator<char>());
  if (args.find(o.match) == std::string::npos) {
    std::fprintf(stderr, "failover_probe: pid %ld is not '%s'\n", v, o.match.c_str());
    return false;
  }
  pid = static_cast<pid_t>(v);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"Time from a fault (signal) to the first connection landing on the expected server"};
  app.add_option("--host", o.host, "HAProxy frontend address (loopback)");
  app.add_option("--port", o.port, "HAProxy frontend port");
  app.add_option("--user", o.user);
  app.add_option("--password", o.password);
  app.add_option("--pidfile", o.pidfile, "pid file of the server to signal");
  app.add_option("--match", o.match, "string the server's command line must contain");
  app.add_option("--signal", o.signal, "KILL, STOP or none")
      ->check(CLI::IsMember({"KILL", "STOP", "none"}));
  app.add_option("--want", o.want, "server_id that means 'rerouted'")->required();
  app.add_option("--interval-ms", o.interval_ms, "new connection every ...")
      ->check(CLI::Range(5u, 1000u));
  app.add_option("--timeout-ms", o.timeout_ms, "give up after ...")
      ->check(CLI::Range(100u, 300000u));
  CLI11_PARSE(app, argc, argv);
  if (mysql_library_init(0, nullptr, nullptr) != 0) return 2;

  pid_t pid = 0;
  if (o.signal != "none") {
    if (o.pidfile.empty() || o.match.empty()) {
      std::fprintf(stderr, "failover_probe: --signal needs --pidfile and --match\n");
      return 2;
    }
    if (!read_pid(o, pid)) return 2;
  }

  const auto t0 = Clock::now();
  if (pid > 0 && ::kill(pid, o.signal == "KILL" ? SIGKILL : SIGSTOP) != 0) {
    std::perror("failover_probe: kill");
    return 2;
  }

  std::mutex mu;
  std::vector<std::unique_ptr<Attempt>> attempts;
  std::vector<std::thread> threads;
  const Attempt* landed = nullptr;
  const size_t max_attempts = o.timeout_ms / o.interval_ms + 1;
  auto next = t0;
  while (landed == nullptr && attempts.size() < max_attempts &&
         Clock::now() - t0 < std::chrono::milliseconds(o.timeout_ms)) {
    attempts.push_back(std::make_unique<Attempt>());
    Attempt& a = *attempts.back();
    a.started_us = since_us(t0);
    threads.emplace_back(connect_once, std::cref(o), t0, std::ref(a), std::ref(mu));
    next += std::chrono::milliseconds(o.interval_ms);
    // Until the next start, watch for a connection that landed on the wanted server.
    while (landed == nullptr && Clock::now() < next) {
      {
        std::lock_guard lock(mu);
        for (const auto& p : attempts)
          if (p->done_us >= 0 && p->server_id == o.want &&
              (landed == nullptr || p->done_us < landed->done_us))
            landed = p.get();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  // Every attempt ends within its own timeouts (a few seconds at most).
  for (auto& t : threads) t.join();
  unsigned errors = 0, other = 0;
  for (const auto& p : attempts) {
    if (p->server_id == 0)
      ++errors;
    else if (p->server_id != o.want)
      ++other;
  }
  if (landed == nullptr) {
    std::printf("landed_ms=none attempts=%zu errors=%u other=%u\n", attempts.size(), errors, other);
    return 1;
  }
  std::printf("landed_ms=%.1f started_ms=%.1f attempts=%zu errors=%u other=%u\n",
              landed->done_us / 1000.0, landed->started_us / 1000.0, attempts.size(), errors,
              other);
  mysql_library_end();
  return 0;
}
