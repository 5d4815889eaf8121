// The agent's hot path and its edges: read spreading, the per-connection answer, the decision
// mailbox, and the MySQL ERR packet of the refusal endpoint.
#include <catch2/catch.hpp>

#include <map>
#include <set>

#include "spoa/app/decision_board.h"
#include "spoa/app/route_handler.h"
#include "spoa/refusal/refusal_endpoint.h"

using myspoa::app::DecisionBoard;
using myspoa::app::Intent;
using myspoa::app::pick_reader;
using myspoa::app::RouteHandler;
using myspoa::app::RouteResult;
using myspoa::policy::Decision;

namespace {

Decision healthy(std::vector<std::pair<std::string, int>> pool) {
  Decision d;
  d.known = true;
  d.writer = "db01";
  d.writer_backend = "be_db01";
  d.scenario = "healthy";
  for (auto& [name, w] : pool) {
    d.read_pool.push_back({name, "be_" + name, w});
    d.total_read_weight += w;
  }
  return d;
}

// Builds a NOTIFY payload with one "myspoa-route" message and parses it into `out`.
void parse_route(const std::string& intent, std::string& storage, myspoa::spop::Notify& out) {
  storage.clear();
  myspoa::spop::encode_string("myspoa-route", storage);
  storage.push_back(1);
  myspoa::spop::encode_string("intent", storage);
  myspoa::spop::encode_typed(myspoa::spop::TypedValue::string(intent), storage);
  const myspoa::spop::Bytes bytes(reinterpret_cast<const uint8_t*>(storage.data()), storage.size());
  REQUIRE(myspoa::spop::parse_notify(bytes, out) == myspoa::spop::Status::Normal);
}

// Decodes the set-var actions of an ACK frame into name -> string/int value.
std::map<std::string, std::string> vars_of(std::string_view frame) {
  const myspoa::spop::Bytes in(reinterpret_cast<const uint8_t*>(frame.data()) + 4,
                               frame.size() - 4);
  myspoa::spop::FrameHeader h;
  myspoa::spop::Bytes payload;
  REQUIRE(myspoa::spop::parse_frame(in, h, payload) == myspoa::spop::Status::Normal);
  std::map<std::string, std::string> vars;
  size_t pos = 0;
  while (pos < payload.size()) {
    REQUIRE(payload[pos++] == 1);  // set-var
    REQUIRE(payload[pos++] == 3);  // nb-args
    REQUIRE(payload[pos++] == static_cast<uint8_t>(myspoa::spop::Scope::Sess));
    std::string_view name;
    REQUIRE(myspoa::spop::decode_string(payload, pos, name));
    myspoa::spop::TypedValue v;
    REQUIRE(myspoa::spop::decode_typed(payload, pos, v));
    vars[std::string(name)] =
        v.type == myspoa::spop::DataType::String ? std::string(v.str) : std::to_string(v.i);
  }
  return vars;
}

}  // namespace

TEST_CASE("pick_reader: shares follow the weights, and a few picks reach every server") {
  const auto d =
      healthy({{"db01", 100}, {"db02", 100}, {"db03", 100}, {"db04", 100}, {"db05", 100}});
  std::set<int> first5;
  for (uint64_t n = 0; n < 5; ++n) first5.insert(pick_reader(d, n));
  CHECK(first5.size() == 5);

  const auto w = healthy({{"db01", 100}, {"db03", 10}, {"db04", 50}});
  std::map<int, int> counts;
  const int total = 16000;
  for (int n = 0; n < total; ++n) counts[pick_reader(w, static_cast<uint64_t>(n))]++;
  CHECK(counts[0] == Approx(total * 100.0 / 160).epsilon(0.01));
  CHECK(counts[1] == Approx(total * 10.0 / 160).epsilon(0.02));
  CHECK(counts[2] == Approx(total * 50.0 / 160).epsilon(0.01));

  Decision empty = healthy({});
  CHECK(pick_reader(empty, 3) == -1);
}

