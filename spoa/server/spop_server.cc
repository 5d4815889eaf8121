#include "spoa/server/spop_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "spoa/ev/loop.h"
#include "spoa/ev/watchers.h"
#include "spoa/server/worker.h"

namespace myspoa::server {

namespace {
std::string format_peer(const sockaddr_storage& ss) {
  char host[INET6_ADDRSTRLEN] = "?";
  uint16_t port = 0;
  if (ss.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
    port = ntohs(a->sin_port);
    return std::string(host) + ":" + std::to_string(port);
  }
  if (ss.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
    port = ntohs(a->sin6_port);
    return "[" + std::string(host) + "]:" + std::to_string(port);
  }
  return "?";
}

// Accepts a burst at most per readiness event so one busy listener cannot starve its own stop.
constexpr int kAcceptBurst = 64;
// After EMFILE/ENFILE the listener pauses instead of spinning on a level-triggered watcher.
constexpr double kAcceptPauseSeconds = 0.1;
}  // namespace

// The accepting thread: one loop, the listening socket, round-robin hand-off to the workers.
class Listener {
 public:
  Listener(int fd, std::vector<std::unique_ptr<Worker>>& workers)
      : fd_(fd),
        workers_(workers),
        io_(loop_, [this](int) { on_accept(); }),
        pause_(loop_, [this] { io_.start(); }),
        wakeup_(loop_, [this] { on_stop(); }) {
    io_.set(fd_, ev::kRead);
    io_.start();
    wakeup_.start();
  }
  ~Listener() {
    join();
    if (fd_ >= 0) ::close(fd_);
  }

  void start() {
    thread_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "myspoa-accept");
      loop_.run();
    });
  }
  void request_stop() {
    stop_.store(true, std::memory_order_release);
    wakeup_.send();
  }
  void join() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  void on_accept() {
    for (int i = 0; i < kAcceptBurst; ++i) {
      sockaddr_storage ss{};
      socklen_t len = sizeof ss;
      const int fd =
          ::accept4(fd_, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          spdlog::error("spop listener: accept: {}; pausing {}s", std::strerror(errno),
                        kAcceptPauseSeconds);
          io_.stop();
          pause_.start(kAcceptPauseSeconds);
          return;
        }
        spdlog::error("spop listener: accept: {}", std::strerror(errno));
        return;
      }
      const int one = 1;
      // ACKs are small and latency-bound: never let Nagle hold them back.
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      Worker& w = *workers_[next_++ % workers_.size()];
      w.add_connection(fd, format_peer(ss));
    }
  }

  void on_stop() {
    if (!stop_.load(std::memory_order_acquire)) return;
    io_.stop();
    pause_.stop();
    wakeup_.stop();
    ::close(fd_);
    fd_ = -1;
    loop_.break_loop();
  }

  int fd_;
  std::vector<std::unique_ptr<Worker>>& workers_;
  size_t next_ = 0;
  ev::Loop loop_;
  ev::IoWatcher io_;
  ev::Timer pause_;
  ev::Async wakeup_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

SpopServer::SpopServer(SpopServerOptions options, NotifyHandler& handler)
    : options_(std::move(options)), handler_(handler) {}

SpopServer::~SpopServer() {
  stop();
}

namespace {
// Returns the listening fd, or -1 with `error` set.
int open_listener(const SpopServerOptions& o, uint16_t& bound_port, std::string& error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(o.port);
  const int rc =
      ::getaddrinfo(o.host.empty() ? nullptr : o.host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0) {
    error = "cannot resolve " + o.host + ": " + ::gai_strerror(rc);
    return -1;
  }
  int fd = -1;
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      error = std::string("socket: ") + std::strerror(errno);
      continue;
    }
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && ::listen(fd, o.backlog) == 0) break;
    error = "cannot listen on " + o.host + ":" + port + ": " + std::strerror(errno);
    ::close(fd);
    fd = -1;
  }
  ::freeaddrinfo(res);
  if (fd < 0) return -1;
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  bound_port = ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                                              : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  return fd;
}
}  // namespace

bool SpopServer::start(std::string& error) {
  std::lock_guard lock(lifecycle_mu_);
  if (running_.load()) {
    error = "already running";
    return false;
  }
  if (options_.threads < 1) {
    error = "threads must be >= 1";
    return false;
  }
  if (options_.max_frame_size < spop::kMinFrameSize) {
    error = "max_frame_size must be >= " + std::to_string(spop::kMinFrameSize);
    return false;
  }
  const int fd = open_listener(options_, port_, error);
  if (fd < 0) return false;
  workers_.clear();
  for (int i = 0; i < options_.threads; ++i) {
    workers_.push_back(std::make_unique<Worker>(i, options_, handler_));
  }
  for (auto& w : workers_) w->start();
  listener_ = std::make_unique<Listener>(fd, workers_);
  listener_->start();
  running_.store(true, std::memory_order_release);
  spdlog::info("spop server listening on {}:{} with {} worker(s), max-frame-size {}", options_.host,
               port_, options_.threads, options_.max_frame_size);
  return true;
}

void SpopServer::stop() {
  std::lock_guard lock(lifecycle_mu_);
  if (!running_.load()) return;
  // Listener first: no new connection may reach a worker that is saying goodbye.
  listener_->request_stop();
  listener_->join();
  for (auto& w : workers_) w->request_stop();
  for (auto& w : workers_) w->join();
  listener_.reset();
  running_.store(false, std::memory_order_release);
  spdlog::info("spop server on port {} stopped", port_);
}

CountersSnapshot SpopServer::counters() const {
  CountersSnapshot s;
  for (const auto& w : workers_) s.add(w->counters());
  return s;
}

CountersSnapshot SpopServer::worker_counters(int index) const {
  CountersSnapshot s;
  if (index >= 0 && index < static_cast<int>(workers_.size())) s.add(workers_[index]->counters());
  return s;
}

}  // namespace myspoa::server
