// Interop with the real Debian HAProxy 2.6 (/usr/sbin/haproxy): a SpopServer with a routing
// handler, two banner servers ("A", "B") and HAProxy with the SPOE filter, all on free loopback
// ports. Proves routing by the agent's answer, the spop-check health check, and the fallback to the
// default backend once the agent stops. Every wait is bounded; the whole test takes ~10 s.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

#include "spoa/server/spop_server.h"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kHaproxy = "/usr/sbin/haproxy";

// Answers every NOTIFY with sess.myspoa.backend = the backend currently chosen by the test.
class RoutingHandler : public myspoa::server::NotifyHandler {
 public:
  void on_notify(const myspoa::spop::Notify& notify, myspoa::spop::AckWriter& ack, int) override {
    std::lock_guard lock(mu_);
    for (const auto& m : notify.messages) {
      const auto* intent = notify.arg(m, "intent");
      if (m.name == "myspoa-route" && intent && intent->str == "write") seen_write_.store(true);
    }
    ack.set_var(myspoa::spop::Scope::Sess, "backend", myspoa::spop::TypedValue::string(backend_));
  }
  void route_to(std::string backend) {
    std::lock_guard lock(mu_);
    backend_ = std::move(backend);
  }
  bool seen_write() const { return seen_write_.load(); }

 private:
  std::mutex mu_;
  std::string backend_ = "be_a";
  std::atomic<bool> seen_write_{false};
};

int listen_loopback(uint16_t& port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 64) != 0) {
    ::close(fd);
    return -1;
  }
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  port = ntohs(a.sin_port);
  return fd;
}

// A free port for HAProxy's frontend: bound then released (tiny race, loopback only).
uint16_t free_port() {
  uint16_t port = 0;
  const int fd = listen_loopback(port);
  ::close(fd);
  return port;
}

// Writes `banner` to every connection and closes it.
class BannerServer {
 public:
  explicit BannerServer(std::string banner) : banner_(std::move(banner)) {
    fd_ = listen_loopback(port_);
    thread_ = std::thread([this] { run(); });
  }
  ~BannerServer() {
    stop_.store(true);
    thread_.join();
    ::close(fd_);
  }
  uint16_t port() const { return port_; }
  int served() const { return served_.load(); }

 private:
  void run() {
    while (!stop_.load()) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      (void)::send(c, banner_.data(), banner_.size(), MSG_NOSIGNAL);
      ::close(c);
      served_.fetch_add(1);
    }
  }
  std::string banner_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> served_{0};
  std::thread thread_;
};

// Connects to HAProxy's frontend and reads until EOF; "" on failure; `elapsed` is the total time.
std::string fetch_banner(uint16_t port, std::chrono::milliseconds& elapsed, int timeout_ms = 3000) {
  const auto t0 = Clock::now();
  std::string out;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    const auto deadline = t0 + std::chrono::milliseconds(timeout_ms);
    while (Clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (::poll(&p, 1, static_cast<int>(std::max<long>(left, 1))) <= 0) continue;
      char buf[64];
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
  return out;
}

std::string fetch_banner(uint16_t port) {
  std::chrono::milliseconds ignored{};
  return fetch_banner(port, ignored);
}

// One command on HAProxy's runtime API socket; "" if unreachable.
std::string haproxy_command(const fs::path& sock, const std::string& cmd) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s", sock.c_str());
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    const std::string line = cmd + "\n";
    (void)::send(fd, line.data(), line.size(), MSG_NOSIGNAL);
    const auto deadline = Clock::now() + 2s;
    while (Clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char buf[4096];
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  return out;
}

// The check status of agent1 from "show stat" (CSV column "status"), e.g. "UP", "DOWN", "UP 1/2".
std::string agent_status(const fs::path& sock) {
  std::istringstream csv(haproxy_command(sock, "show stat"));
  std::string line;
  int status_col = -1;
  while (std::getline(csv, line)) {
    std::vector<std::string> cols;
    std::stringstream ls(line);
    std::string c;
    while (std::getline(ls, c, ',')) cols.push_back(c);
    if (!line.empty() && line[0] == '#') {
      for (size_t i = 0; i < cols.size(); ++i)
        if (cols[i] == "status") status_col = static_cast<int>(i);
      continue;
    }
    if (status_col >= 0 && cols.size() > static_cast<size_t>(status_col) && cols.size() > 1 &&
        cols[0] == "be_myspoa_agent" && cols[1] == "agent1") {
      return cols[static_cast<size_t>(status_col)];
    }
  }
  return "";
}

bool eventually(const std::function<bool()>& cond, std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return cond();
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size()))
    s.replace(p, from.size(), to);
  return s;
}

