// Flap damping never turns "a master is up and healthy" into "no writer" (issue 14): when every
// master is held as flapping (or down) and one of them answered its last `rise` probes, it takes
// writes with a note.
#include "tests/unit/policy/policy_fixture.h"

namespace {
MysqlConfig rise2() {
  MysqlConfig m = mysql_cfg();
  m.rise = 2;
  return m;
}
}  // namespace

TEST_CASE("flap holds: every master held, one answering for rise probes takes writes",
          "[policy][flap]") {
  const ClusterConfig cluster = seed_cluster();
  struct Row {
    const char* situation;
    std::function<void(World&)> apply;
    const char* writer;  // "" = refused
    const char* note;    // a note that must be present, "" none
    Names reads;
  };
  const std::vector<Row> rows = {
      {"both held, db01 answering", [](World& w) { w.flapping("db01", 2).flapping("db02", 0); },
       "db01", "db01 takes part although held as flapping", Names{"db01", "db03", "db04"}},
      {"both held, only db02 answering",
       [](World& w) { w.flapping("db01", 1).flapping("db02", 7); }, "db02",
       "db02 answered its last 7 probes", Names{"db02", "db05"}},
      {"both held, both answering: preference order",
       [](World& w) { w.flapping("db01", 3).flapping("db02", 3); }, "db01",
       "every master is held or down", Names{"db01", "db03", "db04"}},
      {"db01 held and answering, db02 down", [](World& w) { w.flapping("db01", 2).down("db02"); },
       "db01", "db01 takes part", Names{"db01", "db03", "db04"}},
      {"both held, neither answered rise probes",
       [](World& w) { w.flapping("db01", 1).flapping("db02", 0); }, "", "", Names{}},
      {"held but its probes fail (probed down)",
       [](World& w) {
         w.flapping("db01", 5).flapping("db02", 0);
         w.at("db01").probed = Liveness::Down;
       },
       "", "", Names{}},
      // The other master is up: the hold keeps doing its job.
      {"db01 held, db02 up", [](World& w) { w.flapping("db01", 9).broken("db02"); }, "db02", "",
       Names{"db02", "db05"}},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.situation) {
      World w(cluster);
      row.apply(w);
      const Decision d = decide(w.s, cluster, rise2(), nullptr, {}, 1000);
      CHECK(writer_of(d) == row.writer);
      CHECK(read_names(d) == row.reads);
      if (*row.note) CHECK(has_note(d, row.note));
      if (!*row.writer) CHECK_FALSE(has_note(d, "held as flapping"));
      if (*row.writer && *row.note) CHECK(verdict(d, row.writer).up);
    }
  }
}

TEST_CASE("flap holds: the previous writer is preferred among answering held masters",
          "[policy][flap]") {
  ClusterConfig cluster = seed_cluster();
  World w(cluster);
  w.down("db01").broken("db02");
  const Decision on_db02 = decide(w.s, cluster, rise2(), nullptr, {}, 0);
  REQUIRE(writer_of(on_db02) == "db02");
  World held(cluster);
  held.flapping("db01", 4).flapping("db02", 4);
  const Decision d = decide(held.s, cluster, rise2(), &on_db02, {}, 250);
  CHECK(writer_of(d) == "db02");
  CHECK(d.writer_change.empty());  // writes never stopped
}
