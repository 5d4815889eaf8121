// SpopServer on 127.0.0.1, port 0, spoken to in raw SPOP from the test.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "spoa/server/spop_server.h"
#include "tests/unit/server/haproxy_peer.h"

using namespace myspoa;
using myspoa::testing::Client;
using myspoa::testing::Frame;
using spop::FrameType;

namespace {

// Sets sess.myspoa.backend from the intent; intent "none" adds no action at all.
class TestHandler : public server::NotifyHandler {
 public:
  void on_notify(const spop::Notify& notify, spop::AckWriter& ack, int worker_index) override {
    calls.fetch_add(1);
    last_worker.store(worker_index);
    for (const spop::Message& m : notify.messages) {
      if (m.name != "myspoa-route") continue;
      const spop::TypedValue* intent = notify.arg(m, "intent");
      if (intent == nullptr || intent->type != spop::DataType::String) continue;
      if (intent->str == "none") return;
      if (intent->str == "throw") {  // half an answer, then a failure: none of it may be sent
        ack.set_var(spop::Scope::Sess, "backend", spop::TypedValue::string("be_half"));
        throw std::runtime_error("handler failed");
      }
      if (intent->str == "huge") {  // an answer larger than the negotiated frame size
        ack.set_var(spop::Scope::Sess, "backend",
                    spop::TypedValue::string(std::string(20000, 'x')));
        return;
      }
      ack.set_var(spop::Scope::Sess, "backend",
                  spop::TypedValue::string(intent->str == "write" ? "be_db01" : "be_db03"));
    }
  }
  std::atomic<int> calls{0};
  std::atomic<int> last_worker{-1};
};

struct Fixture {
  explicit Fixture(server::SpopServerOptions o = {}) {
    o.host = "127.0.0.1";
    o.port = 0;
    server = std::make_unique<server::SpopServer>(o, handler);
    std::string error;
    REQUIRE(server->start(error));
    REQUIRE(server->port() != 0);
  }
  TestHandler handler;
  std::unique_ptr<server::SpopServer> server;
};

server::SpopServerOptions opts(int threads = 1, uint32_t max_frame = 16384) {
  server::SpopServerOptions o;
  o.threads = threads;
  o.max_frame_size = max_frame;
  return o;
}

// Polls `cond` every 5 ms for at most `ms`.
bool eventually(const std::function<bool()>& cond, int ms = 2000) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return cond();
}

void require_agent_hello(Client& c, int64_t expect_max_frame) {
  auto f = c.read_frame();
  REQUIRE(f);
  REQUIRE(f->header.type == FrameType::AgentHello);
  auto kv = testing::decode_kv(f->payload);
  REQUIRE(kv);
  CHECK((*kv)["version"].str == "2.0");
  CHECK((*kv)["capabilities"].str == "pipelining");
  CHECK((*kv)["max-frame-size"].as_int() == expect_max_frame);
}

// Handshake on a fresh client.
void hello(Client& c, int64_t expect_max_frame = 16380) {
  REQUIRE(c.connected());
  REQUIRE(c.send(testing::haproxy_hello()));
  require_agent_hello(c, expect_max_frame);
}

void require_ack(Client& c, uint64_t stream, uint64_t frame, std::string_view backend) {
  auto f = c.read_frame();
  REQUIRE(f);
  REQUIRE(f->header.type == FrameType::Ack);
  CHECK(f->header.stream_id == stream);
  CHECK(f->header.frame_id == frame);
  CHECK((f->header.flags & spop::kFlagFin) != 0);
  auto actions = testing::decode_ack(f->payload);
  REQUIRE(actions);
  REQUIRE(actions->size() == 1);
  CHECK((*actions)[0].type == 1);
  CHECK((*actions)[0].scope == static_cast<uint8_t>(spop::Scope::Sess));
  CHECK((*actions)[0].name == "backend");
  CHECK((*actions)[0].value.str == backend);
}

// The AGENT-DISCONNECT status, or -1 if the next frame is something else / missing.
int64_t read_disconnect_status(Client& c) {
  auto f = c.read_frame();
  if (!f || f->header.type != FrameType::AgentDisconnect) return -1;
  auto kv = testing::decode_kv(f->payload);
  if (!kv || !kv->count("status-code") || !kv->count("message")) return -1;
  return (*kv)["status-code"].as_int();
}

}  // namespace

