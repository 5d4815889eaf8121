#include "spoa/executor/executor.h"

#include <pthread.h>

#include <chrono>

#include "common/clock.h"

namespace myspoa::executor {

Executor::Executor(std::string name, size_t capacity)
    : name_(std::move(name)), capacity_(capacity) {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), name_.substr(0, 15).c_str());
    run();
  });
}

Executor::~Executor() {
  stop(OnStop::Drop);
}

bool Executor::post_after(int64_t delay_ms, Task task) {
  const int64_t due = clock::steady_ms() + (delay_ms > 0 ? delay_ms : 0);
  {
    std::lock_guard lock(mu_);
    if (exit_ || queue_.size() >= capacity_) return false;
    queue_.emplace(std::make_pair(due, next_seq_++), std::move(task));
  }
  cv_.notify_one();
  return true;
}

size_t Executor::stop(OnStop mode) {
  size_t dropped = 0;
  {
    std::lock_guard lock(mu_);
    if (!exit_) {
      exit_ = true;
      mode_ = mode;
      stopping_.store(true, std::memory_order_release);
      if (mode == OnStop::Drop) {
        dropped = queue_.size();
        queue_.clear();
      }
    }
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  return dropped;
}

size_t Executor::waiting() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

void Executor::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    if (queue_.empty()) {
      if (exit_) return;
      cv_.wait(lock);
      continue;
    }
    auto first = queue_.begin();
    // Draining runs what is left at once; otherwise wait for the first task's time (a task
    // posted meanwhile with an earlier time wakes us up).
    if (!exit_) {
      const int64_t wait = first->first.first - clock::steady_ms();
      if (wait > 0) {
        cv_.wait_for(lock, std::chrono::milliseconds(wait));
        continue;
      }
    }
    Task task = std::move(first->second);
    queue_.erase(first);
    lock.unlock();
    task();
    task = nullptr;  // destroy what the task captured outside the lock
    lock.lock();
  }
}

}  // namespace myspoa::executor
