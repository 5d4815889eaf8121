// Shared setup of the read_only plan tests (standalone and majority): three servers, two
// masters, and snapshots built from db01's and db02's up/read_only.
#pragma once

#include <string>

#include "probes/snapshot.h"
#include "spoa/config/config.h"

namespace read_only_fixture {

inline myspoa::config::ClusterConfig cluster(
    myspoa::config::ClusterConfig::Fence fence = myspoa::config::ClusterConfig::Fence::None,
    bool manage_read_only = true) {
  myspoa::config::ClusterConfig c;
  c.masters = {"db01", "db02"};
  c.servers = {{"db01", {}, "be_db01", "", 100},
               {"db02", {}, "be_db02", "", 100},
               {"db03", {}, "be_db03", "db01", 100}};
  c.fence = fence;
  c.manage_read_only = manage_read_only;
  return c;
}

inline myspoa::probes::ServerState server(const std::string& name, bool up, bool read_only) {
  myspoa::probes::ServerState s;
  s.name = name;
  s.liveness = up ? myspoa::probes::Liveness::Up : myspoa::probes::Liveness::Down;
  s.last.ok = up;
  s.last.read_only = read_only;
  return s;
}

// up/read_only of db01 and db02 (db03 up, read_only).
inline myspoa::probes::Snapshot snap(bool db01_up, bool db01_ro, bool db02_up, bool db02_ro) {
  myspoa::probes::Snapshot s;
  s.complete = true;
  s.servers = {server("db01", db01_up, db01_ro), server("db02", db02_up, db02_ro),
               server("db03", true, true)};
  return s;
}

}  // namespace read_only_fixture
