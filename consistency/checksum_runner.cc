#include "consistency/checksum_runner.h"

#include <algorithm>
#include <chrono>
#include <exception>
#include <thread>

#include "common/clock.h"
#include "consistency/gtid_position.h"
#include "consistency/replica_set.h"
#include "consistency/server_values.h"
#include "consistency/table_plan.h"
#include "consistency/throttle.h"
#include "consistency/writer_session.h"

namespace myspoa::consistency {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}
using clock::unix_ms;

struct ChunkRecord {
  ChunkId id;
  int64_t cnt = 0;
  std::string crc;
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

// The body of one run, with the sessions it owns: the writer's chunks, in order, and the
// comparison on the replicas after each table. Kept out of the header.
class Run {
 public:
  using State = ChecksumRunner::State;

  Run(const config::Config& cfg, const WriterSource& source, const RunnerOptions& opt,
      const std::atomic<bool>& cancel, std::mutex& mu, Progress& progress)
      : cfg_(cfg),
        source_(source),
        opt_(opt),
        cancel_(cancel),
        mu_(mu),
        progress_(progress),
        writer_(cfg, opt),
        replicas_(cfg, opt, cancel),
        throttle_(cfg, opt, cancel, [this](const std::string& reason) {
          set_progress([&](Progress& p) {
            p.paused = !reason.empty();
            p.pause_reason = reason;
          });
        }) {}

  WriterSession& writer() { return writer_; }
  ReplicaSet& replicas() { return replicas_; }
  // Replicas must have caught up with the writer's checksum table before the first chunk.
  bool discover_replicas(std::string& error) {
    GtidPosition pos;
    if (!writer_.position(pos, error)) return false;
    replicas_.discover(writer_.name(), pos);
    return true;
  }
  // false with `error` when the run stopped early (cancelled when cancel_ is set).
  bool execute(State& st, std::string& error);

