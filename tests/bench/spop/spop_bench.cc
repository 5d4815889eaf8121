// spop_bench: a SPOP load generator speaking as HAProxy 2.6 does. N connections, each keeping up to
// `inflight` NOTIFYs (message myspoa-route, intent "write", src ipv4) in flight, for a bounded
// duration; prints NOTIFY/s and the NOTIFY->ACK latency quantiles seen by the client.
// Optional --rate paces the sending (total NOTIFY/s) to measure latency below saturation.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "spoa/ev/loop.h"
#include "spoa/ev/watchers.h"
#include "spoa/spop/spop.h"
#include "tests/unit/server/haproxy_peer.h"

namespace {

using Clock = std::chrono::steady_clock;
using myspoa::spop::FrameType;
namespace ev = myspoa::ev;
namespace spop = myspoa::spop;

struct Settings {
  std::string host = "127.0.0.1";
  uint16_t port = 12345;
  int connections = 4;
  int inflight = 20;
  double duration = 5.0;
  double warmup = 0.5;
  double rate = 0;  // total NOTIFY/s; 0 = as fast as the agent answers
};

int64_t ns_since(Clock::time_point t0, Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t - t0).count();
}

struct Stats {
  std::vector<int64_t> latencies_ns;  // samples after warm-up
  uint64_t acks = 0;                  // after warm-up
  uint64_t errors = 0;
};

class BenchConnection {
 public:
  BenchConnection(ev::Loop& loop, const Settings& s, Stats& stats, Clock::time_point t0,
                  Clock::time_point measure_from, uint64_t stream_id)
      : s_(s),
        stats_(stats),
        t0_(t0),
        measure_from_(measure_from),
        stream_id_(stream_id),
        io_(loop, [this](int ev) { on_io(ev); }) {
    payload_ = myspoa::testing::notify_payload("write", {10, 0, 0, 42});
  }
  ~BenchConnection() {
    if (fd_ >= 0) ::close(fd_);
  }

