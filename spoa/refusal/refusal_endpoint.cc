#include "spoa/refusal/refusal_endpoint.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

namespace myspoa::refusal {

// ER_UNKNOWN_ERROR: clients print it as "ERROR 1105 (HY000): <message>".
constexpr uint16_t kRefusedErrno = 1105;

std::string mysql_err_packet(uint16_t error_code, const std::string& message) {
  std::string payload;
  payload.push_back(static_cast<char>(0xff));
  payload.push_back(static_cast<char>(error_code & 0xff));
  payload.push_back(static_cast<char>(error_code >> 8));
  payload += message.substr(0, 512);
  std::string packet;
  const auto len = payload.size();
  packet.push_back(static_cast<char>(len & 0xff));
  packet.push_back(static_cast<char>((len >> 8) & 0xff));
  packet.push_back(static_cast<char>((len >> 16) & 0xff));
  packet.push_back(0);  // sequence id
  return packet + payload;
}

RefusalEndpoint::RefusalEndpoint(config::Endpoint listen, std::function<std::string()> reason)
    : listen_(std::move(listen)), reason_(std::move(reason)) {}

RefusalEndpoint::~RefusalEndpoint() {
  stop();
}

bool RefusalEndpoint::start(std::string& error) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    error = std::string("socket: ") + std::strerror(errno);
    return false;
  }
  int one = 1;
  ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(listen_.port);
  if (::inet_pton(AF_INET, listen_.host.c_str(), &addr.sin_addr) != 1) {
    error = "refusal endpoint: invalid IPv4 address '" + listen_.host + "'";
    ::close(fd_);
    fd_ = -1;
    return false;
  }
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(fd_, 128) != 0) {
    error =
        "refusal endpoint: cannot listen on " + listen_.to_string() + ": " + std::strerror(errno);
    ::close(fd_);
    fd_ = -1;
    return false;
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
  return true;
}

void RefusalEndpoint::stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void RefusalEndpoint::run() {
  while (!stopping_) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;  // wake up regularly to notice stop()
    const int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (client < 0) continue;
    const auto packet = mysql_err_packet(kRefusedErrno, reason_());
    // One small packet into an empty socket buffer: a non-blocking send either takes it whole or
    // the client is already gone; neither may stall this thread.
    [[maybe_unused]] auto n = ::send(client, packet.data(), packet.size(), MSG_NOSIGNAL);
    ::shutdown(client, SHUT_WR);
    ::close(client);
    served_.fetch_add(1, std::memory_order_relaxed);
  }
}

}  // namespace myspoa::refusal
