// The executor shared by alerts, writer actions and the consistency scheduler: order, delays,
// the bounded queue, and what stop() does with waiting tasks. Real threads, bounded waits.
#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "spoa/executor/executor.h"

using myspoa::executor::Executor;
using namespace std::chrono_literals;

namespace {

// A gate a task waits on, so the test controls when the running task finishes.
class Gate {
 public:
  void open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  // True when opened (false after 5 s: the test then fails instead of hanging).
  bool wait() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 5s, [this] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

// Records the order tasks ran in.
struct Log {
  std::mutex mu;
  std::vector<int> ran;
  void add(int i) {
    std::lock_guard lock(mu);
    ran.push_back(i);
  }
  std::vector<int> get() {
    std::lock_guard lock(mu);
    return ran;
  }
  // Waits (bounded) until n tasks ran.
  bool wait_for(size_t n) {
    for (int i = 0; i < 500; ++i) {
      if (get().size() >= n) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }
};

}  // namespace

TEST_CASE("executor runs tasks one at a time in posting order", "[executor]") {
  Executor ex("test", 1000);
  Log log;
  Gate gate;
  // The first task holds the worker so every other one is queued before any runs.
  REQUIRE(ex.post([&] { gate.wait(); }));
  for (int i = 0; i < 200; ++i) REQUIRE(ex.post([&log, i] { log.add(i); }));
  gate.open();
  REQUIRE(log.wait_for(200));
  const auto ran = log.get();
  for (int i = 0; i < 200; ++i) CHECK(ran[static_cast<size_t>(i)] == i);
}

TEST_CASE("executor runs a delayed task after its delay, behind tasks due earlier", "[executor]") {
  Executor ex("test", 10);
  Log log;
  const int64_t t0 = myspoa::clock::steady_ms();
  int64_t delayed_at = 0;
  REQUIRE(ex.post_after(150, [&] {
    delayed_at = myspoa::clock::steady_ms();
    log.add(2);
  }));
  REQUIRE(ex.post_after(50, [&] { log.add(1); }));
  REQUIRE(ex.post([&] { log.add(0); }));
  REQUIRE(log.wait_for(3));
  CHECK(log.get() == std::vector<int>{0, 1, 2});
  CHECK(delayed_at - t0 >= 150);
}

TEST_CASE("executor refuses tasks beyond its capacity; the running task does not count",
          "[executor]") {
  Executor ex("test", 2);
  Log log;
  Gate gate, started;
  REQUIRE(ex.post([&] {
    started.open();
    gate.wait();
  }));
  REQUIRE(started.wait());  // the worker holds the first task: the queue is empty again
  CHECK(ex.post([&] { log.add(1); }));
  CHECK(ex.post([&] { log.add(2); }));
  CHECK(ex.waiting() == 2);
  CHECK_FALSE(ex.post([&] { log.add(3); }));  // full: refused, never runs
  CHECK_FALSE(ex.post_after(10, [&] { log.add(4); }));
  gate.open();
  REQUIRE(log.wait_for(2));
  CHECK(ex.post([&] { log.add(5); }));  // room again
  REQUIRE(log.wait_for(3));
  CHECK(log.get() == std::vector<int>{1, 2, 5});
}

TEST_CASE("executor stop(Drop) drops waiting tasks and lets the running one finish", "[executor]") {
  Executor ex("test", 10);
  Log log;
  Gate started;
  bool saw_stopping = false;
  REQUIRE(ex.post([&] {
    started.open();
    // A long task polls stopping() to finish early.
    for (int i = 0; i < 500 && !ex.stopping(); ++i) std::this_thread::sleep_for(10ms);
    saw_stopping = ex.stopping();
    log.add(0);
  }));
  REQUIRE(ex.post([&] { log.add(1); }));
  REQUIRE(ex.post_after(10000, [&] { log.add(2); }));
  REQUIRE(started.wait());
  CHECK(ex.stop(Executor::OnStop::Drop) == 2);
  CHECK(saw_stopping);
  CHECK(log.get() == std::vector<int>{0});    // the running task finished; the others never ran
  CHECK_FALSE(ex.post([&] { log.add(3); }));  // stopped: refused
  CHECK(ex.stop() == 0);                      // idempotent
}

TEST_CASE("executor stop(Drain) runs every waiting task first, delayed ones at once",
          "[executor]") {
  Executor ex("test", 10);
  Log log;
  Gate gate, started;
  REQUIRE(ex.post([&] {
    started.open();
    gate.wait();
    log.add(0);
  }));
  REQUIRE(ex.post_after(60000, [&] { log.add(2); }));
  REQUIRE(ex.post([&] { log.add(1); }));
  REQUIRE(started.wait());
  std::thread opener([&] {
    std::this_thread::sleep_for(50ms);
    gate.open();
  });
  const int64_t t0 = myspoa::clock::steady_ms();
  CHECK(ex.stop(Executor::OnStop::Drain) == 0);
  opener.join();
  CHECK(log.get() == std::vector<int>{0, 1, 2});
  CHECK(myspoa::clock::steady_ms() - t0 < 5000);  // did not wait the 60 s delay
}
