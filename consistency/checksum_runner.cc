#include "consistency/checksum_runner.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include <spdlog/spdlog.h>

#include "common/clock.h"
#include "consistency/sql_session.h"

namespace myspoa::consistency {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}
using clock::unix_ms;

// MySQL errors worth retrying a chunk for: lock wait timeout, deadlock.
bool retryable(unsigned code) {
  return code == 1205 || code == 1213;
}

struct ChunkRecord {
  ChunkId id;
  int64_t cnt = 0;
  std::string crc;
};

struct TableInfo {
  std::string db, table;
  std::vector<Column> columns;
  std::string index;  // "" when checksummed whole
  std::vector<std::string> index_columns;
};

// One replica for the duration of a run.
struct Replica {
  const config::ServerConfig* cfg = nullptr;
  SqlSession session;
  bool usable = false;
  bool direct = false;  // replicates from the writer itself
  std::string master;
  int64_t server_id = 0;
  std::vector<std::string> errors;  // this run's connection-level errors
};

}  // namespace

// Everything a run has done so far; kept when it is cancelled so the next run resumes.
struct ChecksumRunner::State {
  std::string writer;
  std::vector<std::pair<std::string, std::string>> tables;  // selected (db, table)
  int64_t rows_estimated = 0;
  size_t next_table = 0;
  // The table in progress.
  bool table_started = false;
  int next_chunk = 1;
  std::optional<KeyValue> lower;
  int64_t chunk_rows = 0;
  std::vector<ChunkRecord> records;
  // Findings: replica -> "db.tbl" -> chunks.
  std::map<std::string, std::map<std::string, std::set<int>>> bad, view;
  std::map<std::string, std::vector<std::string>> replica_errors;
  std::map<std::string, int> retried;
  std::vector<SkippedTable> skipped;
  std::vector<std::string> errors;
  int tables_checked = 0;
  int64_t rows = 0;
  int64_t chunks = 0;
  bool resumed = false;
};

std::string refuse_reason(const WriterInfo& info) {
  if (info.scenario == "split-brain") return "scenario is split-brain: no consistency check";
  if (!info.writer)
    return "writes are refused (scenario " + info.scenario + "): no writer to check from";
  return "";
}

std::map<uint32_t, uint64_t> parse_gtid_pos(const std::string& text) {
  std::map<uint32_t, uint64_t> out;
  size_t start = 0;
  while (start < text.size()) {
    auto end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    const auto item = text.substr(start, end - start);
    const auto d1 = item.find('-');
    const auto d2 = item.rfind('-');
    if (d1 != std::string::npos && d2 != d1) {
      try {
        const auto domain = static_cast<uint32_t>(std::stoul(item.substr(0, d1)));
        const auto seq = std::stoull(item.substr(d2 + 1));
        auto& slot = out[domain];
        slot = std::max<uint64_t>(slot, seq);
      } catch (const std::exception&) {
        // not a GTID: ignored
      }
    }
    start = end + 1;
  }
  return out;
}

bool gtid_reached(const std::string& want, const std::string& have) {
  const auto h = parse_gtid_pos(have);
  for (const auto& [domain, seq] : parse_gtid_pos(want)) {
    const auto it = h.find(domain);
    if (it == h.end() || it->second < seq) return false;
  }
  return true;
}

ChecksumRunner::ChecksumRunner(config::Config config, WriterSource writer_source,
                               RunnerOptions options)
    : config_(std::move(config)), writer_source_(std::move(writer_source)), options_(options) {}

ChecksumRunner::~ChecksumRunner() = default;

Progress ChecksumRunner::progress() const {
  std::lock_guard lock(progress_mu_);
  return progress_;
}

bool ChecksumRunner::has_resume_point() const {
  return resume_ != nullptr;
}
void ChecksumRunner::forget_resume_point() {
  resume_.reset();
}

namespace {

// The body of one run, with the sessions it owns. Kept out of the header.
class Run {
 public:
  Run(const config::Config& cfg, const WriterSource& source, const RunnerOptions& opt,
      const std::atomic<bool>& cancel, std::mutex& mu, Progress& progress)
      : cfg_(cfg), source_(source), opt_(opt), cancel_(cancel), mu_(mu), progress_(progress) {}

  // false with `error` when the run stopped early (cancelled when cancel_ is set).
  template <typename State>
  bool execute(State& st, std::vector<Replica>& replicas, std::string& error);

