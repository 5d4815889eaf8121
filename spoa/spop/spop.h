// SPOP codec: the Stream Processing Offload Protocol as HAProxy 2.6 and 3.x speak it.
// Pure bytes in, values out: no libev, no MySQL, no logging, no exceptions. Decoded values are
// views into the caller's buffer (valid while that buffer is). See ../shared/docs/SPOP-NOTES.md.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace myspoa::spop {

using Bytes = std::span<const uint8_t>;

// Frame types (wire values).
enum class FrameType : uint8_t {
  Unset = 0,  // fragment continuation (2.x only; we refuse fragmentation)
  HaproxyHello = 1,
  HaproxyDisconnect = 2,
  Notify = 3,
  AgentHello = 101,
  AgentDisconnect = 102,
  Ack = 103,
};

// Frame flags (wire bits).
constexpr uint32_t kFlagFin = 0x00000001;    // last fragment of a frame; always set by us
constexpr uint32_t kFlagAbort = 0x00000002;  // fragmented frame aborted

// Typed data types (low nibble of the type byte).
enum class DataType : uint8_t {
  Null = 0,
  Bool = 1,
  Int32 = 2,
  Uint32 = 3,
  Int64 = 4,
  Uint64 = 5,
  Ipv4 = 6,
  Ipv6 = 7,
  String = 8,
  Binary = 9,
};

// DISCONNECT status codes (wire values).
enum class Status : uint8_t {
  Normal = 0,
  Io = 1,
  Timeout = 2,
  TooBig = 3,
  Invalid = 4,
  NoVersion = 5,
  NoFrameSize = 6,
  NoCapabilities = 7,
  BadVersion = 8,
  BadFrameSize = 9,
  FragmentationNotSupported = 10,
  InterlacedFrames = 11,
  FrameIdNotFound = 12,
  Resource = 13,
  Unknown = 99,
};
const char* to_string(Status s);

// Variable scopes for set-var / unset-var actions.
enum class Scope : uint8_t { Proc = 0, Sess = 1, Txn = 2, Req = 3, Res = 4 };

constexpr uint32_t kMinFrameSize = 256;
constexpr uint32_t kDefaultMaxFrameSize = 16384;

// ---- varint (HAProxy "peers" encoding, not LEB128) ----
// Appends the encoding of v; returns bytes written (1..10).
size_t encode_varint(uint64_t v, std::string& out);
// Decodes from in[pos...]; on success advances pos and returns true. False on truncation/overflow.
bool decode_varint(Bytes in, size_t& pos, uint64_t& v);

// ---- typed data ----
struct TypedValue {
  DataType type = DataType::Null;
  bool b = false;
  int64_t i = 0;                 // Int32, Int64
  uint64_t u = 0;                // Uint32, Uint64
  std::array<uint8_t, 16> ip{};  // Ipv4 uses the first 4 bytes
  std::string_view str;          // String, Binary: view into the decoded buffer

  static TypedValue null() { return {}; }
  static TypedValue boolean(bool v) {
    TypedValue t;
    t.type = DataType::Bool;
    t.b = v;
    return t;
  }
  static TypedValue int32(int32_t v) {
    TypedValue t;
    t.type = DataType::Int32;
    t.i = v;
    return t;
  }
  static TypedValue uint32(uint32_t v) {
    TypedValue t;
    t.type = DataType::Uint32;
    t.u = v;
    return t;
  }
  static TypedValue int64(int64_t v) {
    TypedValue t;
    t.type = DataType::Int64;
    t.i = v;
    return t;
  }
  static TypedValue uint64(uint64_t v) {
    TypedValue t;
    t.type = DataType::Uint64;
    t.u = v;
    return t;
  }
  static TypedValue string(std::string_view v) {
    TypedValue t;
    t.type = DataType::String;
    t.str = v;
    return t;
  }
  static TypedValue binary(std::string_view v) {
    TypedValue t;
    t.type = DataType::Binary;
    t.str = v;
    return t;
  }
};
void encode_typed(const TypedValue& v, std::string& out);
bool decode_typed(Bytes in, size_t& pos, TypedValue& v);   // false: truncated or unknown type
void encode_string(std::string_view s, std::string& out);  // bare: varint length + bytes
bool decode_string(Bytes in, size_t& pos, std::string_view& s);