// HAProxy in the foreground (-db), killed by pid at the end.
class HaproxyProcess {
 public:
  HaproxyProcess(const fs::path& cfg, const fs::path& log) {
    pid_ = ::fork();
    if (pid_ == 0) {
      const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(out, 1);
      ::dup2(out, 2);
      ::execl(kHaproxy, kHaproxy, "-db", "-f", cfg.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  ~HaproxyProcess() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 40; ++i) {  // 2 s, then SIGKILL
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) return;
      std::this_thread::sleep_for(50ms);
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  bool alive() const { return pid_ > 0 && ::waitpid(pid_, nullptr, WNOHANG) == 0; }

 private:
  pid_t pid_ = -1;
};

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("HAProxy 2.6 routes by the agent's answer, health-checks it, falls back when it stops",
          "[haproxy]") {
  REQUIRE(fs::exists(kHaproxy));
  char tmpl[] = "/tmp/myspoa-spop-haproxy-XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  const fs::path dir = tmpl;

  RoutingHandler handler;
  myspoa::server::SpopServerOptions o;
  o.host = "127.0.0.1";
  o.port = 0;
  o.threads = 2;
  myspoa::server::SpopServer agent(o, handler);
  std::string error;
  REQUIRE(agent.start(error));

  BannerServer a("A"), b("B");
  const uint16_t fe_port = free_port();
  std::string cfg = read_file(fs::path(MYSPOA_INTEROP_DIR) / "haproxy.cfg.in");
  cfg = replace_all(cfg, "@DIR@", dir.string());
  cfg = replace_all(cfg, "@FE_PORT@", std::to_string(fe_port));
  cfg = replace_all(cfg, "@A_PORT@", std::to_string(a.port()));
  cfg = replace_all(cfg, "@B_PORT@", std::to_string(b.port()));
  cfg = replace_all(cfg, "@AGENT_PORT@", std::to_string(agent.port()));
  std::ofstream(dir / "haproxy.cfg") << cfg;
  fs::copy_file(fs::path(MYSPOA_INTEROP_DIR) / "myspoa.spoe.conf", dir / "myspoa.spoe.conf");

  {
    HaproxyProcess haproxy(dir / "haproxy.cfg", dir / "haproxy.log");
    const fs::path sock = dir / "haproxy.sock";
    const bool up = eventually([&] { return !agent_status(sock).empty(); }, 5s);
    INFO("haproxy output:\n" << read_file(dir / "haproxy.log"));
    REQUIRE(up);

    // 1. The spop-check health check reaches the agent and HAProxy marks it UP.
    CHECK(eventually([&] { return agent.counters().healthchecks >= 2; }, 3s));
    CHECK(eventually([&] { return agent_status(sock).rfind("UP", 0) == 0; }, 3s));

    // 2. Routing follows the agent's answer.
    handler.route_to("be_a");
    CHECK(fetch_banner(fe_port) == "A");
    CHECK(fetch_banner(fe_port) == "A");
    handler.route_to("be_b");
    CHECK(fetch_banner(fe_port) == "B");
    handler.route_to("be_a");
    CHECK(fetch_banner(fe_port) == "A");
    handler.route_to("be_does_not_exist");  // an unknown backend name falls to the default
    CHECK(fetch_banner(fe_port) == "B");
    handler.route_to("be_a");
    CHECK(handler.seen_write());
    CHECK(agent.counters().acks >= 5);
    CHECK(agent.counters().protocol_errors == 0);
    CHECK(a.served() == 3);

    // 3. Agent stopped: the default backend answers within a couple of seconds, nobody hangs.
    agent.stop();
    const auto t_stop = Clock::now();
    int fallbacks = 0;
    std::chrono::milliseconds worst{0};
    for (int i = 0; i < 10; ++i) {
      std::chrono::milliseconds took{};
      const std::string got = fetch_banner(fe_port, took, 3000);
      worst = std::max(worst, took);
      if (got == "B") ++fallbacks;
      INFO("connection " << i << " got '" << got << "' in " << took.count() << " ms");
      CHECK(!got.empty());  // no hang, no dropped client
      std::this_thread::sleep_for(100ms);
    }
    std::printf("after agent stop: %d/10 connections fell back to B, slowest %lld ms\n", fallbacks,
                static_cast<long long>(worst.count()));
    CHECK(fallbacks == 10);
    CHECK(worst < 1500ms);
    // The health check notices within fall (2) x inter (500 ms) plus slack.
    CHECK(eventually([&] { return agent_status(sock).rfind("DOWN", 0) == 0; }, 3s));
    std::printf(
        "agent marked %s after %lld ms\n", agent_status(sock).c_str(),
        static_cast<long long>(
            std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t_stop).count()));
    CHECK(Clock::now() - t_stop < 5s);
    std::chrono::milliseconds took{};
    CHECK(fetch_banner(fe_port, took) == "B");
    CHECK(took < 200ms);  // agent known DOWN: the SPOE is skipped at once
    CHECK(haproxy.alive());
  }
  if (std::getenv("MYSPOA_KEEP_TMP") == nullptr) fs::remove_all(dir);
}
