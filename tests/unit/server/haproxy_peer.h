// The HAProxy side of SPOP for tests and the benchmark: builds HAPROXY-HELLO / NOTIFY /
// HAPROXY-DISCONNECT frames with the codec's public encoders, decodes what the agent sends back,
// and a small blocking client over a loopback socket (every wait bounded by a timeout).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "spoa/spop/spop.h"

namespace myspoa::testing {

using spop::FrameType;
using spop::TypedValue;

// A whole frame with its 4-byte length prefix; `flags` defaults to FIN.
inline std::string raw_frame(FrameType type, uint64_t stream_id, uint64_t frame_id,
                             std::string_view payload, uint32_t flags = spop::kFlagFin) {
  std::string body;
  body.push_back(static_cast<char>(type));
  for (int s = 24; s >= 0; s -= 8) body.push_back(static_cast<char>(flags >> s));
  spop::encode_varint(stream_id, body);
  spop::encode_varint(frame_id, body);
  body.append(payload);
  std::string out;
  const auto len = static_cast<uint32_t>(body.size());
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<char>(len >> s));
  out += body;
  return out;
}

inline void kv(std::string& out, std::string_view name, const TypedValue& v) {
  spop::encode_string(name, out);
  spop::encode_typed(v, out);
}

inline std::string haproxy_hello(uint32_t max_frame_size = 16380,
                                 std::string_view capabilities = "pipelining,async",
                                 bool healthcheck = false) {
  std::string p;
  kv(p, "supported-versions", TypedValue::string("2.0"));
  kv(p, "max-frame-size", TypedValue::uint32(max_frame_size));
  kv(p, "capabilities", TypedValue::string(capabilities));
  if (healthcheck) {
    kv(p, "healthcheck", TypedValue::boolean(true));
  } else {
    kv(p, "engine-id", TypedValue::string("test-engine-0001"));
  }
  return raw_frame(FrameType::HaproxyHello, 0, 0, p);
}

inline std::string haproxy_disconnect(uint32_t status = 0, std::string_view message = "bye") {
  std::string p;
  kv(p, "status-code", TypedValue::uint32(status));
  kv(p, "message", TypedValue::string(message));
  return raw_frame(FrameType::HaproxyDisconnect, 0, 0, p);
}

// A NOTIFY as HAProxy 2.6 sends it for our contract: message myspoa-route, arg intent and src.
inline std::string notify_payload(std::string_view intent = "write",
                                  std::array<uint8_t, 4> src = {127, 0, 0, 1}) {
  std::string p;
  spop::encode_string("myspoa-route", p);
  p.push_back(2);  // nb-args
  kv(p, "intent", TypedValue::string(intent));
  TypedValue ip;
  ip.type = spop::DataType::Ipv4;
  std::copy(src.begin(), src.end(), ip.ip.begin());
  kv(p, "src", ip);
  return p;
}

inline std::string notify_frame(uint64_t stream_id, uint64_t frame_id,
                                std::string_view intent = "write") {
  return raw_frame(FrameType::Notify, stream_id, frame_id, notify_payload(intent));
}

// ---- decoding what the agent sends ----
struct Frame {
  spop::FrameHeader header;
  std::string payload;
};

// A typed value with its string/binary bytes owned.
struct Value {
  spop::DataType type = spop::DataType::Null;
  bool b = false;
  int64_t i = 0;
  uint64_t u = 0;
  std::string str;
  int64_t as_int() const {
    return (type == spop::DataType::Uint32 || type == spop::DataType::Uint64)
               ? static_cast<int64_t>(u)
               : i;
  }
};
inline Value own(const TypedValue& t) {
  Value v;
  v.type = t.type;
  v.b = t.b;
  v.i = t.i;
  v.u = t.u;
  v.str = std::string(t.str);
  return v;
}

