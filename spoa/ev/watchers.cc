// Each watcher's Impl holds the libev struct first, so the callback recovers the Impl from the
// watcher pointer (w->data is set too, for clarity).
#include "spoa/ev/watchers.h"

#include <ev.h>

#include "spoa/ev/loop_impl.h"

namespace myspoa::ev {

static_assert(kRead == EV_READ && kWrite == EV_WRITE, "event bits must match libev");

// ---- io ----
struct IoWatcher::Impl {
  ev_io w;
  struct ev_loop* loop;
  Callback cb;
};

namespace {
void io_cb(struct ev_loop*, ev_io* w, int revents) {
  auto* impl = static_cast<IoWatcher::Impl*>(w->data);
  impl->cb(revents & (EV_READ | EV_WRITE));
}
void timer_cb(struct ev_loop*, ev_timer* w, int);
void async_cb(struct ev_loop*, ev_async* w, int);
void signal_cb(struct ev_loop*, ev_signal* w, int);
}  // namespace

IoWatcher::IoWatcher(Loop& loop, Callback cb)
    : impl_(new Impl{ev_io{}, loop.impl()->loop, std::move(cb)}) {
  ev_io_init(&impl_->w, io_cb, -1, 0);
  impl_->w.data = impl_.get();
}
IoWatcher::~IoWatcher() {
  stop();
}

void IoWatcher::set(int fd, int events) {
  stop();
  ev_io_set(&impl_->w, fd, events);
}
void IoWatcher::start() {
  ev_io_start(impl_->loop, &impl_->w);
}
void IoWatcher::stop() {
  ev_io_stop(impl_->loop, &impl_->w);
}
bool IoWatcher::active() const {
  return ev_is_active(&impl_->w);
}
int IoWatcher::events() const {
  return impl_->w.events & (EV_READ | EV_WRITE);
}

// ---- timer ----
struct Timer::Impl {
  ev_timer w;
  struct ev_loop* loop;
  Callback cb;
};

Timer::Timer(Loop& loop, Callback cb)
    : impl_(new Impl{ev_timer{}, loop.impl()->loop, std::move(cb)}) {
  ev_timer_init(&impl_->w, timer_cb, 0., 0.);
  impl_->w.data = impl_.get();
}
Timer::~Timer() {
  stop();
}

void Timer::start(double after, double repeat) {
  ev_timer_stop(impl_->loop, &impl_->w);
  ev_timer_set(&impl_->w, after, repeat);
  ev_timer_start(impl_->loop, &impl_->w);
}
void Timer::stop() {
  ev_timer_stop(impl_->loop, &impl_->w);
}
bool Timer::active() const {
  return ev_is_active(&impl_->w);
}
double Timer::remaining() const {
  return ev_timer_remaining(impl_->loop, &impl_->w);
}

// ---- async ----
struct Async::Impl {
  ev_async w;
  struct ev_loop* loop;
  Callback cb;
};

Async::Async(Loop& loop, Callback cb)
    : impl_(new Impl{ev_async{}, loop.impl()->loop, std::move(cb)}) {
  ev_async_init(&impl_->w, async_cb);
  impl_->w.data = impl_.get();
}
Async::~Async() {
  stop();
}

void Async::start() {
  ev_async_start(impl_->loop, &impl_->w);
}
void Async::stop() {
  ev_async_stop(impl_->loop, &impl_->w);
}
void Async::send() {
  ev_async_send(impl_->loop, &impl_->w);
}

// ---- signal ----
struct Signal::Impl {
  ev_signal w;
  struct ev_loop* loop;
  Callback cb;
};

Signal::Signal(Loop& loop, int signum, Callback cb)
    : impl_(new Impl{ev_signal{}, loop.impl()->loop, std::move(cb)}) {
  ev_signal_init(&impl_->w, signal_cb, signum);
  impl_->w.data = impl_.get();
}
Signal::~Signal() {
  stop();
}

void Signal::start() {
  ev_signal_start(impl_->loop, &impl_->w);
}
void Signal::stop() {
  ev_signal_stop(impl_->loop, &impl_->w);
}

namespace {
void timer_cb(struct ev_loop*, ev_timer* w, int) {
  static_cast<Timer::Impl*>(w->data)->cb();
}
void async_cb(struct ev_loop*, ev_async* w, int) {
  static_cast<Async::Impl*>(w->data)->cb();
}
void signal_cb(struct ev_loop*, ev_signal* w, int) {
  auto* impl = static_cast<Signal::Impl*>(w->data);
  impl->cb(impl->w.signum);
}
}  // namespace

}  // namespace myspoa::ev
