// The alert runner with real child processes: environment, timeout kill, bounded queue.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "spoa/alerts/alerter.h"

using myspoa::alerts::Alerter;
using myspoa::alerts::AlertEvent;

namespace {

std::string temp_dir() {
  char dir[] = "/tmp/myspoa-alerts-XXXXXX";
  REQUIRE(mkdtemp(dir));
  return dir;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

template <typename Pred>
bool wait_for(Pred p, int ms) {
  for (int i = 0; i < ms / 10; ++i) {
    if (p()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return p();
}

AlertEvent event(const std::string& command, int timeout_ms = 5000) {
  AlertEvent e;
  e.kind = "writer-change";
  e.server = "db02";
  e.message = "db01 replication broken: db02 takes writes\nsecond line";
  e.writer = "db02";
  e.scenario = "db01-replication-broken";
  e.unix_ms = 1700000000123;
  e.command = command;
  e.timeout_ms = timeout_ms;
  return e;
}

}  // namespace

TEST_CASE("alerts: the command gets the event in its environment") {
  const auto dir = temp_dir();
  const auto script = dir + "/alert.sh";
  const auto out = dir + "/env.txt";
  {
    std::ofstream s(script);
    s << "#!/bin/sh\nenv | grep '^MYSPOA_' | sort > " << out << ".tmp && mv " << out << ".tmp "
      << out << "\n";
  }
  REQUIRE(chmod(script.c_str(), 0755) == 0);
  Alerter a(8);
  CHECK(a.post(event(script)));
  REQUIRE(wait_for([&] { return a.counters().succeeded == 1; }, 5000));
  const auto env = slurp(out);
  CHECK(env.find("MYSPOA_EVENT_KIND=writer-change\n") != std::string::npos);
  CHECK(env.find("MYSPOA_EVENT_SERVER=db02\n") != std::string::npos);
  CHECK(env.find("MYSPOA_EVENT_MESSAGE=db01 replication broken: db02 takes writes second line\n") !=
        std::string::npos);
  CHECK(env.find("MYSPOA_WRITER=db02\n") != std::string::npos);
  CHECK(env.find("MYSPOA_SCENARIO=db01-replication-broken\n") != std::string::npos);
  CHECK(env.find("MYSPOA_EVENT_TIME=2023-11-14T22:13:20.123Z\n") != std::string::npos);
  a.stop();
  std::remove(out.c_str());
  std::remove(script.c_str());
  rmdir(dir.c_str());
}

// Size of a file, 0 when it does not exist.
static size_t file_size(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<size_t>(st.st_size) : 0;
}

TEST_CASE("alerts: a hung command is killed at its timeout and the next one still runs") {
  const auto dir = temp_dir();
  const auto marker = dir + "/after";
  const auto ticks = dir + "/ticks";
  Alerter a(8);
  const auto t0 = std::chrono::steady_clock::now();
  // The shell starts a background loop that writes every 20 ms and waits for it: only killing
  // the whole process group stops the loop (killing the shell alone leaves it running; bounded
  // to ~10 s so a broken kill leaves no process behind for long).
  REQUIRE(a.post(event("(i=0; while [ $i -lt 500 ]; do echo tick >> " + ticks +
                           "; sleep 0.02; i=$((i+1)); done) & wait",
                       500)));
  REQUIRE(a.post(event("touch " + marker)));
  // The loop really ran before the timeout: otherwise "no more ticks" below proves nothing.
  REQUIRE(wait_for([&] { return file_size(ticks) > 0; }, 2000));
  REQUIRE(wait_for([&] { return a.counters().succeeded == 1; }, 5000));
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  CHECK(a.counters().timed_out == 1);
  CHECK(ms < 3000);
  CHECK(access(marker.c_str(), F_OK) == 0);
  // Killed: the file stops growing (ten write periods later it is the same size).
  const size_t after_kill = file_size(ticks);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK(file_size(ticks) == after_kill);
  a.stop();
  std::remove(marker.c_str());
  std::remove(ticks.c_str());
  rmdir(dir.c_str());
}

TEST_CASE("alerts: post never blocks; a full queue drops and counts") {
  Alerter a(2);
  const auto t0 = std::chrono::steady_clock::now();
  int accepted = 0;
  for (int i = 0; i < 10; ++i) accepted += a.post(event("sleep 10", 10000)) ? 1 : 0;
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  CHECK(ms < 200);
  // One may already be running (taken off the queue), two queued; the rest dropped.
  CHECK(accepted >= 2);
  CHECK(accepted <= 3);
  CHECK(a.counters().dropped == static_cast<uint64_t>(10 - accepted));
  const auto t1 = std::chrono::steady_clock::now();
  a.stop();  // kills the running command, drops the queue
  CHECK(std::chrono::steady_clock::now() - t1 < std::chrono::seconds(2));
  CHECK(a.counters().timed_out == 0);
}

TEST_CASE("alerts: an empty command is ignored; a failing command is counted") {
  Alerter a(4);
  CHECK(a.post(event("")));
  CHECK(a.counters().posted == 0);
  REQUIRE(a.post(event("exit 3")));
  REQUIRE(wait_for([&] { return a.counters().failed == 1; }, 5000));
  a.stop();
}
