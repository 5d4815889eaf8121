#include "spoa/server/connection.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>

#include "common/clock.h"
#include "spoa/server/worker.h"

namespace myspoa::server {

namespace {
// Room for many frames per read on top of the largest frame we accept.
constexpr size_t kReadHeadroom = 64 * 1024;
// Stop reading while this much output is waiting for a slow peer (backpressure).
constexpr size_t kOutputHighWater = 4 * 1024 * 1024;
// Closing: how long we wait for the peer to close after our last frame.
constexpr double kLingerSeconds = 2.0;
// The harmless variable set when the handler added no action (never send an empty ACK).
constexpr std::string_view kNoopVar = "noop";

uint64_t now_ns() {
  return static_cast<uint64_t>(clock::steady_ns());
}
}  // namespace

const char* to_string(ConnState s) {
  switch (s) {
    case ConnState::WaitHello:
      return "WaitHello";
    case ConnState::Serving:
      return "Serving";
    case ConnState::Closing:
      return "Closing";
    case ConnState::Closed:
      return "Closed";
  }
  return "?";
}

Connection::Connection(Worker& worker, int fd, std::string peer)
    : worker_(worker),
      fd_(fd),
      peer_(std::move(peer)),
      max_frame_size_(worker.options().max_frame_size),
      io_(worker.loop(), [this](int events) { on_io(events); }),
      timer_(worker.loop(), [this] { on_timer(); }) {}

Connection::~Connection() {
  if (fd_ >= 0) ::close(fd_);
}

void Connection::start() {
  in_.resize(std::max<size_t>(max_frame_size_, spop::kMinFrameSize) + 4 + kReadHeadroom);
  last_activity_ = worker_.loop().now();
  WorkerCounters::bump(worker_.counters().connections_open, int64_t{1});
  WorkerCounters::bump(worker_.counters().connections_total, uint64_t{1});
  spdlog::debug("spop worker {}: connection from {} opened", worker_.index(), peer_);
  if (worker_.options().idle_timeout > 0) timer_.start(worker_.options().idle_timeout);
  update_watchers();
}

void Connection::set_state(ConnState s) {
  spdlog::trace("spop {}: {} -> {}", peer_, to_string(state_), to_string(s));
  state_ = s;
}

void Connection::on_io(int events) {
  if (events & ev::kWrite) flush();
  if (state_ != ConnState::Closed && (events & ev::kRead)) on_readable();
}

void Connection::on_readable() {
  if (in_len_ == in_.size()) return;  // cannot happen: a partial frame always fits (see start())
  const ssize_t n = ::recv(fd_, in_.data() + in_len_, in_.size() - in_len_, 0);
  if (n > 0) {
    last_activity_ = worker_.loop().now();
    if (state_ == ConnState::Closing) return;  // lingering: input is discarded
    in_len_ += static_cast<size_t>(n);
    process_input();
    flush();
    return;
  }
  if (n == 0) {
    if (state_ != ConnState::Closing) {
      WorkerCounters::bump(worker_.counters().peer_closes, uint64_t{1});
      close("peer closed without DISCONNECT");
    } else {
      close("peer closed");
    }
    return;
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
  if (errno == ECONNRESET || errno == EPIPE) {
    // A reset is HAProxy's way of closing too: a normal close, not an error.
    WorkerCounters::bump(worker_.counters().peer_closes, uint64_t{1});
    close("connection reset by peer");
    return;
  }
  WorkerCounters::bump(worker_.counters().io_errors, uint64_t{1});
  spdlog::warn("spop {}: read error: {}", peer_, std::strerror(errno));
  close("read error");
}

void Connection::process_input() {
  size_t pos = 0;
  while (state_ == ConnState::WaitHello || state_ == ConnState::Serving) {
    const spop::Bytes rest(in_.data() + pos, in_len_ - pos);
    size_t frame_len = 0;
    const spop::SplitResult r = spop::split_frame(rest, max_frame_size_, frame_len);
    if (r == spop::SplitResult::NeedMore) break;
    if (r == spop::SplitResult::TooBig) {
      refuse(spop::Status::TooBig, "frame larger than the negotiated max-frame-size");
      break;
    }
    spop::FrameHeader header;
    spop::Bytes payload;
    const spop::Status st = spop::parse_frame(rest.subspan(4, frame_len - 4), header, payload);
    if (st != spop::Status::Normal) {
      refuse(st, "malformed frame");
      break;
    }
    pos += frame_len;
    if (!on_frame(header, payload)) break;
  }
  if (state_ != ConnState::WaitHello && state_ != ConnState::Serving) {
    in_len_ = 0;  // nothing more will be processed
  } else if (pos > 0) {
    std::memmove(in_.data(), in_.data() + pos, in_len_ - pos);
    in_len_ -= pos;
  }
}

bool Connection::on_frame(const spop::FrameHeader& h, spop::Bytes payload) {
  switch (h.type) {
    case spop::FrameType::HaproxyHello:
      if (state_ != ConnState::WaitHello) {
        refuse(spop::Status::Invalid, "second HAPROXY-HELLO");
        return false;
      }
      return on_hello(payload);
    case spop::FrameType::Notify:
      if (state_ != ConnState::Serving) {
        refuse(spop::Status::Invalid, "NOTIFY before HELLO");
        return false;
      }
      return on_notify(h, payload);
    case spop::FrameType::HaproxyDisconnect:
      return on_haproxy_disconnect(payload);
    default:
      refuse(spop::Status::Invalid, "unexpected frame type");
      return false;
  }
}

bool Connection::on_hello(spop::Bytes payload) {
  spop::HaproxyHello hello;
  spop::Status st = spop::parse_haproxy_hello(payload, hello);
  if (st != spop::Status::Normal) {
    refuse(st, "malformed HAPROXY-HELLO");
    return false;
  }
  const spop::Negotiated n = spop::negotiate(hello, worker_.options().max_frame_size);
  if (n.status != spop::Status::Normal) {
    refuse(n.status, "HELLO negotiation failed");
    return false;
  }
  spop::encode_agent_hello(n, out_);
  max_frame_size_ = n.max_frame_size;
  WorkerCounters::bump(worker_.counters().hellos, uint64_t{1});
  if (n.healthcheck) {
    // spop-check: HAProxy only wants the AGENT-HELLO, then closes.
    WorkerCounters::bump(worker_.counters().healthchecks, uint64_t{1});
    spdlog::debug("spop {}: health-check HELLO answered", peer_);
    begin_closing();
    return false;
  }
  spdlog::debug("spop {}: HELLO negotiated (max-frame-size {}, pipelining {})", peer_,
                n.max_frame_size, n.pipelining);
  set_state(ConnState::Serving);
  return true;
}

bool Connection::on_notify(const spop::FrameHeader& h, spop::Bytes payload) {
  WorkerCounters& c = worker_.counters();
  const uint64_t seq = c.notifies.load(std::memory_order_relaxed) + 1;
  c.notifies.store(seq, std::memory_order_relaxed);
  // Reading the clock costs ~10% of a NOTIFY on this VM: time one in kLatencySampleEvery.
  const bool timed = seq % kLatencySampleEvery == 0;
  const uint64_t t0 = timed ? now_ns() : 0;
  spop::Notify& notify = worker_.notify_scratch();
  const spop::Status st = spop::parse_notify(payload, notify);
  if (st != spop::Status::Normal) {
    refuse(st, "malformed NOTIFY");
    return false;
  }
  // The ACK is encoded straight into out_; a failed or oversized answer is taken back out.
  spop::AckWriter& ack = worker_.ack_writer();
  ack.begin(h.stream_id, h.frame_id, out_);
  try {
    worker_.handler().on_notify(notify, ack, worker_.index());
  } catch (const std::exception& e) {
    WorkerCounters::bump(c.handler_errors, uint64_t{1});
    spdlog::error("spop {}: notify handler failed: {}", peer_, e.what());
    ack.discard();
    ack.begin(h.stream_id, h.frame_id, out_);
  }
  if (ack.actions() == 0) ack.set_var(spop::Scope::Txn, kNoopVar, spop::TypedValue::boolean(true));
  const size_t frame_size = ack.finish().size();
  if (frame_size > size_t{max_frame_size_} + 4) {
    // The handler's answer cannot be sent whole: send the harmless one rather than kill the link.
    WorkerCounters::bump(c.handler_errors, uint64_t{1});
    spdlog::error("spop {}: ACK of {} bytes exceeds max-frame-size {}, answering no-op", peer_,
                  frame_size, max_frame_size_);
    ack.discard();
    ack.begin(h.stream_id, h.frame_id, out_);
    ack.set_var(spop::Scope::Txn, kNoopVar, spop::TypedValue::boolean(true));
    ack.finish();
  }
  WorkerCounters::bump(c.acks, uint64_t{1});
  if (timed) c.record_latency(now_ns() - t0);
  return true;
}

bool Connection::on_haproxy_disconnect(spop::Bytes payload) {
  WorkerCounters::bump(worker_.counters().haproxy_disconnects, uint64_t{1});
  spop::Disconnect d;
  if (spop::parse_disconnect(payload, d) == spop::Status::Normal) {
    spdlog::debug("spop {}: HAPROXY-DISCONNECT status {} '{}'", peer_, d.status_code, d.message);
  }
  // ACKs already queued go out first: out_ is written in order.
  spop::encode_agent_disconnect(spop::Status::Normal, "bye", out_);
  WorkerCounters::bump(worker_.counters().disconnects_sent[0], uint64_t{1});
  begin_closing();
  return false;
}

void Connection::refuse(spop::Status status, const char* why) {
  const auto code = static_cast<unsigned>(status);
  WorkerCounters& c = worker_.counters();
  WorkerCounters::bump(c.disconnects_sent[status_slot(code)], uint64_t{1});
  if (status != spop::Status::Normal) {
    WorkerCounters::bump(c.protocol_errors, uint64_t{1});
    spdlog::warn("spop {}: {} in state {}: sending AGENT-DISCONNECT status {} ({})", peer_, why,
                 to_string(state_), code, spop::to_string(status));
  }
  spop::encode_agent_disconnect(status, spop::to_string(status), out_);
  begin_closing();
}

void Connection::say_goodbye() {
  if (state_ != ConnState::WaitHello && state_ != ConnState::Serving) return;
  spop::encode_agent_disconnect(spop::Status::Normal, "agent stopping", out_);
  WorkerCounters::bump(worker_.counters().disconnects_sent[0], uint64_t{1});
  begin_closing();
  flush();
}

void Connection::begin_closing() {
  set_state(ConnState::Closing);
  timer_.start(kLingerSeconds);
}

void Connection::on_timer() {
  if (state_ == ConnState::Closing) {
    close("linger timeout");
    return;
  }
  const double idle = worker_.options().idle_timeout;
  const double remaining = last_activity_ + idle - worker_.loop().now();
  if (remaining > 0) {
    timer_.start(remaining);
    return;
  }
  refuse(spop::Status::Timeout, "idle timeout");
  flush();
}

void Connection::flush() {
  while (out_off_ < out_.size()) {
    const ssize_t n = ::send(fd_, out_.data() + out_off_, out_.size() - out_off_, MSG_NOSIGNAL);
    if (n > 0) {
      out_off_ += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
      WorkerCounters::bump(worker_.counters().peer_closes, uint64_t{1});
      close("connection reset by peer");
      return;
    }
    WorkerCounters::bump(worker_.counters().io_errors, uint64_t{1});
    spdlog::warn("spop {}: write error: {}", peer_, std::strerror(errno));
    close("write error");
    return;
  }
  if (out_off_ == out_.size()) {
    out_.clear();
    out_off_ = 0;
    if (state_ == ConnState::Closing && !write_shut_) {
      // Everything we had to say is out: half-close and wait for HAProxy to close its side, so an
      // early close() cannot turn into a reset that destroys our last frame.
      ::shutdown(fd_, SHUT_WR);
      write_shut_ = true;
    }
  } else if (out_off_ > 64 * 1024 && out_off_ * 2 > out_.size()) {
    out_.erase(0, out_off_);
    out_off_ = 0;
  }
  update_watchers();
}

void Connection::update_watchers() {
  if (state_ == ConnState::Closed) return;
  const size_t pending = out_.size() - out_off_;
  const int want = (pending < kOutputHighWater ? ev::kRead : 0) | (pending > 0 ? ev::kWrite : 0);
  if (io_.active() && io_.events() == want) return;
  io_.set(fd_, want);
  if (want != 0) io_.start();
}

void Connection::close(const char* reason) {
  if (state_ == ConnState::Closed) return;
  io_.stop();
  timer_.stop();
  ::close(fd_);
  fd_ = -1;
  WorkerCounters::bump(worker_.counters().connections_open, int64_t{-1});
  spdlog::debug("spop worker {}: connection from {} closed in state {}: {}", worker_.index(), peer_,
                to_string(state_), reason);
  set_state(ConnState::Closed);
  worker_.release(this);
}

}  // namespace myspoa::server
