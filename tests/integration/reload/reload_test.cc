// Configuration reload on the real agent binary: SIGHUP with a sixth server keeps an open SPOP
// connection serving; a broken file is refused and the running configuration keeps serving.
// No MySQL needed: the servers point at closed loopback ports, so every probe fails fast.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/unit/server/haproxy_peer.h"

using myspoa::testing::Client;
using myspoa::testing::decode_ack;
using myspoa::testing::Frame;

namespace {

uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

std::string config_text(uint16_t spop, uint16_t refusal, uint16_t admin, bool sixth) {
  std::ostringstream y;
  y << "agent: { listen: \"127.0.0.1:" << spop << "\", refusal_listen: \"127.0.0.1:" << refusal
    << "\", threads: 2 }\n"
    << "admin: { listen: \"127.0.0.1:" << admin << "\" }\n"
    << "mysql: { user: myspoa, password: reload-test-secret, interval_ms: 100 }\n"
    << "cluster:\n  masters: [db01, db02]\n  servers:\n"
    << "    - { name: db01, address: \"127.0.0.1:1\" }\n"
    << "    - { name: db02, address: \"127.0.0.1:2\" }\n"
    << "    - { name: db03, address: \"127.0.0.1:3\", replica_of: db01 }\n"
    << "    - { name: db04, address: \"127.0.0.1:4\", replica_of: db01 }\n"
    << "    - { name: db05, address: \"127.0.0.1:5\", replica_of: db02 }\n";
  if (sixth) y << "    - { name: db06, address: \"127.0.0.1:6\", replica_of: db02 }\n";
  return y.str();
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool wait_for_log(const std::string& path, const std::string& needle, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (read_file(path).find(needle) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

// One NOTIFY on an open connection; returns the backend the agent chose ("" on failure).
std::string route(Client& c, uint64_t stream) {
  if (!c.send(myspoa::testing::notify_frame(stream, 1, "write"))) return "";
  const auto f = c.read_frame();
  if (!f || f->header.type != myspoa::spop::FrameType::Ack || f->header.stream_id != stream)
    return "";
  const auto actions = decode_ack(f->payload);
  if (!actions) return "";
  for (const auto& a : *actions)
    if (a.name == "backend") return a.value.str;
  return "";
}

bool hello(Client& c) {
  if (!c.connected() || !c.send(myspoa::testing::haproxy_hello())) return false;
  const auto f = c.read_frame();
  return f && f->header.type == myspoa::spop::FrameType::AgentHello;
}

}  // namespace

TEST_CASE("SIGHUP reload keeps SPOP connections; a broken file is refused", "[reload]") {
  const std::string dir = "/tmp/myspoa-reload-test-" + std::to_string(::getpid());
  REQUIRE(::mkdir(dir.c_str(), 0700) == 0);
  const std::string cfg = dir + "/myspoa.yaml", log = dir + "/myspoa.log";
  const uint16_t spop = free_port(), refusal = free_port(), admin = free_port();
  write_file(cfg, config_text(spop, refusal, admin, false));

  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::execl(MYSPOA_BIN, MYSPOA_BIN, "--config", cfg.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  struct Reaper {
    pid_t pid;
    ~Reaper() {
      if (pid > 0) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
      }
    }
  } reaper{pid};

  REQUIRE(wait_for_log(log, "serving SPOP", 10000));
  Client c(spop);
  REQUIRE(hello(c));
  // Every server is down, so writes are refused (after the first probe rounds).
  REQUIRE(wait_for_log(log, "all-masters-down", 5000));
  CHECK(route(c, 1) == "be_myspoa_refuse");

  write_file(cfg, config_text(spop, refusal, admin, true));
  REQUIRE(::kill(pid, SIGHUP) == 0);
  REQUIRE(wait_for_log(log, "configuration reloaded from " + cfg + " (6 servers)", 5000));
  CHECK(route(c, 3) == "be_myspoa_refuse");       // the same connection still answers
  REQUIRE(wait_for_log(log, "db06 DOWN", 5000));  // the added server is probed

  write_file(cfg, config_text(spop, refusal, admin, true) + "bogus_key: 1\n");
  REQUIRE(::kill(pid, SIGHUP) == 0);
  REQUIRE(wait_for_log(log, "reload refused, keeping the running configuration: bogus_key", 5000));
  CHECK(route(c, 5) == "be_myspoa_refuse");
  Client fresh(spop);
  REQUIRE(hello(fresh));
  CHECK(route(fresh, 7) == "be_myspoa_refuse");

  CHECK(read_file(log).find("reload-test-secret") == std::string::npos);  // never logged

  REQUIRE(::kill(pid, SIGTERM) == 0);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  reaper.pid = 0;
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  ::unlink(cfg.c_str());
  ::unlink(log.c_str());
  ::rmdir(dir.c_str());
}