TEST_CASE("HELLO is negotiated and a NOTIFY gets an ACK with the handler's set-var", "[server]") {
  Fixture fx(opts(1, 16384));
  Client c(fx.server->port());
  hello(c, 16380);  // min(ours 16384, HAProxy's 16380)
  REQUIRE(c.send(testing::notify_frame(5, 7, "write")));
  require_ack(c, 5, 7, "be_db01");
  REQUIRE(c.send(testing::notify_frame(0, 8, "read")));  // 2.6 may use stream-id 0
  require_ack(c, 0, 8, "be_db03");
  REQUIRE(eventually([&] { return fx.server->counters().acks == 2; }));
  const auto k = fx.server->counters();
  CHECK(k.notifies == 2);
  CHECK(k.hellos == 1);
  CHECK(k.connections_open == 1);
  CHECK(k.protocol_errors == 0);
  CHECK(fx.handler.last_worker.load() == 0);
}

TEST_CASE("an ACK is never empty: a handler adding nothing gets the no-op set-var", "[server]") {
  Fixture fx(opts());
  Client c(fx.server->port());
  hello(c);
  REQUIRE(c.send(testing::notify_frame(1, 1, "none")));
  auto f = c.read_frame();
  REQUIRE(f);
  REQUIRE(f->header.type == FrameType::Ack);
  auto actions = testing::decode_ack(f->payload);
  REQUIRE(actions);
  REQUIRE(actions->size() == 1);
  CHECK((*actions)[0].type == 1);
  CHECK((*actions)[0].scope == static_cast<uint8_t>(spop::Scope::Txn));
  CHECK((*actions)[0].name == "noop");
}

// The ACK is encoded straight into the connection's output buffer: a failed or oversized answer
// must be taken back out without touching the ACKs queued before it in the same buffer.
TEST_CASE("a failing or oversized answer becomes a no-op ACK; the ACKs around it are intact",
          "[server]") {
  Fixture fx(opts(1, 16384));
  Client c(fx.server->port());
  hello(c);
  // One send: the four NOTIFYs are parsed in one read, their ACKs queued in one output buffer.
  REQUIRE(c.send(testing::notify_frame(1, 1, "write") + testing::notify_frame(1, 2, "throw") +
                 testing::notify_frame(1, 3, "huge") + testing::notify_frame(1, 4, "read")));
  require_ack(c, 1, 1, "be_db01");
  for (uint64_t id : {2, 3}) {
    auto f = c.read_frame();
    REQUIRE(f);
    REQUIRE(f->header.type == FrameType::Ack);
    CHECK(f->header.frame_id == id);
    auto actions = testing::decode_ack(f->payload);
    REQUIRE(actions);
    REQUIRE(actions->size() == 1);
    CHECK((*actions)[0].scope == static_cast<uint8_t>(spop::Scope::Txn));
    CHECK((*actions)[0].name == "noop");
  }
  require_ack(c, 1, 4, "be_db03");
  REQUIRE(eventually([&] { return fx.server->counters().acks == 4; }));
  CHECK(fx.server->counters().handler_errors == 2);
  CHECK(fx.server->counters().protocol_errors == 0);
}

TEST_CASE("a NOTIFY with zero messages is ACKed", "[server]") {
  Fixture fx(opts());
  Client c(fx.server->port());
  hello(c);
  REQUIRE(c.send(testing::raw_frame(FrameType::Notify, 3, 4, "")));
  auto f = c.read_frame();
  REQUIRE(f);
  CHECK(f->header.type == FrameType::Ack);
  CHECK(f->header.stream_id == 3);
  CHECK(f->header.frame_id == 4);
}

TEST_CASE("20 pipelined NOTIFYs on one connection are all ACKed with their ids", "[server]") {
  Fixture fx(opts());
  Client c(fx.server->port());
  hello(c);
  std::string batch;
  for (uint64_t i = 0; i < 20; ++i) batch += testing::notify_frame(1000 + i, 300 + i * 7, "write");
  REQUIRE(c.send(batch));
  for (uint64_t i = 0; i < 20; ++i) require_ack(c, 1000 + i, 300 + i * 7, "be_db01");
  REQUIRE(eventually([&] { return fx.server->counters().acks == 20; }));
  // One NOTIFY in kLatencySampleEvery is timed: the 16th here.
  const auto k = fx.server->counters();
  uint64_t timed = 0;
  for (uint64_t n : k.notify_latency) timed += n;
  CHECK(timed == 20 / server::kLatencySampleEvery);
  CHECK(k.notify_latency_sum_ns > 0);
  CHECK(k.latency_quantile_ns(0.99) > 0);
}

