#include "probes/blocking_session.h"

#include "spoa/ev/loop.h"

namespace myspoa::probes {

struct BlockingSession::Impl {
  Impl() = default;
  ~Impl() {
    client.reset();  // stops its watchers on `loop` first
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  // Runs `sql` on the client and the loop until the client calls back (its deadline timer is
  // always armed while it works, so this ends).
  QueryOutcome run(const std::string& sql) {
    // The loop sleeps between statements: refresh its clock, or the new deadline would be
    // measured from the end of the previous statement.
    loop.update_now();
    bool done = false;
    QueryOutcome out;
    client->run(sql, [&](QueryOutcome&& o) {
      out = std::move(o);
      done = true;
    });
    while (!done) loop.run_once();
    return out;
  }

  ev::Loop loop;  // declared before client: destroyed after it
  std::unique_ptr<MysqlClient> client;
  std::string lost;  // why the connection went away, once it has
};

BlockingSession::BlockingSession() = default;
BlockingSession::~BlockingSession() = default;
BlockingSession::BlockingSession(BlockingSession&&) noexcept = default;
BlockingSession& BlockingSession::operator=(BlockingSession&&) noexcept = default;

std::string BlockingSession::connect(const MysqlClientSettings& settings) {
  if (!impl_) impl_ = std::make_unique<Impl>();
  impl_->client.reset();
  impl_->lost.clear();
  // A fresh client per connection: no back-off left over from an earlier failure.
  impl_->client = std::make_unique<MysqlClient>(impl_->loop, settings, 0);
  auto o = impl_->run("DO 1");
  if (o.ok) return "";
  impl_->client.reset();
  return "connect to " + settings.host + ":" + std::to_string(settings.port) + ": " + o.error;
}

bool BlockingSession::connected() const {
  return impl_ && impl_->client && impl_->client->connected();
}

void BlockingSession::close() {
  if (impl_) impl_->client.reset();
}

QueryOutcome BlockingSession::query(const std::string& sql) {
  if (!connected()) {
    QueryOutcome o;
    o.connect_failed = true;
    o.error = impl_ && !impl_->lost.empty() ? "not connected (lost: " + impl_->lost + ")"
                                            : "not connected";
    return o;
  }
  auto o = impl_->run(sql);
  if (!impl_->client->connected()) {
    // The client closed the handle (timeout, lost connection): the session's settings are gone
    // with it, so it stays closed.
    impl_->lost = o.error;
    impl_->client.reset();
  }
  return o;
}

}  // namespace myspoa::probes
