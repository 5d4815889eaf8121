#include <catch2/catch.hpp>

#include "spoa/spop/spop.h"
#include "test_util.h"

using namespace myspoa::spop;
using myspoa::spop::test::bytes;
using myspoa::spop::test::hex;
using myspoa::spop::test::str;

TEST_CASE("NOTIFY: messages and their args", "[spop][notify]") {
  // Two messages: myspoa-route(intent="write", ""=int64 7) and ping() with no args.
  const std::string p = str("myspoa-route") + "\x02" + str("intent") + "\x08" + str("write") +
                        str("") + "\x04\x07" + str("ping") + std::string(1, '\0');
  Notify n;
  REQUIRE(parse_notify(bytes(p), n) == Status::Normal);
  REQUIRE(n.messages.size() == 2);
  CHECK(n.messages[0].name == "myspoa-route");
  CHECK(n.messages[0].nb_args == 2);
  CHECK(n.messages[1].name == "ping");
  CHECK(n.messages[1].nb_args == 0);
  CHECK(n.args_of(n.messages[1]).empty());

  const auto args = n.args_of(n.messages[0]);
  REQUIRE(args.size() == 2);
  CHECK(args[0].name == "intent");
  CHECK(args[1].name.empty());
  CHECK(args[1].value.i == 7);

  const TypedValue* intent = n.arg(n.messages[0], "intent");
  REQUIRE(intent != nullptr);
  CHECK(intent->type == DataType::String);
  CHECK(intent->str == "write");
  CHECK(n.arg(n.messages[0], "missing") == nullptr);
  CHECK(n.arg(n.messages[1], "intent") == nullptr);  // args of another message are not visible
}

TEST_CASE("NOTIFY: zero messages is valid", "[spop][notify]") {
  Notify n;
  n.messages.push_back({});  // stale content from a previous frame is cleared
  REQUIRE(parse_notify(Bytes{}, n) == Status::Normal);
  CHECK(n.messages.empty());
  CHECK(n.args.empty());
}

TEST_CASE("NOTIFY: lying or truncated payloads are Invalid", "[spop][notify]") {
  const std::string good = str("m") + "\x01" + str("a") + "\x04\x07";
  struct Case {
    const char* what;
    std::string payload;
  };
  const Case cases[] = {
      {"nb-args says 2, one present", str("m") + "\x02" + str("a") + "\x04\x07"},
      {"nb-args says 255, none present", str("m") + "\xff"},
      {"message name without nb-args", str("m")},
      {"message name length past the end", hex("05 61 62")},
      {"arg name without value", str("m") + "\x01" + str("a")},
      {"arg value of unknown type", str("m") + "\x01" + str("a") + "\x0c"},
      {"arg value truncated", str("m") + "\x01" + str("a") + "\x08\x05" + "ab"},
      {"second message truncated", good + str("n")},
      {"trailing byte", good + "\xf0"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    Notify n;
    CHECK(parse_notify(bytes(c.payload), n) == Status::Invalid);
  }
  Notify n;
  CHECK(parse_notify(bytes(good), n) == Status::Normal);
}

TEST_CASE("NOTIFY: a reused Notify keeps its storage (no steady-state allocation)",
          "[spop][notify]") {
  std::string p;
  for (int i = 0; i < 3; ++i) p += str("m") + "\x02" + str("a") + "\x04\x07" + str("b") + "\x11";
  Notify n;
  REQUIRE(parse_notify(bytes(p), n) == Status::Normal);
  REQUIRE(n.args.size() == 6);
  const Arg* args_storage = n.args.data();
  const Message* msg_storage = n.messages.data();
  for (int round = 0; round < 10; ++round) {
    REQUIRE(parse_notify(bytes(p), n) == Status::Normal);
    CHECK(n.args.data() == args_storage);
    CHECK(n.messages.data() == msg_storage);
    CHECK(n.messages.size() == 3);
    CHECK(n.args_of(n.messages[2])[1].value.b);
  }
}