TEST_CASE("RouteHandler answers writes and reads from the worker's decision") {
  DecisionBoard board(2);
  RouteHandler handler(board);
  std::string storage;
  myspoa::spop::Notify notify;
  myspoa::spop::AckWriter ack;

  // Before any decision: refused, scenario "starting".
  parse_route("write", storage, notify);
  ack.begin(1, 1);
  handler.on_notify(notify, ack, 0);
  auto vars = vars_of(ack.finish());
  CHECK(vars["backend"] == "be_myspoa_refuse");
  CHECK(vars["scenario"] == "starting");
  CHECK(vars["refused"] == "1");

  board.publish(std::make_shared<Decision>(healthy({{"db03", 100}})));
  ack.begin(1, 2);
  handler.on_notify(notify, ack, 0);
  vars = vars_of(ack.finish());
  CHECK(vars["backend"] == "be_db01");
  CHECK(vars["server"] == "db01");
  CHECK(vars["refused"] == "0");

  parse_route("read", storage, notify);
  ack.begin(1, 3);
  handler.on_notify(notify, ack, 1);  // the other worker sees the same decision
  vars = vars_of(ack.finish());
  CHECK(vars["backend"] == "be_db03");
  CHECK(vars["scenario"] == "healthy");

  parse_route("bogus", storage, notify);
  ack.begin(1, 4);
  handler.on_notify(notify, ack, 1);
  CHECK(ack.actions() == 0);  // the server adds its no-op variable
  CHECK(handler.unknown_messages() == 1);
  CHECK(handler.decisions(Intent::Write, RouteResult::Refused) == 1);
  CHECK(handler.decisions(Intent::Write, RouteResult::Routed) == 1);
  CHECK(handler.decisions(Intent::Read, RouteResult::Routed) == 1);
}

TEST_CASE("DecisionBoard: each worker picks up the newest decision; unread ones are dropped") {
  DecisionBoard board(1);
  CHECK_FALSE(board.for_worker(0).known);
  for (int i = 1; i <= 3; ++i) {
    auto d = healthy({});
    d.generation = static_cast<uint64_t>(i);
    board.publish(std::make_shared<Decision>(d));
  }
  CHECK(board.for_worker(0).generation == 3);
  CHECK(board.latest()->generation == 3);
}

TEST_CASE("DecisionBoard: workers share the published decision, no copy; it lives while held") {
  DecisionBoard board(2);
  auto d = std::make_shared<Decision>(healthy({{"db03", 100}}));
  const Decision* published = d.get();
  board.publish(d);
  d.reset();
  CHECK(&board.for_worker(0) == published);
  CHECK(&board.for_worker(1) == published);
  CHECK(board.latest().get() == published);
  // A newer decision: worker 0 moves on, worker 1 (not called yet) still holds the old one.
  board.publish(std::make_shared<Decision>(healthy({})));
  CHECK(&board.for_worker(0) != published);
  CHECK(board.for_worker(1).read_pool.empty());  // it picks up the newest at its next call
}

TEST_CASE("refusal endpoint: a pre-handshake MySQL ERR packet") {
  const auto p = myspoa::refusal::mysql_err_packet(1105, "myspoa: writes refused: split brain");
  REQUIRE(p.size() == 4 + 3 + 35);
  CHECK(static_cast<uint8_t>(p[0]) == 38);  // payload length, little-endian
  CHECK(p[1] == 0);
  CHECK(p[2] == 0);
  CHECK(p[3] == 0);  // sequence id
  CHECK(static_cast<uint8_t>(p[4]) == 0xff);
  CHECK(static_cast<uint8_t>(p[5]) == (1105 & 0xff));
  CHECK(static_cast<uint8_t>(p[6]) == (1105 >> 8));
  CHECK(p.substr(7) == "myspoa: writes refused: split brain");
}
