#include "spoa/ev/loop.h"

#include <ev.h>

#include <cstdio>
#include <cstdlib>

#include "spoa/ev/loop_impl.h"

namespace myspoa::ev {

Loop::Loop() : impl_(std::make_unique<Impl>()) {
  impl_->loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
  if (impl_->loop == nullptr) {
    // Can't happen short of fd exhaustion at start-up: crash loudly.
    std::fprintf(stderr, "myspoa: ev_loop_new failed\n");
    std::abort();
  }
}

Loop::~Loop() {
  ev_loop_destroy(impl_->loop);
}

void Loop::run() {
  ev_run(impl_->loop, 0);
}
void Loop::run_once() {
  ev_run(impl_->loop, EVRUN_ONCE);
}
void Loop::break_loop() {
  ev_break(impl_->loop, EVBREAK_ALL);
}
double Loop::now() const {
  return ev_now(impl_->loop);
}
void Loop::update_now() {
  ev_now_update(impl_->loop);
}

}  // namespace myspoa::ev
