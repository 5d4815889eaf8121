#include <catch2/catch.hpp>

#include "spoa/spop/spop.h"
#include "test_util.h"

using namespace myspoa::spop;
using myspoa::spop::test::bytes;
using myspoa::spop::test::hex;

TEST_CASE("split_frame: whole, partial, several and oversized frames", "[spop][frame]") {
  size_t len = 0;
  // Fewer than 4 bytes: the length itself is not known yet.
  CHECK(split_frame(bytes(hex("00 00 00")), 16384, len) == SplitResult::NeedMore);
  // Length 5 announced, 4 body bytes present.
  CHECK(split_frame(bytes(hex("00 00 00 05 03 00 00 00")), 16384, len) == SplitResult::NeedMore);
  // Exactly one frame, then one frame followed by the start of the next.
  len = 0;
  CHECK(split_frame(bytes(hex("00 00 00 02 aa bb")), 16384, len) == SplitResult::Ready);
  CHECK(len == 6);
  len = 0;
  CHECK(split_frame(bytes(hex("00 00 00 02 aa bb 00 00")), 16384, len) == SplitResult::Ready);
  CHECK(len == 6);
  // Length equal to the max is fine, one more is too big, even before the body arrives.
  CHECK(split_frame(bytes(hex("00 00 01 00")), 256, len) == SplitResult::NeedMore);
  CHECK(split_frame(bytes(hex("00 00 01 01")), 256, len) == SplitResult::TooBig);
  CHECK(split_frame(bytes(hex("ff ff ff ff")), 16384, len) == SplitResult::TooBig);
}

TEST_CASE("parse_frame: header fields and payload view", "[spop][frame]") {
  // NOTIFY, FIN, stream-id 300, frame-id 2288, payload "ab".
  const std::string f = hex("03 00 00 00 01 fc 03 f0 80 00 61 62");
  FrameHeader h;
  Bytes payload;
  REQUIRE(parse_frame(bytes(f), h, payload) == Status::Normal);
  CHECK(h.type == FrameType::Notify);
  CHECK(h.flags == kFlagFin);
  CHECK(h.stream_id == 300);
  CHECK(h.frame_id == 2288);
  REQUIRE(payload.size() == 2);
  CHECK(payload.data() == bytes(f).data() + 10);
}

TEST_CASE("parse_frame: an empty payload is fine", "[spop][frame]") {
  FrameHeader h;
  Bytes payload;
  REQUIRE(parse_frame(bytes(hex("03 00 00 00 01 00 01")), h, payload) == Status::Normal);
  CHECK(payload.empty());
  CHECK(h.frame_id == 1);
}

TEST_CASE("parse_frame: malformed frames give the right status", "[spop][frame]") {
  struct Case {
    const char* frame;
    Status status;
  };
  const Case cases[] = {
      {"", Status::Invalid},                                        // empty
      {"03 00 00 00", Status::Invalid},                             // flags cut short
      {"03 00 00 00 01", Status::Invalid},                          // no stream-id
      {"03 00 00 00 01 00", Status::Invalid},                       // no frame-id
      {"03 00 00 00 01 f0", Status::Invalid},                       // truncated stream-id varint
      {"04 00 00 00 01 00 00", Status::Invalid},                    // unknown type 4
      {"64 00 00 00 01 00 00", Status::Invalid},                    // unknown type 100
      {"ff 00 00 00 01 00 00", Status::Invalid},                    // unknown type 255
      {"01 00 00 00 01 01 00", Status::Invalid},                    // HELLO with a stream-id
      {"02 00 00 00 01 00 05", Status::Invalid},                    // DISCONNECT with a frame-id
      {"03 00 00 00 00 01 01", Status::FragmentationNotSupported},  // NOTIFY without FIN
      {"00 00 00 00 01 01 01", Status::FragmentationNotSupported},  // UNSET continuation
      {"03 00 00 00 03 01 01", Status::FragmentationNotSupported},  // ABORT
  };
  for (const auto& c : cases) {
    INFO(c.frame);
    const std::string f = hex(c.frame);
    FrameHeader h;
    Bytes payload;
    CHECK(parse_frame(bytes(f), h, payload) == c.status);
  }
}

TEST_CASE("to_string(Status) names every status", "[spop][frame]") {
  CHECK(std::string_view(to_string(Status::Normal)) == "normal");
  CHECK(std::string_view(to_string(Status::FragmentationNotSupported)) ==
        "fragmentation not supported");
  CHECK(std::string_view(to_string(static_cast<Status>(200))) == "unknown status");
}