  bool connect_and_hello() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(s_.port);
    if (::inet_pton(AF_INET, s_.host.c_str(), &a.sin_addr) != 1) return false;
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return false;
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    // Blocking handshake, bounded by a receive timeout.
    timeval tv{2, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const std::string hello = myspoa::testing::haproxy_hello();
    if (::send(fd_, hello.data(), hello.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(hello.size()))
      return false;
    while (true) {
      size_t frame_len = 0;
      const auto r = spop::split_frame(spop::Bytes(in_.data(), in_len_), 1 << 20, frame_len);
      if (r == spop::SplitResult::Ready) break;
      const ssize_t n = ::recv(fd_, in_.data() + in_len_, in_.size() - in_len_, 0);
      if (n <= 0) return false;
      in_len_ += static_cast<size_t>(n);
    }
    if (in_[4] != static_cast<uint8_t>(FrameType::AgentHello)) return false;
    in_len_ = 0;
    ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
    io_.set(fd_, ev::kRead);
    io_.start();
    return true;
  }

  // Sends as many NOTIFYs as the in-flight cap and the pacing allow, in one write.
  void pump(Clock::time_point now) {
    if (fd_ < 0 || stopping_) return;
    int budget = s_.inflight - inflight_;
    if (s_.rate > 0) {
      const double per_conn = s_.rate / s_.connections;
      const auto allowed =
          static_cast<int64_t>(static_cast<double>(ns_since(t0_, now)) * 1e-9 * per_conn);
      budget = static_cast<int>(std::min<int64_t>(budget, allowed - static_cast<int64_t>(sent_)));
    }
    if (budget <= 0) return;
    for (int i = 0; i < budget; ++i) append_notify(now);
    flush();
  }

  void stop_sending() { stopping_ = true; }
  int inflight() const { return inflight_; }
  uint64_t sent() const { return sent_; }

 private:
  void append_notify(Clock::time_point now) {
    const uint64_t frame_id = next_frame_id_++;
    const size_t start = out_.size();
    out_.append(4, '\0');
    out_.push_back(static_cast<char>(FrameType::Notify));
    out_.append("\x00\x00\x00\x01", 4);  // FIN
    spop::encode_varint(stream_id_, out_);
    spop::encode_varint(frame_id, out_);
    out_.append(payload_);
    const auto len = static_cast<uint32_t>(out_.size() - start - 4);
    for (int i = 0; i < 4; ++i) out_[start + i] = static_cast<char>(len >> (24 - 8 * i));
    sent_at_[frame_id % sent_at_.size()] = now;
    ++inflight_;
    ++sent_;
  }

  void flush() {
    while (out_off_ < out_.size()) {
      const ssize_t n = ::send(fd_, out_.data() + out_off_, out_.size() - out_off_, MSG_NOSIGNAL);
      if (n > 0) {
        out_off_ += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      fail("send");
      return;
    }
    if (out_off_ == out_.size()) {
      out_.clear();
      out_off_ = 0;
    }
    const int want = ev::kRead | (out_off_ < out_.size() ? ev::kWrite : 0);
    if (io_.events() != want) {
      io_.set(fd_, want);
      io_.start();
    }
  }

  void on_io(int events) {
    if (events & ev::kWrite) flush();
    if (!(events & ev::kRead) || fd_ < 0) return;
    const ssize_t n = ::recv(fd_, in_.data() + in_len_, in_.size() - in_len_, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
      fail("recv");
      return;
    }
    if (n < 0) return;
    in_len_ += static_cast<size_t>(n);
    const auto now = Clock::now();
    size_t pos = 0;
    while (true) {
      size_t frame_len = 0;
      const spop::Bytes rest(in_.data() + pos, in_len_ - pos);
      const auto r = spop::split_frame(rest, 1 << 20, frame_len);
      if (r != spop::SplitResult::Ready) break;
      spop::FrameHeader h;
      spop::Bytes payload;
      if (spop::parse_frame(rest.subspan(4, frame_len - 4), h, payload) != spop::Status::Normal ||
          h.type != FrameType::Ack || h.stream_id != stream_id_) {
        fail("unexpected frame");
        return;
      }
      pos += frame_len;
      --inflight_;
      const Clock::time_point sent = sent_at_[h.frame_id % sent_at_.size()];
      if (sent >= measure_from_) {
        stats_.latencies_ns.push_back(ns_since(sent, now));
        ++stats_.acks;
      }
    }
    std::memmove(in_.data(), in_.data() + pos, in_len_ - pos);
    in_len_ -= pos;
    pump(now);
  }

  void fail(const char* what) {
    std::fprintf(stderr, "spop_bench: connection %llu: %s failed: %s\n",
                 static_cast<unsigned long long>(stream_id_), what, std::strerror(errno));
    ++stats_.errors;
    io_.stop();
    ::close(fd_);
    fd_ = -1;
  }

  const Settings& s_;
  Stats& stats_;
  Clock::time_point t0_, measure_from_;
  uint64_t stream_id_;
  uint64_t next_frame_id_ = 1;
  uint64_t sent_ = 0;
  int inflight_ = 0;
  bool stopping_ = false;
  int fd_ = -1;
  std::string payload_;
  std::array<Clock::time_point, 256> sent_at_{};  // by frame_id; inflight is capped well below
  std::array<uint8_t, 256 * 1024> in_{};
  size_t in_len_ = 0;
  std::string out_;
  size_t out_off_ = 0;
  ev::IoWatcher io_;
};

}  // namespace

int main(int argc, char** argv) {
  Settings s;
  CLI::App app{"spop_bench: SPOP NOTIFY load generator (speaks as HAProxy 2.6)"};
  app.add_option("--host", s.host, "agent address (loopback only)");
  app.add_option("--port", s.port, "agent SPOP port");
  app.add_option("-c,--connections", s.connections, "SPOP connections")->check(CLI::Range(1, 256));
  app.add_option("-i,--inflight", s.inflight, "max NOTIFYs in flight per connection")
      ->check(CLI::Range(1, 200));
  app.add_option("-d,--duration", s.duration, "measured seconds")->check(CLI::Range(0.1, 600.0));
  app.add_option("-w,--warmup", s.warmup, "seconds before measuring")->check(CLI::Range(0.0, 60.0));
  app.add_option("-r,--rate", s.rate, "total NOTIFY/s to pace at (0: closed loop, unpaced)");
  CLI11_PARSE(app, argc, argv);

  ev::Loop loop;
  Stats stats;
  stats.latencies_ns.reserve(static_cast<size_t>(std::max(s.rate, 400000.0) * s.duration * 1.2));
  const auto t0 = Clock::now();
  const auto measure_from = t0 + std::chrono::nanoseconds(static_cast<int64_t>(s.warmup * 1e9));
  std::vector<std::unique_ptr<BenchConnection>> conns;
  for (int i = 0; i < s.connections; ++i) {
    conns.push_back(std::make_unique<BenchConnection>(loop, s, stats, t0, measure_from, 2 * i + 1));
    if (!conns.back()->connect_and_hello()) {
      std::fprintf(stderr, "spop_bench: cannot connect/HELLO to %s:%u: %s\n", s.host.c_str(),
                   s.port, std::strerror(errno));
      return 1;
    }
  }
  // Pacing tick (rate mode) and the end of the run; both bounded.
  ev::Timer tick(loop, [&] {
    const auto now = Clock::now();
    for (auto& c : conns) c->pump(now);
  });
  bool draining = false;
  ev::Timer drain_end(loop, [&] { loop.break_loop(); });
  ev::Timer end(loop, [&] {
    draining = true;
    tick.stop();
    for (auto& c : conns) c->stop_sending();
    drain_end.start(1.0);  // let in-flight ACKs come back (bounded)
  });
  const auto start = Clock::now();
  for (auto& c : conns) c->pump(start);
  if (s.rate > 0) tick.start(0.001, 0.001);
  end.start(s.warmup + s.duration);
  loop.run();
  (void)draining;

  uint64_t pending = 0;
  for (auto& c : conns) pending += static_cast<uint64_t>(c->inflight());
  auto& v = stats.latencies_ns;
  std::sort(v.begin(), v.end());
  auto q = [&](double p) -> double {
    if (v.empty()) return 0;
    const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
    return static_cast<double>(v[i]) / 1000.0;
  };
  double mean = 0;
  for (int64_t x : v) mean += static_cast<double>(x);
  mean = v.empty() ? 0 : mean / static_cast<double>(v.size()) / 1000.0;
  std::printf(
      "spop_bench: %d connections, inflight %d, %s, %.1fs measured after %.1fs warm-up\n"
      "  NOTIFY/s   %.0f\n"
      "  latency us p50 %.1f  p99 %.1f  p999 %.1f  max %.1f  mean %.1f\n"
      "  acks %llu  errors %llu  unanswered at end %llu\n",
      s.connections, s.inflight,
      s.rate > 0 ? ("paced at " + std::to_string(static_cast<long>(s.rate)) + "/s").c_str()
                 : "closed loop",
      s.duration, s.warmup, static_cast<double>(stats.acks) / s.duration, q(0.50), q(0.99),
      q(0.999), v.empty() ? 0.0 : static_cast<double>(v.back()) / 1000.0, mean,
      static_cast<unsigned long long>(stats.acks), static_cast<unsigned long long>(stats.errors),
      static_cast<unsigned long long>(pending));
  return stats.errors == 0 && pending == 0 ? 0 : 1;
}