// KV-list of AGENT-HELLO / AGENT-DISCONNECT; nullopt if malformed.
inline std::optional<std::map<std::string, Value>> decode_kv(std::string_view payload) {
  const spop::Bytes in(reinterpret_cast<const uint8_t*>(payload.data()), payload.size());
  std::map<std::string, Value> out;
  size_t pos = 0;
  while (pos < in.size()) {
    std::string_view name;
    TypedValue v;
    if (!spop::decode_string(in, pos, name) || !spop::decode_typed(in, pos, v)) return {};
    out[std::string(name)] = own(v);
  }
  return out;
}

struct Action {
  uint8_t type = 0;  // 1 set-var, 2 unset-var
  uint8_t scope = 0;
  std::string name;
  Value value;
};
inline std::optional<std::vector<Action>> decode_ack(std::string_view payload) {
  const spop::Bytes in(reinterpret_cast<const uint8_t*>(payload.data()), payload.size());
  std::vector<Action> out;
  size_t pos = 0;
  while (pos < in.size()) {
    if (in.size() - pos < 3) return {};
    Action a;
    a.type = in[pos++];
    const uint8_t nb = in[pos++];
    a.scope = in[pos++];
    std::string_view name;
    if (!spop::decode_string(in, pos, name)) return {};
    a.name = std::string(name);
    if (nb == 3) {
      TypedValue v;
      if (!spop::decode_typed(in, pos, v)) return {};
      a.value = own(v);
    } else if (nb != 2) {
      return {};
    }
    out.push_back(std::move(a));
  }
  return out;
}

// Parses one whole frame (prefix included) into `f`; false if malformed.
inline bool decode_frame(std::string_view whole, Frame& f) {
  const spop::Bytes in(reinterpret_cast<const uint8_t*>(whole.data()) + 4, whole.size() - 4);
  spop::Bytes payload;
  if (spop::parse_frame(in, f.header, payload) != spop::Status::Normal) return false;
  f.payload.assign(reinterpret_cast<const char*>(payload.data()), payload.size());
  return true;
}

// ---- a blocking loopback client ----
class Client {
 public:
  explicit Client(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
    const int one = 1;
    if (fd_ >= 0) ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~Client() { close(); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  // Close with a TCP reset (SO_LINGER 0) to simulate a peer crash.
  void reset() {
    linger l{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close();
  }

  bool send(std::string_view bytes) {
    size_t off = 0;
    while (off < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }

  // Next whole frame from the agent, or nullopt on timeout / close / malformed input.
  std::optional<Frame> read_frame(int timeout_ms = 2000) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (true) {
      if (buf_.size() >= 4) {
        const auto* p = reinterpret_cast<const uint8_t*>(buf_.data());
        const size_t len = (size_t{p[0]} << 24) | (size_t{p[1]} << 16) | (size_t{p[2]} << 8) | p[3];
        if (buf_.size() >= 4 + len) {
          Frame f;
          const bool ok = decode_frame(std::string_view(buf_).substr(0, 4 + len), f);
          buf_.erase(0, 4 + len);
          if (!ok) return {};
          return f;
        }
      }
      if (!fill(deadline)) return {};
    }
  }

  // True if the agent closes (EOF or reset) within the timeout; frames still buffered are dropped.
  bool wait_closed(int timeout_ms = 2000) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (true) {
      if (!fill(deadline)) return eof_;
    }
  }

 private:
  // Reads more bytes; false on timeout, EOF or error (eof_ set for EOF/reset).
  bool fill(std::chrono::steady_clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    if (left <= 0 || fd_ < 0) return false;
    pollfd pfd{fd_, POLLIN, 0};
    const int rc = ::poll(&pfd, 1, static_cast<int>(left));
    if (rc <= 0) return false;
    char tmp[65536];
    const ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) {
      if (n == 0 || errno == ECONNRESET) eof_ = true;
      return false;
    }
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  std::string buf_;
  bool eof_ = false;
};

}  // namespace myspoa::testing
