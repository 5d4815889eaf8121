// A tiny MySQL-protocol endpoint for refused connections: HAProxy's be_myspoa_refuse points here,
// and every client gets, as the first packet, a MySQL ERR packet saying why it was refused
// ("myspoa: writes refused: split brain (...)") instead of a silent reset. Own thread, poll().
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "spoa/config/config.h"

namespace myspoa::refusal {

// The bytes of a MySQL ERR packet sent before the handshake (sequence id 0, no SQL state marker,
// as mysqld does for "Too many connections").
std::string mysql_err_packet(uint16_t error_code, const std::string& message);

class RefusalEndpoint {
 public:
  // `reason` is called for every refused connection and returns the text to send.
  RefusalEndpoint(config::Endpoint listen, std::function<std::string()> reason);
  ~RefusalEndpoint();

  // Binds and starts the thread; false with `error` set when the address cannot be bound.
  bool start(std::string& error);
  void stop();
  uint16_t port() const { return port_; }
  uint64_t served() const { return served_.load(std::memory_order_relaxed); }

 private:
  void run();

  config::Endpoint listen_;
  std::function<std::string()> reason_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> served_{0};
  std::thread thread_;
};

}  // namespace myspoa::refusal