  bool connect_writer(const std::string& writer, int64_t& server_id, std::string& error);
  bool list_tables(const TableFilter& filter, std::vector<std::pair<std::string, std::string>>& out,
                   int64_t& rows_estimated, std::string& error);
  void connect_replicas(const std::string& writer, std::vector<Replica>& replicas);

 private:
  template <typename State>
  bool check_table(State& st, std::vector<Replica>& replicas, const std::string& db,
                   const std::string& table, std::string& error);
  template <typename State>
  void verify_table(State& st, std::vector<Replica>& replicas, const TableInfo& t);
  bool load_table(TableInfo& t, std::string& why_skip, std::string& error);
  bool writer_chunk(const ChunkId& c, const std::vector<Column>& cols, int64_t& cnt,
                    std::string& crc, double& secs, std::string& error);
  bool wait_position(Replica& r, const std::string& target, std::string& error);
  bool writer_snapshot_chunk(const ChunkId& c, const std::vector<Column>& cols, int64_t& cnt,
                             std::string& crc, std::string& pos, std::string& error);
  bool pause_if_needed(std::vector<Replica>& replicas, std::string& error);
  bool still_writer(std::string& error);
  void set_progress(const std::function<void(Progress&)>& f) {
    std::lock_guard lock(mu_);
    f(progress_);
  }

