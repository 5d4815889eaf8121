#include "spoa/server/worker.h"

#include <pthread.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "spoa/server/connection.h"

namespace myspoa::server {

Worker::Worker(int index, const SpopServerOptions& options, NotifyHandler& handler)
    : index_(index),
      options_(options),
      handler_(handler),
      wakeup_(loop_, [this] { on_async(); }),
      reaper_(loop_, [this] { reap(); }),
      stop_timer_(loop_, [this] {
        spdlog::warn("spop worker {}: {} connection(s) still flushing after {}s, closing them",
                     index_, connections_.size(), options_.stop_timeout);
        std::vector<Connection*> open;
        for (auto& [ptr, conn] : connections_) open.push_back(ptr);
        for (Connection* c : open) c->close_now("server stopping");
        maybe_finish_stop();
      }) {
  wakeup_.start();
}

Worker::~Worker() {
  join();
  std::lock_guard lock(mu_);
  for (const Pending& p : pending_) ::close(p.fd);
}

void Worker::start() {
  thread_ = std::thread([this] {
    const std::string name = "myspoa-w" + std::to_string(index_);
    pthread_setname_np(pthread_self(), name.c_str());
    run();
  });
}

void Worker::run() {
  loop_.run();
  // Anything still open (stop timer fired while a callback was closing) is torn down here, on the
  // loop's thread, before the watchers' loop goes away.
  dead_.clear();
  connections_.clear();
}

void Worker::add_connection(int fd, std::string peer) {
  {
    std::lock_guard lock(mu_);
    pending_.push_back({fd, std::move(peer)});
  }
  wakeup_.send();
}

void Worker::request_stop() {
  {
    std::lock_guard lock(mu_);
    stop_requested_ = true;
  }
  wakeup_.send();
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::on_async() {
  std::vector<Pending> batch;
  bool stop = false;
  {
    std::lock_guard lock(mu_);
    batch.swap(pending_);
    stop = stop_requested_;
  }
  for (Pending& p : batch) {
    if (stopping_ || stop) {
      ::close(p.fd);  // accepted just before the listener stopped: nobody will serve it
      continue;
    }
    auto conn = std::make_unique<Connection>(*this, p.fd, std::move(p.peer));
    Connection* raw = conn.get();
    connections_.emplace(raw, std::move(conn));
    raw->start();
  }
  if (stop && !stopping_) {
    stopping_ = true;
    spdlog::debug("spop worker {}: stopping, {} connection(s) open", index_, connections_.size());
    std::vector<Connection*> open;
    for (auto& [ptr, conn] : connections_) open.push_back(ptr);
    for (Connection* c : open) c->say_goodbye();
    stop_timer_.start(options_.stop_timeout);
    maybe_finish_stop();
  }
}

void Worker::release(Connection* conn) {
  auto it = connections_.find(conn);
  if (it == connections_.end()) return;
  dead_.push_back(std::move(it->second));
  connections_.erase(it);
  if (!reaper_.active()) reaper_.start(0.);
}

void Worker::reap() {
  dead_.clear();
  maybe_finish_stop();
}

void Worker::maybe_finish_stop() {
  if (!stopping_ || !connections_.empty()) return;
  stop_timer_.stop();
  wakeup_.stop();
  loop_.break_loop();
}

}  // namespace myspoa::server
