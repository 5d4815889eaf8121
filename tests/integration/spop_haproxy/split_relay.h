// SplitRelay: a loopback TCP relay placed between HAProxy and the agent that forwards every byte
// in pieces of at most `piece` bytes, each its own send() on a TCP_NODELAY socket, with `gap`
// between pieces, in both directions. A SPOP frame (4-byte length + at least 7 bytes) therefore
// always reaches the other side split across several TCP segments: the agent has to reassemble
// HAProxy's HELLO/NOTIFY frames, and HAProxy the agent's HELLO/ACK frames.
#pragma once
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "interop_util.h"

namespace interop {

class SplitRelay {
 public:
  SplitRelay(uint16_t target_port, size_t piece, std::chrono::microseconds gap)
      : target_(target_port), piece_(piece), gap_(gap) {
    fd_ = listen_loopback(port_);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~SplitRelay() {
    stop_.store(true);
    acceptor_.join();
    std::lock_guard lock(mu_);
    for (auto& t : conns_) t.join();
    ::close(fd_);
  }
  SplitRelay(const SplitRelay&) = delete;
  SplitRelay& operator=(const SplitRelay&) = delete;

  uint16_t port() const { return port_; }
  uint64_t connections() const { return connections_.load(); }
  // Bytes and send() calls towards the agent (HAProxy's frames) and towards HAProxy.
  uint64_t bytes_to_agent() const { return bytes_[0].load(); }
  uint64_t sends_to_agent() const { return sends_[0].load(); }
  uint64_t bytes_to_haproxy() const { return bytes_[1].load(); }
  uint64_t sends_to_haproxy() const { return sends_[1].load(); }

 private:
  void accept_loop() {
    while (!stop_.load()) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      const int agent = connect_loopback(target_);
      if (agent < 0) {  // agent stopped: HAProxy sees a reset, as without the relay
        ::close(client);
        continue;
      }
      connections_.fetch_add(1);
      std::lock_guard lock(mu_);
      conns_.emplace_back([this, client, agent] { relay(client, agent); });
    }
  }

  // Forwards `n` bytes in pieces; false when the peer is gone.
  bool send_split(int to, const char* data, size_t n, int dir) {
    const int one = 1;
    ::setsockopt(to, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    for (size_t off = 0; off < n;) {
      const size_t len = std::min(piece_, n - off);
      const ssize_t w = ::send(to, data + off, len, MSG_NOSIGNAL);
      if (w <= 0) return false;
      off += static_cast<size_t>(w);
      bytes_[dir].fetch_add(static_cast<uint64_t>(w));
      sends_[dir].fetch_add(1);
      if (off < n) std::this_thread::sleep_for(gap_);
    }
    return true;
  }

  // One connection: HAProxy side `client`, agent side `agent`. Ends on EOF/error from either
  // side (the other side gets shutdown, then both close) or when the relay stops.
  void relay(int client, int agent) {
    pollfd p[2] = {{client, POLLIN, 0}, {agent, POLLIN, 0}};
    bool open = true;
    while (open && !stop_.load()) {
      if (::poll(p, 2, 50) <= 0) continue;
      for (int i = 0; i < 2 && open; ++i) {
        if ((p[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
        char buf[4096];
        const ssize_t n = ::recv(p[i].fd, buf, sizeof buf, 0);
        if (n <= 0) {
          open = false;
          break;
        }
        // i == 0: from HAProxy to the agent (dir 0); i == 1: from the agent to HAProxy (dir 1).
        if (!send_split(p[1 - i].fd, buf, static_cast<size_t>(n), i)) open = false;
      }
    }
    ::shutdown(client, SHUT_RDWR);
    ::shutdown(agent, SHUT_RDWR);
    ::close(client);
    ::close(agent);
  }

  uint16_t target_;
  size_t piece_;
  std::chrono::microseconds gap_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> connections_{0};
  std::atomic<uint64_t> bytes_[2] = {0, 0};
  std::atomic<uint64_t> sends_[2] = {0, 0};
  std::mutex mu_;
  std::vector<std::thread> conns_;
  std::thread acceptor_;
};

}  // namespace interop