  const config::Config& cfg_;
  const WriterSource& source_;
  const RunnerOptions& opt_;
  const std::atomic<bool>& cancel_;
  std::mutex& mu_;
  Progress& progress_;
  SqlSession writer_;
  std::string writer_name_;
  Clock::time_point started_ = Clock::now();
};

int read_timeout_s(const RunnerOptions& opt) {
  return std::max(30, opt.replica_wait_s);
}

bool Run::connect_writer(const std::string& writer, int64_t& server_id, std::string& error) {
  writer_name_ = writer;
  const auto* s = cfg_.cluster.find(writer);
  if (!s) {
    error = "writer '" + writer + "' is not a configured server";
    return false;
  }
  if (!s->replica_of.empty()) {
    error = "'" + writer + "' is a replica: checksums only run on the writer";
    return false;
  }
  if (!writer_.connect(s->address, cfg_.mysql, read_timeout_s(opt_), error)) return false;
  auto r = writer_.query("SELECT @@server_id AS id, @@read_only AS ro");
  if (!r.ok) {
    error = "writer " + writer + ": " + r.error;
    return false;
  }
  server_id = std::stoll(r.first("id").empty() ? "0" : r.first("id"));
  if (r.first("ro") != "0") {
    error = "writer " + writer + " is read_only: refusing to write checksums on it";
    return false;
  }
  // pt-table-checksum's session: statements replicate as statements so each direct replica
  // recomputes the chunk on its own data; one consistent read per statement; short lock waits.
  for (const char* q : {"SET SESSION binlog_format = 'STATEMENT'",
                        "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
                        "SET SESSION innodb_lock_wait_timeout = 1",
                        "SET SESSION wait_timeout = 3600", "SET SESSION sql_mode = ''"}) {
    if (!writer_.exec(q, error)) {
      error = "writer " + writer + ": " + q + ": " + error;
      return false;
    }
  }
  const auto cs = cfg_.consistency.schema_table;
  const auto [schema, table] = split_schema_table(cs);
  if (!writer_.exec("CREATE DATABASE IF NOT EXISTS " + quote_ident(schema), error) ||
      !writer_.exec(create_checksum_table(cs), error)) {
    error = "writer " + writer + ": cannot create " + cs + ": " + error;
    return false;
  }
  return true;
}

bool Run::list_tables(const TableFilter& filter,
                      std::vector<std::pair<std::string, std::string>>& out,
                      int64_t& rows_estimated, std::string& error) {
  auto r = writer_.query(
      "SELECT TABLE_SCHEMA, TABLE_NAME, COALESCE(TABLE_ROWS, 0) FROM information_schema.TABLES "
      "WHERE TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_SCHEMA, TABLE_NAME");
  if (!r.ok) {
    error = "writer: listing tables: " + r.error;
    return false;
  }
  for (const auto& row : r.rows) {
    const auto db = row[0].value_or(""), table = row[1].value_or("");
    if (!filter.wanted(db, table)) continue;
    out.emplace_back(db, table);
    rows_estimated += std::stoll(row[2].value_or("0"));
  }
  return true;
}

void Run::connect_replicas(const std::string& writer, std::vector<Replica>& replicas) {
  const auto [schema, table] = split_schema_table(cfg_.consistency.schema_table);
  auto pos = writer_.query("SELECT @@gtid_binlog_pos AS p");
  for (const auto& s : cfg_.cluster.servers) {
    if (s.name == writer) continue;
    Replica r;
    r.cfg = &s;
    std::string err;
    if (!r.session.connect(s.address, cfg_.mysql, read_timeout_s(opt_), err)) {
      r.errors.push_back(err);
      replicas.push_back(std::move(r));
      continue;
    }
    auto id = r.session.query("SELECT @@server_id AS id");
    if (id.ok) r.server_id = std::stoll(id.first("id").empty() ? "0" : id.first("id"));
    auto ss = r.session.query("SHOW SLAVE STATUS");
    if (!ss.ok || ss.rows.empty()) {
      r.errors.push_back(ss.ok ? "not replicating (no SHOW SLAVE STATUS row)" : ss.error);
      replicas.push_back(std::move(r));
      continue;
    }
    const auto host = ss.first("Master_Host");
    const auto port = ss.first("Master_Port");
    r.master = host + ":" + port;
    for (const auto& m : cfg_.cluster.servers)
      if (m.address.host == host && std::to_string(m.address.port) == port) r.master = m.name;
    r.direct = r.master == writer;
    std::string filters;
    for (const char* f :
         {"Replicate_Do_DB", "Replicate_Ignore_DB", "Replicate_Do_Table", "Replicate_Ignore_Table",
          "Replicate_Wild_Do_Table", "Replicate_Wild_Ignore_Table"}) {
      const auto v = ss.first(f);
      if (!v.empty()) filters += (filters.empty() ? "" : ", ") + std::string(f) + "=" + v;
    }
    if (!filters.empty()) {
      r.errors.push_back("replication filters set (" + filters +
                         "): checksums and data may not replicate alike, replica not checked");
      replicas.push_back(std::move(r));
      continue;
    }
    r.usable = true;
    replicas.push_back(std::move(r));
  }
  // The checksum table must have reached every replica (CREATE above was replicated).
  for (auto& r : replicas) {
    if (!r.usable) continue;
    std::string err;
    if (pos.ok && !wait_position(r, pos.first("p"), err)) {
      r.errors.push_back(err);
      r.usable = false;
      continue;
    }
    auto t = r.session.query(
        "SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = " +
        quote_string(schema) + " AND TABLE_NAME = " + quote_string(table));
    if (!t.ok || t.first("n") != "1") {
      r.errors.push_back("checksum table " + cfg_.consistency.schema_table +
                         " is missing (replication filtered or broken?): " +
                         (t.ok ? std::string("not found") : t.error));
      r.usable = false;
    }
  }
}

bool Run::wait_position(Replica& r, const std::string& target, std::string& error) {
  const auto deadline = Clock::now() + std::chrono::seconds(opt_.replica_wait_s);
  auto sleep = std::chrono::milliseconds(1);
  for (int i = 0;; ++i) {
    auto q = r.session.query("SELECT @@gtid_current_pos AS p");
    if (!q.ok) {
      error = "cannot read gtid_current_pos: " + q.error;
      return false;
    }
    if (gtid_reached(target, q.first("p"))) return true;
    if (Clock::now() > deadline || cancel_) {
      error = "did not reach the writer's position " + target + " within " +
              std::to_string(opt_.replica_wait_s) + " s (at " + q.first("p") + ")";
      return false;
    }
    std::this_thread::sleep_for(sleep);
    sleep = std::min(sleep * 2, std::chrono::milliseconds(50));
  }
}

// The replica's position equals `target` in every domain of target.
bool same_position(const std::string& target, const std::string& have) {
  const auto h = parse_gtid_pos(have);
  for (const auto& [domain, seq] : parse_gtid_pos(target)) {
    const auto it = h.find(domain);
    if (it == h.end() || it->second != seq) return false;
  }
  return true;
}

bool Run::writer_snapshot_chunk(const ChunkId& c, const std::vector<Column>& cols, int64_t& cnt,
                                std::string& crc, std::string& pos, std::string& error) {
  if (!writer_.exec("START TRANSACTION WITH CONSISTENT SNAPSHOT", error)) return false;
  auto q = writer_.query(select_chunk(c, cols));
  auto snap = writer_.query("SHOW STATUS LIKE 'binlog_snapshot_%'");
  std::string ignored;
  writer_.exec("COMMIT", ignored);
  if (!q.ok || q.rows.empty() || !snap.ok) {
    error = q.ok ? snap.error : q.error;
    return false;
  }
  cnt = std::stoll(q.rows[0][0].value_or("0"));
  crc = q.rows[0][1].value_or("");
  std::string file, offset;
  for (const auto& row : snap.rows) {
    if (row[0] == "Binlog_snapshot_file") file = row[1].value_or("");
    if (row[0] == "Binlog_snapshot_position") offset = row[1].value_or("0");
  }
  auto g = writer_.query("SELECT BINLOG_GTID_POS(" + quote_string(file) + ", " +
                         std::to_string(std::stoull(offset.empty() ? "0" : offset)) + ") AS p");
  if (!g.ok || g.first("p").empty()) {
    error = "cannot map the snapshot's binlog position to a GTID: " + g.error;
    return false;
  }
  pos = g.first("p");
  return true;
}

bool Run::still_writer(std::string& error) {
  const auto info = source_();
  const auto why = refuse_reason(info);
  if (!why.empty()) {
    error = why;
    return false;
  }
  if (*info.writer != writer_name_) {
    error = "writer changed from " + writer_name_ + " to " + *info.writer;
    return false;
  }
  return true;
}

bool Run::pause_if_needed(std::vector<Replica>& replicas, std::string& error) {
  const auto deadline = Clock::now() + std::chrono::seconds(opt_.max_pause_s);
  for (;;) {
    std::string reason;
    for (auto& r : replicas) {
      if (!r.usable) continue;
      auto ss = r.session.query("SHOW SLAVE STATUS");
      if (!ss.ok) continue;
      const auto lag = ss.first("Seconds_Behind_Master");
      if (!lag.empty() && std::stod(lag) > cfg_.consistency.max_lag_s) {
        reason = r.cfg->name + " lags " + lag + " s (max " +
                 std::to_string(cfg_.consistency.max_lag_s).substr(0, 4) + " s)";
        break;
      }
    }
    if (reason.empty()) {
      auto tr = writer_.query("SHOW GLOBAL STATUS LIKE 'Threads_running'");
      if (tr.ok && !tr.rows.empty() && tr.rows[0].size() > 1) {
        const int n = std::stoi(tr.rows[0][1].value_or("0"));
        if (n > cfg_.consistency.max_threads_running)
          reason = writer_name_ + " runs " + std::to_string(n) + " threads (max " +
                   std::to_string(cfg_.consistency.max_threads_running) + ")";
      }
    }
    set_progress([&](Progress& p) {
      p.paused = !reason.empty();
      p.pause_reason = reason;
    });
    if (reason.empty()) return true;
    if (cancel_) return true;  // the caller sees the cancel
    if (Clock::now() > deadline) {
      error = "paused for more than " + std::to_string(opt_.max_pause_s) + " s: " + reason;
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

bool Run::load_table(TableInfo& t, std::string& why_skip, std::string& error) {
  const auto where =
      " WHERE TABLE_SCHEMA = " + quote_string(t.db) + " AND TABLE_NAME = " + quote_string(t.table);
  auto cols = writer_.query("SELECT COLUMN_NAME, IS_NULLABLE FROM information_schema.COLUMNS" +
                            where + " ORDER BY ORDINAL_POSITION");
  if (!cols.ok) {
    error = cols.error;
    return false;
  }
  for (const auto& row : cols.rows) t.columns.push_back({row[0].value_or(""), row[1] == "YES"});
  if (t.columns.empty()) {
    why_skip = "table has no columns (dropped?)";
    return true;
  }
  auto idx = writer_.query(
      "SELECT INDEX_NAME, COLUMN_NAME, NULLABLE, NON_UNIQUE FROM information_schema.STATISTICS" +
      where + " ORDER BY INDEX_NAME = 'PRIMARY' DESC, INDEX_NAME, SEQ_IN_INDEX");
  if (!idx.ok) {
    error = idx.error;
    return false;
  }
  // PRIMARY, else the unique key with the fewest columns, none of them nullable.
  std::map<std::string, std::vector<std::string>> keys;
  std::set<std::string> unusable;
  for (const auto& row : idx.rows) {
    const auto name = row[0].value_or("");
    if (row[3] != "0" || row[2] == "YES") unusable.insert(name);
    keys[name].push_back(row[1].value_or(""));
  }
  for (const auto& [name, c] : keys) {
    if (unusable.count(name)) continue;
    if (t.index.empty() || name == "PRIMARY" ||
        (t.index != "PRIMARY" && c.size() < t.index_columns.size())) {
      if (t.index == "PRIMARY") continue;
      t.index = name;
      t.index_columns = c;
    }
  }
  if (!t.index.empty()) return true;
  auto n = writer_.query("SELECT COUNT(*) AS n FROM (SELECT 1 FROM " + quote_ident(t.db) + "." +
                         quote_ident(t.table) + " LIMIT " +
                         std::to_string(opt_.unindexed_max_rows + 1) + ") x");
  if (!n.ok) {
    error = n.error;
    return false;
  }
  if (std::stoll(n.first("n")) > opt_.unindexed_max_rows)
    why_skip = "no primary or NOT NULL unique key and more than " +
               std::to_string(opt_.unindexed_max_rows) + " rows: cannot be chunked";
  return true;
}

bool Run::writer_chunk(const ChunkId& c, const std::vector<Column>& cols, int64_t& cnt,
                       std::string& crc, double& secs, std::string& error) {
  const auto cs = cfg_.consistency.schema_table;
  for (int attempt = 0;; ++attempt) {
    const auto t0 = Clock::now();
    auto r = writer_.query(replace_chunk(cs, c, cols));
    secs = seconds_since(t0);
    if (!r.ok) {
      if (retryable(r.error_code) && attempt < opt_.retries) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100 * (attempt + 1)));
        continue;
      }
      error = r.error;
      return false;
    }
    auto back = writer_.query(read_chunk(cs, c));
    if (!back.ok || back.rows.empty()) {
      error = back.ok ? "checksum row vanished" : back.error;
      return false;
    }
    cnt = std::stoll(back.rows[0][0].value_or("0"));
    crc = back.rows[0][1].value_or("");
    auto up = writer_.query(update_master(cs, c, cnt, crc, secs));
    if (!up.ok) {
      if (retryable(up.error_code) && attempt < opt_.retries) continue;
      error = up.error;
      return false;
    }
    return true;
  }
}

template <typename State>
bool Run::execute(State& st, std::vector<Replica>& replicas, std::string& error) {
  for (; st.next_table < st.tables.size(); ++st.next_table) {
    const auto& [db, table] = st.tables[st.next_table];
    set_progress([&](Progress& p) {
      p.current_table = db + "." + table;
      p.tables_done = static_cast<int>(st.next_table);
    });
    if (!check_table(st, replicas, db, table, error)) return false;
    st.table_started = false;
  }
  set_progress([&](Progress& p) {
    p.tables_done = static_cast<int>(st.tables.size());
    p.current_table.clear();
  });
  return true;
}

template <typename State>
bool Run::check_table(State& st, std::vector<Replica>& replicas, const std::string& db,
                      const std::string& table, std::string& error) {
  TableInfo t{db, table, {}, {}, {}};
  std::string why_skip, err;
  if (!load_table(t, why_skip, err)) {
    st.errors.push_back(db + "." + table + ": " + err);
    return writer_.connected() || (error = "writer connection lost: " + err, false);
  }
  if (!why_skip.empty()) {
    st.skipped.push_back({db + "." + table, why_skip});
    return true;
  }
  const auto cs = cfg_.consistency.schema_table;
  if (!st.table_started) {
    if (!writer_.exec(delete_table_chunks(cs, db, table), err)) {
      error = "writer: " + err;
      return false;
    }
    st.table_started = true;
    st.next_chunk = 1;
    st.lower.reset();
    st.records.clear();
    st.chunk_rows = opt_.initial_chunk_rows;
  }
  const double target_s = cfg_.consistency.chunk_time_ms / 1000.0;
  for (;;) {
    if (cancel_) return false;
    if (!still_writer(error)) return false;
    if (!pause_if_needed(replicas, error)) return false;
    if (cancel_) return false;
    ChunkId c{db, table, st.next_chunk, t.index, t.index_columns, st.lower, std::nullopt};
    if (!t.index.empty()) {
      auto b = writer_.query(
          next_boundary_query(db, table, t.index, t.index_columns, st.lower, st.chunk_rows));
      if (!b.ok) {
        error = "writer: " + b.error;
        return false;
      }
      if (!b.rows.empty()) {
        KeyValue k;
        for (const auto& v : b.rows[0]) k.push_back(v.value_or(""));
        c.upper = std::move(k);
      }
    }
    int64_t cnt = 0;
    std::string crc;
    double secs = 0;
    if (!writer_chunk(c, t.columns, cnt, crc, secs, err)) {
      error = "writer: " + db + "." + table + " chunk " + std::to_string(c.chunk) + ": " + err;
      return false;
    }
    st.records.push_back({c, cnt, crc});
    st.rows += cnt;
    ++st.chunks;
    // Next chunk size from this one's rate, moving at most 4x per chunk (pt adapts the same way).
    if (secs > 0 && cnt > 0) {
      const double wanted = cnt / secs * target_s;
      st.chunk_rows =
          std::clamp<int64_t>(static_cast<int64_t>(wanted), st.chunk_rows / 4, st.chunk_rows * 4);
      st.chunk_rows = std::clamp(st.chunk_rows, opt_.min_chunk_rows, opt_.max_chunk_rows);
    }
    const double elapsed = seconds_since(started_);
    set_progress([&](Progress& p) {
      p.rows_done = st.rows;
      p.current_chunk = c.chunk;
      p.chunk_size = st.chunk_rows;
      p.elapsed_s = elapsed;
      const auto left = std::max<int64_t>(0, st.rows_estimated - st.rows);
      p.eta_s = st.rows > 0 ? elapsed / static_cast<double>(st.rows) * left : -1;
    });
    if (!c.upper) break;
    st.lower = c.upper;
    ++st.next_chunk;
  }
  verify_table(st, replicas, t);
  ++st.tables_checked;
  return true;
}

template <typename State>
void Run::verify_table(State& st, std::vector<Replica>& replicas, const TableInfo& t) {
  const auto name = t.db + "." + t.table;
  const auto cs = cfg_.consistency.schema_table;
  auto pos = writer_.query("SELECT @@gtid_binlog_pos AS p");
  const auto target = pos.first("p");
  for (auto& r : replicas) {
    if (!r.usable) continue;
    auto& errs = st.replica_errors[r.cfg->name];
    std::string err;
    if (!wait_position(r, target, err)) {
      errs.push_back(name + ": " + err);
      continue;
    }
    // pt-table-checksum's view: the differences query on the replica's checksum table.
    auto diff = r.session.query(differences_query(cs, t.db, t.table));
    if (!diff.ok) {
      errs.push_back(name + ": differences query: " + diff.error);
      continue;
    }
    std::set<int> view;
    for (const auto& row : diff.rows) view.insert(std::stoi(row[2].value_or("0")));
    if (!view.empty()) st.view[r.cfg->name][name].insert(view.begin(), view.end());
    if (r.direct) {
      if (!view.empty()) st.bad[r.cfg->name][name].insert(view.begin(), view.end());
      continue;
    }
    // Replica of an intermediate master: compute each chunk here, at (at least) the writer's
    // position, and compare with the writer's values; a chunk that differs is re-checksummed on
    // the writer and compared again at the new position, so rows written meanwhile are not
    // mistaken for drift.
    for (auto& rec : st.records) {
      bool same = false;
      int64_t cnt = rec.cnt;
      std::string crc = rec.crc;
      for (int attempt = 0; attempt <= opt_.retries && !same; ++attempt) {
        std::string target_pos;
        if (attempt > 0) {
          // Read-only recheck: the writer's chunk and its binlog position in one snapshot (not
          // replicated), then the replica at that position.
          ++st.retried[r.cfg->name];
          if (!writer_snapshot_chunk(rec.id, t.columns, cnt, crc, target_pos, err)) break;
          if (!wait_position(r, target_pos, err)) break;
        }
        auto before = r.session.query("SELECT @@gtid_current_pos AS p");
        auto mine = r.session.query(select_chunk(rec.id, t.columns));
        auto after = r.session.query("SELECT @@gtid_current_pos AS p");
        if (!mine.ok || mine.rows.empty() || !before.ok || !after.ok) {
          err = mine.ok ? before.error + after.error : mine.error;
          break;
        }
        same = mine.rows[0][0].value_or("") == std::to_string(cnt) &&
               mine.rows[0][1].value_or("") == crc;
        err.clear();
        // Computed exactly at the writer's snapshot position: a difference is drift, not a
        // write in flight; no need to try again.
        if (!same && !target_pos.empty() && before.first("p") == after.first("p") &&
            same_position(target_pos, before.first("p")))
          break;
      }
      if (!err.empty()) {
        errs.push_back(name + " chunk " + std::to_string(rec.id.chunk) + ": " + err);
        continue;
      }
      if (!same) st.bad[r.cfg->name][name].insert(rec.id.chunk);
    }
  }
}

}  // namespace

