// Helpers of the HAProxy interop test: loopback listeners, a banner server per backend, a client
// that reads a banner, HAProxy's runtime API, HAProxy as a child process. Every wait is bounded.
#pragma once
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace interop {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// The HAProxy under test: $MYSPOA_HAPROXY (tests/interop/with-haproxy.sh sets it to the 3.0 or 3.2
// wrapper), else the system's 2.6.
inline std::string haproxy_binary() {
  const char* env = std::getenv("MYSPOA_HAPROXY");
  return env != nullptr && *env != '\0' ? env : "/usr/sbin/haproxy";
}

inline int listen_loopback(uint16_t& port) {
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

inline int connect_loopback(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// A free port for HAProxy's frontend: bound then released (tiny race, loopback only).
inline uint16_t free_port() {
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
inline std::string fetch_banner(uint16_t port, std::chrono::milliseconds& elapsed,
                                int timeout_ms = 3000) {
  const auto t0 = Clock::now();
  std::string out;
  const int fd = connect_loopback(port);
  if (fd >= 0) {
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
    ::close(fd);
  }
  elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
  return out;
}

inline std::string fetch_banner(uint16_t port) {
  std::chrono::milliseconds ignored{};
  return fetch_banner(port, ignored);
}

// One command on HAProxy's runtime API socket; "" if unreachable.
inline std::string haproxy_command(const fs::path& sock, const std::string& cmd) {
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

// The check status of be_myspoa_agent/agent1 from "show stat" (CSV column "status"), e.g. "UP",
// "DOWN", "UP 1/2".
inline std::string agent_status(const fs::path& sock) {
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

inline bool eventually(const std::function<bool()>& cond, std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return cond();
}

inline std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size()))
    s.replace(p, from.size(), to);
  return s;
}

inline std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// HAProxy in the foreground (-db), killed by pid at the end. The wrappers of
// tests/interop/haproxy-versions.sh exec HAProxy, so the pid is HAProxy's.
class HaproxyProcess {
 public:
  HaproxyProcess(const std::string& binary, const fs::path& cfg, const fs::path& log) {
    pid_ = ::fork();
    if (pid_ == 0) {
      const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(out, 1);
      ::dup2(out, 2);
      ::execl(binary.c_str(), binary.c_str(), "-db", "-f", cfg.c_str(),
              static_cast<char*>(nullptr));
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
  HaproxyProcess(const HaproxyProcess&) = delete;
  HaproxyProcess& operator=(const HaproxyProcess&) = delete;
  bool alive() const { return pid_ > 0 && ::waitpid(pid_, nullptr, WNOHANG) == 0; }

 private:
  pid_t pid_ = -1;
};

// "HAProxy version 3.2.26-1 2025/..." -> "3.2.26-1"; "" when the binary does not run.
inline std::string haproxy_version(const std::string& binary) {
  const std::string cmd = "'" + binary + "' -v 2>/dev/null";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return "";
  char buf[256] = {};
  char rest[256];
  const bool got = std::fgets(buf, sizeof buf, p) != nullptr;
  while (std::fgets(rest, sizeof rest, p) != nullptr) {
  }
  ::pclose(p);
  if (!got) return "";
  std::istringstream in(buf);
  std::string a, b, v;
  in >> a >> b >> v;
  return a == "HAProxy" && b == "version" ? v : "";
}

}  // namespace interop