TEST_CASE("frames split byte by byte, and several frames in one write", "[server]") {
  Fixture fx(opts());
  SECTION("byte by byte") {
    Client c(fx.server->port());
    const std::string bytes = testing::haproxy_hello() + testing::notify_frame(9, 10, "read");
    for (char b : bytes) {
      REQUIRE(c.send(std::string_view(&b, 1)));
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    require_agent_hello(c, 16380);
    require_ack(c, 9, 10, "be_db03");
  }
  SECTION("HELLO and three NOTIFYs in one write") {
    Client c(fx.server->port());
    REQUIRE(c.send(testing::haproxy_hello() + testing::notify_frame(1, 1) +
                   testing::notify_frame(1, 2, "read") + testing::notify_frame(3, 1)));
    require_agent_hello(c, 16380);
    require_ack(c, 1, 1, "be_db01");
    require_ack(c, 1, 2, "be_db03");
    require_ack(c, 3, 1, "be_db01");
  }
  SECTION("a frame split across writes at the worst places") {
    Client c(fx.server->port());
    hello(c);
    const std::string n1 = testing::notify_frame(11, 12);
    const std::string n2 = testing::notify_frame(13, 14);
    REQUIRE(c.send(n1.substr(0, 2)));  // inside the length prefix
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    REQUIRE(c.send(n1.substr(2) + n2.substr(0, 6)));  // end of one, start of the next
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    REQUIRE(c.send(n2.substr(6)));
    require_ack(c, 11, 12, "be_db01");
    require_ack(c, 13, 14, "be_db01");
  }
}

TEST_CASE("a frame over the negotiated size gets DISCONNECT 3; other connections go on",
          "[server]") {
  Fixture fx(opts(1, 1024));
  Client good(fx.server->port());
  hello(good, 1024);
  Client bad(fx.server->port());
  hello(bad, 1024);
  // A NOTIFY padded with a long argument: 1025+ bytes after the length prefix.
  std::string payload = testing::notify_payload();
  std::string big;
  spop::encode_string("myspoa-route", big);
  big.push_back(1);
  testing::kv(big, "pad", spop::TypedValue::string(std::string(1100, 'x')));
  REQUIRE(bad.send(testing::raw_frame(FrameType::Notify, 1, 1, big)));
  CHECK(read_disconnect_status(bad) == 3);
  CHECK(bad.wait_closed());
  REQUIRE(good.send(testing::notify_frame(2, 2)));
  require_ack(good, 2, 2, "be_db01");
  Client fresh(fx.server->port());
  hello(fresh, 1024);
  REQUIRE(eventually([&] { return fx.server->counters().disconnects_with(3) == 1; }));
  CHECK(fx.server->counters().protocol_errors == 1);
}

TEST_CASE("malformed input gets DISCONNECT 4 and only that connection is closed", "[server]") {
  Fixture fx(opts());
  Client good(fx.server->port());
  hello(good);
  SECTION("unknown frame type") {
    Client c(fx.server->port());
    hello(c);
    REQUIRE(c.send(testing::raw_frame(static_cast<FrameType>(77), 1, 1, "garbage")));
    CHECK(read_disconnect_status(c) == 4);
    CHECK(c.wait_closed());
  }
  SECTION("NOTIFY whose argument count runs past the payload") {
    Client c(fx.server->port());
    hello(c);
    std::string p;
    spop::encode_string("myspoa-route", p);
    p.push_back(5);  // five args announced, none present
    REQUIRE(c.send(testing::raw_frame(FrameType::Notify, 1, 1, p)));
    CHECK(read_disconnect_status(c) == 4);
    CHECK(c.wait_closed());
  }
  SECTION("NOTIFY before HELLO") {
    Client c(fx.server->port());
    REQUIRE(c.send(testing::notify_frame(1, 1)));
    CHECK(read_disconnect_status(c) == 4);
    CHECK(c.wait_closed());
  }
  SECTION("random bytes that happen to frame as a short frame") {
    Client c(fx.server->port());
    REQUIRE(c.send(std::string("\x00\x00\x00\x03\xff\xfe\xfd", 7)));
    CHECK(read_disconnect_status(c) == 4);
    CHECK(c.wait_closed());
  }
  REQUIRE(good.send(testing::notify_frame(4, 4)));
  require_ack(good, 4, 4, "be_db01");
  CHECK(fx.server->counters().disconnects_with(4) == 1);
}

TEST_CASE("a health-check HELLO is answered, then the agent closes", "[server]") {
  Fixture fx(opts());
  Client c(fx.server->port());
  REQUIRE(c.send(testing::haproxy_hello(16380, "", true)));
  require_agent_hello(c, 16380);
  CHECK(c.wait_closed());
  c.close();  // as HAProxy does once it has the AGENT-HELLO
  REQUIRE(eventually([&] { return fx.server->counters().healthchecks == 1; }));
  REQUIRE(eventually([&] { return fx.server->counters().connections_open == 0; }));
}

TEST_CASE("HAPROXY-DISCONNECT: pending ACKs first, then AGENT-DISCONNECT normal, then close",
          "[server]") {
  Fixture fx(opts());
  Client c(fx.server->port());
  hello(c);
  REQUIRE(c.send(testing::notify_frame(1, 1) + testing::notify_frame(1, 2) +
                 testing::notify_frame(2, 1) + testing::haproxy_disconnect(0, "stopping")));
  require_ack(c, 1, 1, "be_db01");
  require_ack(c, 1, 2, "be_db01");
  require_ack(c, 2, 1, "be_db01");
  CHECK(read_disconnect_status(c) == 0);
  CHECK(c.wait_closed());
  REQUIRE(eventually([&] { return fx.server->counters().haproxy_disconnects == 1; }));
  CHECK(fx.server->counters().protocol_errors == 0);
}

TEST_CASE("a peer reset in the middle of a frame is a normal close", "[server]") {
  Fixture fx(opts());
  {
    Client c(fx.server->port());
    hello(c);
    const std::string n = testing::notify_frame(1, 1);
    REQUIRE(c.send(n.substr(0, n.size() / 2)));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    c.reset();
  }
  REQUIRE(eventually([&] { return fx.server->counters().connections_open == 0; }));
  CHECK(fx.server->counters().peer_closes == 1);
  CHECK(fx.server->counters().io_errors == 0);
  Client c(fx.server->port());
  hello(c);
  REQUIRE(c.send(testing::notify_frame(2, 2)));
  require_ack(c, 2, 2, "be_db01");
}

TEST_CASE("an idle connection is closed with DISCONNECT timeout", "[server]") {
  auto o = opts();
  o.idle_timeout = 0.2;
  Fixture fx(o);
  Client c(fx.server->port());
  hello(c);
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(read_disconnect_status(c) == 2);
  CHECK(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(150));
  CHECK(c.wait_closed());
}

TEST_CASE("connections are spread round-robin over the workers", "[server]") {
  Fixture fx(opts(2));
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 4; ++i) {
    clients.push_back(std::make_unique<Client>(fx.server->port()));
    hello(*clients.back());
    REQUIRE(clients.back()->send(testing::notify_frame(1, static_cast<uint64_t>(i))));
    require_ack(*clients.back(), 1, static_cast<uint64_t>(i), "be_db01");
  }
  CHECK(fx.server->worker_counters(0).acks == 2);
  CHECK(fx.server->worker_counters(1).acks == 2);
  CHECK(fx.server->counters().connections_open == 4);
}