Report ChecksumRunner::run(const std::atomic<bool>& cancel) {
  const auto t0 = Clock::now();
  Report rep;
  rep.started_unix_ms = unix_ms();
  {
    std::lock_guard lock(progress_mu_);
    progress_ = Progress{};
    progress_.running = true;
  }
  auto finish = [&](Report& r) -> Report {
    r.finished_unix_ms = unix_ms();
    r.seconds = seconds_since(t0);
    std::lock_guard lock(progress_mu_);
    progress_.running = false;
    progress_.paused = false;
    return r;
  };

  const auto info = writer_source_();
  rep.error = refuse_reason(info);
  if (!rep.error.empty()) return finish(rep);
  rep.writer = *info.writer;

  Run body(config_, writer_source_, options_, cancel, progress_mu_, progress_);
  if (!body.connect_writer(rep.writer, rep.writer_server_id, rep.error)) return finish(rep);

  std::unique_ptr<State> st;
  if (resume_ && resume_->writer == rep.writer) {
    st = std::move(resume_);
    st->resumed = true;
  } else {
    st = std::make_unique<State>();
    st->writer = rep.writer;
  }
  resume_.reset();
  rep.resumed = st->resumed;

  std::vector<Replica> replicas;
  body.connect_replicas(rep.writer, replicas);

  if (!st->resumed) {
    TableFilter filter{config_.consistency.include_databases, config_.consistency.exclude_databases,
                       config_.consistency.include_tables, config_.consistency.exclude_tables,
                       split_schema_table(config_.consistency.schema_table).first};
    if (!body.list_tables(filter, st->tables, st->rows_estimated, rep.error)) return finish(rep);
  }
  {
    std::lock_guard lock(progress_mu_);
    progress_.tables_total = static_cast<int>(st->tables.size());
    progress_.rows_estimated = st->rows_estimated;
    progress_.rows_done = st->rows;
  }

  std::string stop;
  const bool done = body.execute(*st, replicas, stop);

  // The report: this run's connection problems plus everything the state accumulated.
  rep.tables_checked = st->tables_checked;
  rep.rows_checked = st->rows;
  rep.chunks = st->chunks;
  rep.skipped = st->skipped;
  rep.errors = st->errors;
  auto findings = [](const std::map<std::string, std::set<int>>& m) {
    std::vector<TableFinding> out;
    for (const auto& [table, chunks] : m) out.push_back({table, static_cast<int>(chunks.size())});
    return out;
  };
  for (auto& r : replicas) {
    ReplicaReport rr;
    rr.name = r.cfg->name;
    rr.server_id = r.server_id;
    rr.address = r.cfg->address.to_string();
    rr.master = r.master;
    rr.method = r.direct ? "checksum-table" : "direct";
    rr.errors = r.errors;
    for (const auto& e : st->replica_errors[rr.name]) rr.errors.push_back(e);
    rr.inconsistent = findings(st->bad[rr.name]);
    rr.checksum_table_view = findings(st->view[rr.name]);
    rr.retried_chunks = st->retried[rr.name];
    if (!rr.inconsistent.empty())
      rr.state = ReplicaState::Inconsistent;
    else if (!rr.errors.empty())
      rr.state = ReplicaState::Error;
    else if (done)
      rr.state = ReplicaState::Consistent;
    rep.replicas.push_back(std::move(rr));
  }
  if (done) {
    rep.complete = true;
  } else {
    rep.cancelled = cancel.load();
    rep.error = rep.cancelled ? "cancelled" : stop;
    resume_ = std::move(st);  // the next run continues from the chunk after the last one done
  }
  return finish(rep);
}

}  // namespace myspoa::consistency
