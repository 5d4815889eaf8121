#include "spoa/writer_actions/runtime_api.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "common/clock.h"

namespace myspoa::writer_actions {
namespace {
constexpr size_t kMaxAnswerBytes = 16u << 20;
}  // namespace

std::vector<std::string> parse_show_sess(const std::string& text, const std::string& frontend,
                                         const std::string& backend) {
  // One session per line: "0x55d1c0e2a000: proto=tcpv4 src=127.0.0.1:40312 fe=fe_mysql_write
  // be=be_db01 srv=db01 ts=00 age=3s ..."
  std::vector<std::string> ids;
  std::istringstream in(text);
  std::string line;
  const std::string want_fe = "fe=" + frontend, want_be = "be=" + backend;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos || line.compare(0, 2, "0x") != 0) continue;
    bool fe = false, be = false;
    std::istringstream words(line.substr(colon + 1));
    std::string w;
    while (words >> w) {
      fe = fe || w == want_fe;
      be = be || w == want_be;
    }
    if (fe && be) ids.push_back(line.substr(0, colon));
  }
  return ids;
}

std::string runtime_api_command(const std::string& socket_path, const std::string& command,
                                int timeout_ms, std::string& error) {
  error.clear();
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path) {
    error = "socket path too long";
    return "";
  }
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = std::string("socket: ") + std::strerror(errno);
    return "";
  }
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const int64_t deadline = clock::steady_ms() + timeout_ms;
  std::string out;
  const auto fail = [&](const std::string& what) {
    error = what + ": " + std::strerror(errno);
    ::close(fd);
    return std::string();
  };
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return fail("connect " + socket_path);
  const std::string line = command + "\n";
  size_t sent = 0;
  while (sent < line.size()) {
    const ssize_t n = ::send(fd, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail("send");
    sent += static_cast<size_t>(n);
  }
  // Non-interactive mode: HAProxy answers, then closes the connection.
  char buf[16384];
  for (;;) {
    const int64_t left = deadline - clock::steady_ms();
    if (left <= 0) {
      errno = ETIMEDOUT;
      return fail("answer to '" + command.substr(0, 40) + "'");
    }
    pollfd p{fd, POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      if (r == 0) errno = ETIMEDOUT;
      return fail("answer to '" + command.substr(0, 40) + "'");
    }
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("recv");
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > kMaxAnswerBytes) {
      errno = EMSGSIZE;
      return fail("answer");
    }
  }
  ::close(fd);
  return out;
}

}  // namespace myspoa::writer_actions
