// The real agent binary as a child process, for tests that drive it from outside (SPOP, admin
// HTTP, signals) instead of linking its internals: they keep passing when the code moves between
// folders, and the same test runs a sanitizer build of the binary unchanged.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace myspoa::testing {

// A loopback port nothing listens on right now (bound, read back, closed).
inline uint16_t free_port() {
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

inline std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

// `binary --config <dir>/myspoa.yaml`, stdout and stderr in <dir>/myspoa.log. The directory is
// /tmp/myspoa-<name>-<pid>; it is removed with the object, and a child still running is killed.
class AgentProcess {
 public:
  AgentProcess(const std::string& binary, const std::string& name, const std::string& yaml)
      : dir_("/tmp/myspoa-" + name + "-" + std::to_string(::getpid())),
        config_(dir_ + "/myspoa.yaml"),
        log_(dir_ + "/myspoa.log") {
    ::mkdir(dir_.c_str(), 0700);
    write_text(config_, yaml);
    pid_ = ::fork();
    if (pid_ == 0) {
      const int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::execl(binary.c_str(), binary.c_str(), "--config", config_.c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  AgentProcess(const AgentProcess&) = delete;
  AgentProcess& operator=(const AgentProcess&) = delete;
  ~AgentProcess() {
    if (running()) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::unlink(config_.c_str());
    ::unlink(log_.c_str());
    ::rmdir(dir_.c_str());
  }

  pid_t pid() const { return pid_; }
  bool started() const { return pid_ > 0; }
  bool running() const { return pid_ > 0 && !reaped_; }
  const std::string& config_path() const { return config_; }
  std::string log() const { return read_text(log_); }
  void rewrite_config(const std::string& yaml) const { write_text(config_, yaml); }
  bool signal(int sig) const { return running() && ::kill(pid_, sig) == 0; }

  // Polls the log until it holds `needle` (after byte `from`), the child exits or time runs out.
  bool wait_for_log(const std::string& needle, int timeout_ms, size_t from = 0) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      const auto text = log();
      if (text.size() > from && text.find(needle, from) != std::string::npos) return true;
      if (exited()) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  // SIGTERM, then the exit status (waits at most timeout_ms; -1 when it had to be killed).
  int stop(int timeout_ms = 10000) {
    if (!running()) return status_;
    ::kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      if (exited()) return status_;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    reaped_ = true;
    status_ = -1;
    return status_;
  }

  // True once the child has exited; status_ is its exit code (128 + signal when killed).
  bool exited() {
    if (reaped_) return true;
    int st = 0;
    if (::waitpid(pid_, &st, WNOHANG) != pid_) return false;
    reaped_ = true;
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return true;
  }

 private:
  std::string dir_, config_, log_;
  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = -1;
};

}  // namespace myspoa::testing
