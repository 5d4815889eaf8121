// The loopback lab's configuration for consistency tests and benchmarks: db01..db05 on
// 127.0.0.1:<base+1..base+5> (MYSPOA_LAB_PORT_BASE, default 33060, as tests/lab/labctl).
#pragma once

#include <cstdlib>
#include <string>

#include "spoa/config/config.h"

namespace myspoa::consistency::lab {

inline int port_base() {
  const char* v = std::getenv("MYSPOA_LAB_PORT_BASE");
  return v && *v ? std::atoi(v) : 33060;
}

inline config::Config lab_config(int base = port_base()) {
  std::string yaml =
      "mysql: {user: myspoa, password: myspoa, connect_timeout_ms: 1000}\n"
      "cluster:\n  masters: [db01, db02]\n  servers:\n";
  const char* masters[] = {"", "", "db01", "db01", "db02"};
  for (int i = 0; i < 5; ++i) {
    yaml += "    - {name: db0" + std::to_string(i + 1) +
            ", address: \"127.0.0.1:" + std::to_string(base + i + 1) + "\"";
    if (*masters[i]) yaml += std::string(", replica_of: ") + masters[i];
    yaml += "}\n";
  }
  yaml += "consistency: {chunk_time_ms: 500, max_lag_s: 1, databases: {include: [app]}}\n";
  return config::parse_config(yaml, "<consistency lab>");
}

}  // namespace myspoa::consistency::lab