TEST_CASE("stop() with connections open says goodbye, closes them and returns", "[server]") {
  Fixture fx(opts(2));
  Client serving(fx.server->port());
  hello(serving);
  Client waiting(fx.server->port());  // no HELLO yet
  Client partial(fx.server->port());
  hello(partial);
  REQUIRE(partial.send(testing::notify_frame(1, 1).substr(0, 5)));
  REQUIRE(eventually([&] { return fx.server->counters().connections_open == 3; }));

  const auto t0 = std::chrono::steady_clock::now();
  std::thread stopper([&] { fx.server->stop(); });  // from another thread, as the app does
  CHECK(read_disconnect_status(serving) == 0);
  CHECK(read_disconnect_status(waiting) == 0);
  CHECK(read_disconnect_status(partial) == 0);
  CHECK(serving.wait_closed());
  waiting.close();  // HAProxy closes on AGENT-DISCONNECT; `partial` does not, to test the bound
  serving.close();
  stopper.join();
  // Bounded by stop_timeout (1 s) for the peer that never closes.
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(3));
  CHECK_FALSE(fx.server->running());
  CHECK(fx.server->counters().connections_open == 0);
  Client late(fx.server->port());
  CHECK_FALSE(late.connected());
  fx.server->stop();  // idempotent
}

TEST_CASE("start() reports a port already in use", "[server]") {
  Fixture fx(opts());
  TestHandler h;
  auto o = opts();
  o.host = "127.0.0.1";
  o.port = fx.server->port();
  server::SpopServer second(o, h);
  std::string error;
  CHECK_FALSE(second.start(error));
  CHECK_FALSE(error.empty());
}