 private:
  bool check_table(State& st, const std::string& db, const std::string& table, std::string& error);
  void verify_table(State& st, const TablePlan& t);
  void verify_direct(State& st, Replica& r, const TablePlan& t);
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
  WriterSession writer_;
  ReplicaSet replicas_;
  Throttle throttle_;
  Clock::time_point started_ = Clock::now();
};

bool Run::still_writer(std::string& error) {
  const auto info = source_();
  const auto why = refuse_reason(info);
  if (!why.empty()) {
    error = why;
    return false;
  }
  if (*info.writer != writer_.name()) {
    error = "writer changed from " + writer_.name() + " to " + *info.writer;
    return false;
  }
  return true;
}

bool Run::execute(State& st, std::string& error) {
  for (; st.next_table < st.tables.size(); ++st.next_table) {
    const auto& [db, table] = st.tables[st.next_table];
    set_progress([&](Progress& p) {
      p.current_table = db + "." + table;
      p.tables_done = static_cast<int>(st.next_table);
    });
    if (!check_table(st, db, table, error)) return false;
    st.table_started = false;
  }
  set_progress([&](Progress& p) {
    p.tables_done = static_cast<int>(st.tables.size());
    p.current_table.clear();
  });
  return true;
}

bool Run::check_table(State& st, const std::string& db, const std::string& table,
                      std::string& error) {
  TablePlan t{db, table, {}, {}, {}};
  std::string why_skip, err;
  if (!writer_.load_table(t, why_skip, err)) {
    st.errors.push_back(db + "." + table + ": " + err);
    return writer_.connected() || (error = "writer connection lost: " + err, false);
  }
  if (!why_skip.empty()) {
    st.skipped.push_back({db + "." + table, why_skip});
    return true;
  }
  if (!st.table_started) {
    if (!writer_.start_table(db, table, error)) return false;
    st.table_started = true;
    st.next_chunk = 1;
    st.lower.reset();
    st.records.clear();
    st.chunk_rows = opt_.initial_chunk_rows;
  }
  const ChunkSizing sizing{opt_.initial_chunk_rows, opt_.min_chunk_rows, opt_.max_chunk_rows,
                           cfg_.consistency.chunk_time_ms / 1000.0};
  for (;;) {
    if (cancel_) return false;
    if (!still_writer(error)) return false;
    if (!throttle_.wait(replicas_, writer_.session(), writer_.name(), error)) return false;
    if (cancel_) return false;
    ChunkId c{db, table, st.next_chunk, t.index, t.index_columns, st.lower, std::nullopt};
    if (!t.whole() && !writer_.next_boundary(c, st.chunk_rows, error)) return false;
    ChunkChecksum sum;
    double secs = 0;
    if (!writer_.checksum_chunk(c, t.columns, sum, secs, err)) {
      error = "writer: " + db + "." + table + " chunk " + std::to_string(c.chunk) + ": " + err;
      return false;
    }
    st.records.push_back({c, sum.cnt, sum.crc});
    st.rows += sum.cnt;
    ++st.chunks;
    st.chunk_rows = next_chunk_rows(st.chunk_rows, sum.cnt, secs, sizing);
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
  verify_table(st, t);
  ++st.tables_checked;
  return true;
}

void Run::verify_table(State& st, const TablePlan& t) {
  const auto name = t.name();
  GtidPosition target;
  std::string err;
  const bool have_target = writer_.position(target, err);
  for (auto& r : replicas_.all()) {
    if (!r.usable) continue;
    auto& errs = st.replica_errors[r.cfg->name];
    if (!have_target || !replicas_.wait_position(r, target, err)) {
      errs.push_back(name + ": " + err);
      continue;
    }
    // pt-table-checksum's view: the differences query on the replica's checksum table.
    auto diff = r.session.query(differences_query(cfg_.consistency.schema_table, t.db, t.table));
    const auto view = parse_outcome(diff, parse_difference_chunks);
    if (!view.ok()) {
      errs.push_back(name + ": differences query: " + view.error);
      continue;
    }
    if (!view.value.empty())
      st.view[r.cfg->name][name].insert(view.value.begin(), view.value.end());
    if (r.direct) {
      if (!view.value.empty())
        st.bad[r.cfg->name][name].insert(view.value.begin(), view.value.end());
      continue;
    }
    verify_direct(st, r, t);
  }
}

// Replica of an intermediate master: compute each chunk here, at (at least) the writer's
// position, and compare with the writer's values; a chunk that differs is re-checksummed on the
// writer and compared again at the new position, so rows written meanwhile are not mistaken for
// drift.
void Run::verify_direct(State& st, Replica& r, const TablePlan& t) {
  auto& errs = st.replica_errors[r.cfg->name];
  for (auto& rec : st.records) {
    bool same = false;
    ChunkChecksum want{rec.cnt, rec.crc};
    std::string err;
    for (int attempt = 0; attempt <= opt_.retries && !same; ++attempt) {
      std::optional<GtidPosition> target;
      if (attempt > 0) {
        // Read-only recheck: the writer's chunk and its binlog position in one snapshot (not
        // replicated), then the replica at that position.
        ++st.retried[r.cfg->name];
        GtidPosition pos;
        if (!writer_.snapshot_chunk(rec.id, t.columns, want, pos, err)) break;
        if (!replicas_.wait_position(r, pos, err)) break;
        target = std::move(pos);
      }
      auto before = replicas_.position(r);
      auto q = r.session.query(select_chunk(rec.id, t.columns));
      auto after = replicas_.position(r);
      const auto mine = parse_outcome(q, parse_chunk_checksum);
      if (!mine.ok() || !before.ok() || !after.ok()) {
        err = !mine.ok() ? mine.error : !before.ok() ? before.error : after.error;
        break;
      }
      same = mine.value.cnt == want.cnt && mine.value.crc == want.crc;
      err.clear();
      // Computed exactly at the writer's snapshot position: a difference is drift, not a write
      // in flight; no need to try again.
      if (!same && target && before.value.domains() == after.value.domains() &&
          before.value.at(*target))
        break;
    }
    if (!err.empty()) {
      errs.push_back(t.name() + " chunk " + std::to_string(rec.id.chunk) + ": " + err);
      continue;
    }
    if (!same) st.bad[r.cfg->name][t.name()].insert(rec.id.chunk);
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
  try {
    run_body(cancel, rep);
  } catch (const std::exception& e) {
    // Values read from servers are checked where they are parsed; this is the last line so a
    // bug can never take the routing agent down with the consistency thread.
    rep.complete = false;
    rep.error = std::string("internal error, run abandoned: ") + e.what();
    resume_.reset();
  }
  rep.finished_unix_ms = unix_ms();
  rep.seconds = seconds_since(t0);
  std::lock_guard lock(progress_mu_);
  progress_.running = false;
  progress_.paused = false;
  return rep;
}

void ChecksumRunner::run_body(const std::atomic<bool>& cancel, Report& rep) {
  const auto info = writer_source_();
  rep.error = refuse_reason(info);
  if (!rep.error.empty()) return;
  rep.writer = *info.writer;

  Run body(config_, writer_source_, options_, cancel, progress_mu_, progress_);
  if (!body.writer().connect(rep.writer, rep.writer_server_id, rep.error)) return;
  if (!body.discover_replicas(rep.error)) return;

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

  if (!st->resumed) {
    TableList list;
    if (!body.writer().list_tables(list, rep.error)) return;
    st->tables = std::move(list.tables);
    st->rows_estimated = list.rows_estimated;
  }
  {
    std::lock_guard lock(progress_mu_);
    progress_.tables_total = static_cast<int>(st->tables.size());
    progress_.rows_estimated = st->rows_estimated;
    progress_.rows_done = st->rows;
  }

  std::string stop;
  const bool done = body.execute(*st, stop);

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
  for (auto& r : body.replicas().all()) {
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
}

}  // namespace myspoa::consistency
