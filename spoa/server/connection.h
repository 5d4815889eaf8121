// Connection: one SPOP connection from HAProxy, an explicit state machine driven by its worker's
// event loop. Reads any number of (possibly partial) frames per read, answers each NOTIFY with an
// ACK in order of processing, buffers output and writes it in batches of whole frames.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "spoa/ev/watchers.h"
#include "spoa/spop/spop.h"

namespace myspoa::server {

class Worker;

enum class ConnState {
  WaitHello,  // accepted; only a HAPROXY-HELLO is acceptable
  Serving,    // HELLO negotiated; NOTIFY -> ACK, HAPROXY-DISCONNECT ends it
  Closing,    // goodbye queued (AGENT-DISCONNECT or health-check HELLO): flush, shut down, linger
  Closed,     // fd closed; waiting for the worker to destroy the object
};
const char* to_string(ConnState s);

class Connection {
 public:
  Connection(Worker& worker, int fd, std::string peer);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void start();
  // Server stopping: AGENT-DISCONNECT normal after whatever is already queued, then close.
  void say_goodbye();
  // Close at once (stop deadline reached).
  void close_now(const char* reason) { close(reason); }
  ConnState state() const { return state_; }
  const std::string& peer() const { return peer_; }

 private:
  void on_io(int events);
  void on_timer();
  void on_readable();
  void process_input();
  // Each handler returns false when the connection must stop processing input.
  bool on_frame(const spop::FrameHeader& h, spop::Bytes payload);
  bool on_hello(spop::Bytes payload);
  bool on_notify(const spop::FrameHeader& h, spop::Bytes payload);
  bool on_haproxy_disconnect(spop::Bytes payload);
  // Queue AGENT-DISCONNECT with `status` and enter Closing. `why` goes to the log.
  void refuse(spop::Status status, const char* why);
  void begin_closing();
  void flush();
  void update_watchers();
  void close(const char* reason);
  void set_state(ConnState s);

  Worker& worker_;
  int fd_;
  std::string peer_;
  ConnState state_ = ConnState::WaitHello;
  uint32_t max_frame_size_;  // ours until the HELLO, then the negotiated one
  std::vector<uint8_t> in_;
  size_t in_len_ = 0;
  std::string out_;
  size_t out_off_ = 0;
  bool write_shut_ = false;
  bool reading_ = true;
  double last_activity_ = 0;
  ev::IoWatcher io_;
  ev::Timer timer_;  // idle timeout while serving, linger bound while closing
};

}  // namespace myspoa::server