// ---- framing ----
struct FrameHeader {
  FrameType type = FrameType::Unset;
  uint32_t flags = 0;
  uint64_t stream_id = 0;
  uint64_t frame_id = 0;
};

// Splits a byte stream into frames. Given the bytes received so far:
//   NeedMore: not a whole frame yet; TooBig: the announced length exceeds max_frame_size;
//   Ready: frame_len bytes (4-byte length prefix included) hold one whole frame.
enum class SplitResult { NeedMore, Ready, TooBig };
SplitResult split_frame(Bytes in, uint32_t max_frame_size, size_t& frame_len);

// Parses one whole frame (without its 4-byte length prefix) into header + payload view.
// Returns Status::Normal on success, else the DISCONNECT status to send (Invalid, ...).
Status parse_frame(Bytes frame, FrameHeader& header, Bytes& payload);

// ---- HELLO ----
struct HaproxyHello {
  std::string_view supported_versions;  // "2.0"
  uint32_t max_frame_size = 0;
  std::string_view capabilities;  // "pipelining,async"
  bool healthcheck = false;
  std::string_view engine_id;
  bool has_versions = false, has_max_frame_size = false, has_capabilities = false;
};
Status parse_haproxy_hello(Bytes payload, HaproxyHello& out);

// Negotiation result: the AGENT-HELLO to send, or the DISCONNECT status to send instead.
struct Negotiated {
  Status status = Status::Normal;
  uint32_t max_frame_size = 0;  // min(ours, HAProxy's)
  bool pipelining = false;      // HAProxy offered pipelining (we announce pipelining only)
  bool healthcheck = false;     // answer and close
};
Negotiated negotiate(const HaproxyHello& hello, uint32_t our_max_frame_size);

// Whole frames including the 4-byte length prefix, ready to write.
void encode_agent_hello(const Negotiated& n, std::string& out);
void encode_agent_disconnect(Status status, std::string_view message, std::string& out);

// ---- DISCONNECT from HAProxy ----
struct Disconnect {
  uint32_t status_code = 0;
  std::string_view message;
};
Status parse_disconnect(Bytes payload, Disconnect& out);

// ---- NOTIFY ----
struct Arg {
  std::string_view name;  // may be empty
  TypedValue value;
};
struct Message {
  std::string_view name;
  // Args are stored in Notify::args; this message's are [first_arg, first_arg + nb_args).
  uint32_t first_arg = 0;
  uint32_t nb_args = 0;
};
// Reused across frames: clear() keeps capacity so steady state does not allocate.
struct Notify {
  std::vector<Message> messages;
  std::vector<Arg> args;
  void clear() {
    messages.clear();
    args.clear();
  }
  std::span<const Arg> args_of(const Message& m) const {
    return {args.data() + m.first_arg, m.nb_args};
  }
  // First arg named `name` of the message, or nullptr.
  const TypedValue* arg(const Message& m, std::string_view name) const;
};
// A NOTIFY may hold zero messages (valid: ACK it anyway).
Status parse_notify(Bytes payload, Notify& out);

// ---- ACK ----
// Builds one ACK frame: begin(), any number of set_var/unset_var, finish(). The frame is encoded
// in place at the end of the caller's buffer (the connection's output buffer: no copy), or, with
// the two-argument begin(), into the writer's own reused buffer.
class AckWriter {
 public:
  void begin(uint64_t stream_id, uint64_t frame_id, std::string& out);
  void begin(uint64_t stream_id, uint64_t frame_id) { begin(stream_id, frame_id, own_); }
  void set_var(Scope scope, std::string_view name, const TypedValue& value);
  void unset_var(Scope scope, std::string_view name);
  // Patches the length prefix; returns the whole frame (valid until its buffer changes).
  std::string_view finish();
  // Removes the frame begun last from its buffer, leaving the buffer as begin() found it.
  void discard();
  size_t actions() const { return actions_; }

 private:
  std::string own_;
  std::string* out_ = nullptr;  // where the current frame goes
  size_t start_ = 0;            // its offset in *out_
  size_t actions_ = 0;
};

}  // namespace myspoa::spop
