// libev watchers as RAII members: constructed stopped, stopped by their destructor. The callback is
// invoked on the loop's thread. See loop.h.
#pragma once

#include <functional>
#include <memory>

#include "spoa/ev/loop.h"

namespace myspoa::ev {

// Event bits for IoWatcher (same meaning as EV_READ / EV_WRITE).
constexpr int kRead = 0x01;
constexpr int kWrite = 0x02;

class IoWatcher {
 public:
  using Callback = std::function<void(int events)>;
  IoWatcher(Loop& loop, Callback cb);
  ~IoWatcher();
  IoWatcher(const IoWatcher&) = delete;
  IoWatcher& operator=(const IoWatcher&) = delete;

  void set(int fd, int events);  // stops the watcher if it was active
  void start();
  void stop();
  bool active() const;
  int events() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

class Timer {
 public:
  using Callback = std::function<void()>;
  Timer(Loop& loop, Callback cb);
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  void start(double after, double repeat = 0.0);  // restarts if active
  void stop();
  bool active() const;
  double remaining() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Wakes the loop from any thread; several send() before the callback runs coalesce into one call.
class Async {
 public:
  using Callback = std::function<void()>;
  Async(Loop& loop, Callback cb);
  ~Async();
  Async(const Async&) = delete;
  Async& operator=(const Async&) = delete;

  void start();
  void stop();
  void send();  // thread-safe

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// libev delivers a signal to one loop only; use it on the application's main loop.
class Signal {
 public:
  using Callback = std::function<void(int signum)>;
  Signal(Loop& loop, int signum, Callback cb);
  ~Signal();
  Signal(const Signal&) = delete;
  Signal& operator=(const Signal&) = delete;

  void start();
  void stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace myspoa::ev
