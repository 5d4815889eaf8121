#include <catch2/catch.hpp>

#include "spoa/spop/spop.h"
#include "test_util.h"

using namespace myspoa::spop;
using myspoa::spop::test::bytes;
using myspoa::spop::test::hex;
using myspoa::spop::test::to_hex;

TEST_CASE("ACK: byte-exact frame with set-var and unset-var", "[spop][ack]") {
  AckWriter w;
  w.begin(1, 7);
  w.set_var(Scope::Sess, "backend", TypedValue::string("be_db03"));
  w.set_var(Scope::Sess, "refused", TypedValue::int64(0));
  w.unset_var(Scope::Txn, "foo");
  CHECK(w.actions() == 3);
  const std::string_view frame = w.finish();
  const std::string expected = hex("00 00 00 2f"  // length 47
                                   "67"           // ACK
                                   "00 00 00 01"  // FIN
                                   "01 07") +     // stream-id 1, frame-id 7
                               hex("01 03 01 07") +
                               "backend" + hex("08 07") + "be_db03" + hex("01 03 01 07") +
                               "refused" + hex("04 00") + hex("02 02 02 03") + "foo";
  CHECK(to_hex(frame) == to_hex(expected));
}

TEST_CASE("ACK: ids are echoed as varints", "[spop][ack]") {
  AckWriter w;
  w.begin(300, 2288);
  w.set_var(Scope::Sess, "x", TypedValue::boolean(true));
  const std::string expected =
      hex("00 00 00 10  67  00 00 00 01  fc 03  f0 80 00  01 03 01 01") + "x" + hex("11");
  CHECK(to_hex(w.finish()) == to_hex(expected));
}

TEST_CASE("ACK: the frame parses back", "[spop][ack]") {
  AckWriter w;
  w.begin(5, 9);
  w.set_var(Scope::Sess, "backend", TypedValue::string("be_db01"));
  const std::string frame(w.finish());
  size_t len = 0;
  REQUIRE(split_frame(bytes(frame), kDefaultMaxFrameSize, len) == SplitResult::Ready);
  CHECK(len == frame.size());
  FrameHeader h;
  Bytes payload;
  REQUIRE(parse_frame(bytes(frame).subspan(4), h, payload) == Status::Normal);
  CHECK(h.type == FrameType::Ack);
  CHECK(h.stream_id == 5);
  CHECK(h.frame_id == 9);
  REQUIRE(payload.size() >= 3);
  CHECK(payload[0] == 1);  // set-var
  CHECK(payload[1] == 3);  // nb-args
  CHECK(payload[2] == 1);  // sess
}

TEST_CASE("ACK: begin() resets; the buffer is reused (no steady-state allocation)", "[spop][ack]") {
  AckWriter w;
  w.begin(1, 1);
  w.set_var(Scope::Sess, "backend", TypedValue::string("be_db02"));
  const std::string first(w.finish());
  const char* storage = w.finish().data();
  for (int i = 0; i < 10; ++i) {
    w.begin(1, 1);
    CHECK(w.actions() == 0);
    w.set_var(Scope::Sess, "backend", TypedValue::string("be_db02"));
    const std::string_view again = w.finish();
    CHECK(again == first);
    CHECK(again.data() == storage);
  }
}

TEST_CASE("ACK: finish() without begin() is empty", "[spop][ack]") {
  AckWriter w;
  CHECK(w.finish().empty());
}

TEST_CASE("ACK: encoded in place after what the output buffer already holds", "[spop][ack]") {
  AckWriter own;
  own.begin(3, 4);
  own.set_var(Scope::Sess, "backend", TypedValue::string("be_db01"));
  const std::string alone(own.finish());

  std::string out = "queued-bytes";  // an earlier frame still waiting to be sent
  AckWriter w;
  w.begin(3, 4, out);
  w.set_var(Scope::Sess, "backend", TypedValue::string("be_db01"));
  const std::string_view frame = w.finish();
  CHECK(frame == alone);
  CHECK(out == "queued-bytes" + alone);
  CHECK(frame.data() == out.data() + 12);  // a view into the output buffer: no copy

  // A second frame follows the first; discard() takes only the last one back out.
  w.begin(3, 5, out);
  w.set_var(Scope::Sess, "backend", TypedValue::string("be_db02"));
  w.finish();
  CHECK(out.size() > 12 + alone.size());
  w.discard();
  CHECK(w.actions() == 0);
  CHECK(out == "queued-bytes" + alone);
}

TEST_CASE("ACK: discard() before finish() leaves the output buffer as it was", "[spop][ack]") {
  std::string out = "abc";
  AckWriter w;
  w.begin(1, 1, out);
  w.set_var(Scope::Sess, "x", TypedValue::boolean(true));
  w.discard();
  CHECK(out == "abc");
}
