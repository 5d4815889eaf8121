// What a flap hold publishes (issue 14): the log never says "UP" for a server the hold keeps
// Down, and the snapshot carries the probed liveness and the good-probe streak that let the
// policy give writes to a held master that answers.
#include <catch2/catch.hpp>

#include <string>

#include "probes/hysteresis.h"

using namespace myspoa::probes;

namespace {
ProbeResult probe(bool ok, int64_t at) {
  ProbeResult r;
  r.ok = ok;
  r.at_ms = at;
  if (!ok) r.error = "connect timeout after 300 ms";
  return r;
}
bool says_up(const ServerHealth::Update& u) {
  for (const auto& m : u.messages)
    if (m.find(" UP") != std::string::npos && m.find("held DOWN") == std::string::npos) return true;
  return false;
}
}  // namespace

TEST_CASE("flap hold: no UP message while held, the snapshot shows the probed state") {
  struct Row {
    const char* situation;
    int rise;
  };
  for (const Row row : {Row{"rise 1", 1}, Row{"rise 2", 2}}) {
    DYNAMIC_SECTION(row.situation) {
      ServerHealth h("db01", {.rise = row.rise, .fall = 1}, 5.0, FlapDamping{2, 60000, 30000});
      int64_t t = 1000;
      for (int i = 0; i < row.rise; ++i) h.observe(probe(true, t += 250));
      REQUIRE(h.state().liveness == Liveness::Up);
      h.observe(probe(false, t += 250));                                    // change 1
      for (int i = 0; i < row.rise; ++i) h.observe(probe(true, t += 250));  // change 2
      auto u = h.observe(probe(false, t += 250));                           // change 3: held
      REQUIRE(u.flap_hold_started);
      CHECK(h.state().ok_streak == 0);
      // It answers again: the hysteresis says Up, the published state stays Down, and no
      // message reads "db01 UP".
      bool saw_changed = false;
      for (int i = 0; i < row.rise; ++i) {
        u = h.observe(probe(true, t += 250));
        CHECK_FALSE(says_up(u));
        if (u.liveness == Transition::Changed) {
          saw_changed = true;
          REQUIRE(u.messages.size() == 1);
          CHECK(u.messages[0] ==
                "db01 answers again but stays held DOWN (flapping: 3 transitions in 60 s, until "
                "stable for 30 s)");
        }
      }
      CHECK(saw_changed);
      CHECK(h.state().liveness == Liveness::Down);
      CHECK(h.state().flapping);
      CHECK(h.state().probed == Liveness::Up);
      CHECK(h.state().ok_streak == static_cast<uint32_t>(row.rise));
      // Released after hold_ms: now the real state is published (the release message says so).
      u = h.observe(probe(true, t += 30000));
      CHECK(u.flap_hold_ended);
      CHECK(h.state().liveness == Liveness::Up);
      CHECK(h.state().probed == Liveness::Up);
    }
  }
}

TEST_CASE("replica confirmation: IO progress is stamped when the read position moves") {
  ServerHealth h("db03", {.rise = 1, .fall = 1}, 5.0);
  auto at = [](int64_t ms, uint64_t pos, bool io) {
    ProbeResult r;
    r.ok = true;
    r.at_ms = ms;
    ReplicationStatus s;
    s.io_running = io;
    s.sql_running = true;
    s.seconds_behind = 0;
    s.master_log_file = s.relay_master_log_file = "db01-bin.000001";
    s.read_master_log_pos = s.exec_master_log_pos = pos;
    r.replication = s;
    return r;
  };
  h.observe(at(100, 500, true));
  CHECK(h.state().io_progress_at_ms == 0);  // nothing to compare with yet
  h.observe(at(350, 500, true));
  CHECK(h.state().io_progress_at_ms == 0);  // connected but idle
  h.observe(at(600, 800, true));
  CHECK(h.state().io_progress_at_ms == 600);
  h.observe(at(850, 900, false));  // moved, but the IO thread is not running any more
  CHECK(h.state().io_progress_at_ms == 600);
}
