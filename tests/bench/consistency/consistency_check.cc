// myspoa's consistency checker as a command-line tool, for the benchmark against
// pt-table-checksum (run_bench.sh) and for trying it by hand on the lab:
//   consistency_check [--writer db01] [--json] [--tables app.t,app.nulls]
// Prints one verdict line per replica, the wall time and the checksum work done.
#include <chrono>
#include <cstring>
#include <iostream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "consistency/checksum_runner.h"
#include "tests/bench/consistency/lab_config.h"

using namespace myspoa::consistency;

int main(int argc, char** argv) {
  std::string writer = "db01", tables;
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--writer") && i + 1 < argc)
      writer = argv[++i];
    else if (!std::strcmp(argv[i], "--json"))
      json = true;
    else if (!std::strcmp(argv[i], "--tables") && i + 1 < argc)
      tables = argv[++i];
    else {
      std::cerr << "usage: consistency_check [--writer dbNN] [--json] [--tables db.t,...]\n";
      return 2;
    }
  }
  spdlog::set_level(spdlog::level::warn);
  auto cfg = lab::lab_config();
  if (!tables.empty()) {
    std::stringstream ss(tables);
    for (std::string t; std::getline(ss, t, ',');) cfg.consistency.include_tables.push_back(t);
  }
  ChecksumRunner runner(cfg, [&] { return WriterInfo{writer, "healthy"}; });
  std::atomic<bool> cancel{false};
  const auto t0 = std::chrono::steady_clock::now();
  const auto report = runner.run(cancel);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (json) {
    std::cout << to_json(report).dump(2) << "\n";
    return report.complete ? 0 : 1;
  }
  for (const auto& r : report.replicas) {
    std::string view;
    for (const auto& t : r.checksum_table_view)
      view += (view.empty() ? "" : ", ") + t.table + " (" + std::to_string(t.chunks) + ")";
    std::cout << r.verdict_text() << "  [method " << r.method << ", via " << r.master
              << ", checksum table alone says: " << (view.empty() ? "no difference" : view)
              << "]\n";
  }
  for (const auto& s : report.skipped)
    std::cout << "skipped " << s.table << ": " << s.reason << "\n";
  for (const auto& e : report.errors) std::cout << "error " << e << "\n";
  if (!report.error.empty()) std::cout << "run stopped: " << report.error << "\n";
  std::printf("myspoa: %d tables, %lld rows, %lld chunks, wall %.3f s\n", report.tables_checked,
              static_cast<long long>(report.rows_checked), static_cast<long long>(report.chunks),
              wall);
  return report.complete ? 0 : 1;
}
