#include "spoa/admin/health.h"

#include <vector>

namespace myspoa::admin {

CheckAnswer health_live() {
  return {200, "live\n"};
}

CheckAnswer health_ready(const StatusInputs& in) {
  std::vector<std::string> why;
  if (!in.snapshot || in.snapshot->round == 0) {
    why.push_back("no probe round finished yet");
  } else if (!in.snapshot->complete || !in.decision || !in.decision->known) {
    std::string unknown;
    for (const auto& s : in.snapshot->servers)
      if (s.liveness == probes::Liveness::Unknown)
        unknown += (unknown.empty() ? "" : ", ") + s.name;
    why.push_back("first probe round not complete" +
                  (unknown.empty() ? std::string() : ": state unknown for " + unknown));
  }
  if (!in.spop_running) why.push_back("SPOP listener not running");
  if (why.empty()) return {200, "ready\n"};
  std::string body = "not ready: ";
  for (size_t i = 0; i < why.size(); ++i) body += (i ? "; " : "") + why[i];
  return {503, body + "\n"};
}

}  // namespace myspoa::admin
