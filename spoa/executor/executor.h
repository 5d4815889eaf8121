// Executor: one worker thread that runs posted tasks in order, with a bounded queue. The agent's
// background components (alerts, writer actions, the consistency scheduler) each own one instead
// of a hand-written thread + queue loop.
//
// - Order: tasks run one at a time, by due time, then in posting order (post() is due now).
// - Bounded: post()/post_after() never block; when `capacity` tasks are already waiting (the
//   running task does not count) or the executor is stopping, the task is refused (false) and
//   the caller decides what a refusal means (count a drop, answer "busy").
// - stop(OnStop::Drop) drops every waiting task, lets the running one finish (it may poll
//   stopping() to finish early), joins, and returns how many were dropped.
//   stop(OnStop::Drain) runs every waiting task first, delayed ones without waiting for their
//   time, then joins (returns 0). Both are idempotent; the destructor drops. Never call stop()
//   from a task (it would wait for itself).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

namespace myspoa::executor {

class Executor {
 public:
  using Task = std::function<void()>;
  enum class OnStop { Drop, Drain };

  // Starts the worker thread. `name` (15 chars at most are kept) names the thread in tools.
  Executor(std::string name, size_t capacity);
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Queues `task` to run as soon as the worker is free; false when refused (full or stopping).
  bool post(Task task) { return post_after(0, std::move(task)); }
  // Queues `task` to run no earlier than `delay_ms` from now; false when refused.
  bool post_after(int64_t delay_ms, Task task);

  size_t stop(OnStop mode = OnStop::Drop);
  // True once stop() was called: a long task polls it to give up early.
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }
  size_t waiting() const;  // tasks queued, not counting the running one
  size_t capacity() const { return capacity_; }

 private:
  void run();

  const std::string name_;
  const size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  // Keyed by (due steady ms, posting sequence): the first entry is the next to run.
  std::map<std::pair<int64_t, uint64_t>, Task> queue_;
  uint64_t next_seq_ = 0;
  OnStop mode_ = OnStop::Drop;
  bool exit_ = false;  // with mu_: the worker leaves once the queue is done per mode_
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace myspoa::executor
