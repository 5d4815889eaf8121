// RAII wrappers around libev: this folder is the only place that includes <ev.h>. Everything else
// sees a Loop and four watcher kinds (io, timer, async, signal) whose callbacks are std::function.
// A Loop and its watchers belong to one thread; only Async::send() may be called from another.
#pragma once

#include <memory>

namespace myspoa::ev {

class Loop {
 public:
  Loop();  // a new epoll (or best available) loop; aborts if libev cannot create one
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  void run();          // until no active watchers remain or break_loop()
  void run_once();     // one iteration, blocking until at least one event
  void break_loop();   // from a callback on this loop's thread
  double now() const;  // the loop's cached time (seconds)
  void update_now();

  struct Impl;
  Impl* impl() const { return impl_.get(); }

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace myspoa::ev
