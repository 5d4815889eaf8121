#include "consistency/writer_session.h"

#include <chrono>
#include <thread>

namespace myspoa::consistency {
namespace {

// MySQL errors worth retrying a chunk for: lock wait timeout, deadlock.
bool retryable(unsigned code) {
  return code == 1205 || code == 1213;
}

}  // namespace

bool WriterSession::connect(const std::string& writer, int64_t& server_id, std::string& error) {
  name_ = writer;
  const auto* s = cfg_.cluster.find(writer);
  if (!s) {
    error = "writer '" + writer + "' is not a configured server";
    return false;
  }
  if (!s->replica_of.empty()) {
    error = "'" + writer + "' is a replica: checksums only run on the writer";
    return false;
  }
  error = session_.connect(session_settings(*s, cfg_.mysql, opt_));
  if (!error.empty()) return false;
  auto r = session_.query("SELECT @@server_id AS id, @@read_only AS ro");
  if (!r.ok) {
    error = "writer " + writer + ": " + r.error;
    return false;
  }
  const auto id = first_int(result_of(r), "id");
  if (!id.ok()) {
    error = "writer " + writer + ": @@server_id: " + id.error;
    return false;
  }
  server_id = id.value;
  if (first_value(result_of(r), "ro") != "0") {
    error = "writer " + writer + " is read_only: refusing to write checksums on it";
    return false;
  }
  // pt-table-checksum's session: statements replicate as statements so each direct replica
  // recomputes the chunk on its own data; one consistent read per statement; short lock waits.
  for (const char* q : {"SET SESSION binlog_format = 'STATEMENT'",
                        "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
                        "SET SESSION innodb_lock_wait_timeout = 1",
                        "SET SESSION wait_timeout = 3600", "SET SESSION sql_mode = ''"}) {
    if (auto x = session_.query(q); !x.ok) {
      error = "writer " + writer + ": " + q + ": " + x.error;
      return false;
    }
  }
  const auto cs = cfg_.consistency.schema_table;
  auto db =
      session_.query("CREATE DATABASE IF NOT EXISTS " + quote_ident(split_schema_table(cs).first));
  auto t = db.ok ? session_.query(create_checksum_table(cs)) : db;
  if (!t.ok) {
    error = "writer " + writer + ": cannot create " + cs + ": " + t.error;
    return false;
  }
  return true;
}

bool WriterSession::list_tables(TableList& out, std::string& error) {
  const auto& k = cfg_.consistency;
  const TableFilter filter{k.include_databases, k.exclude_databases, k.include_tables,
                           k.exclude_tables, split_schema_table(k.schema_table).first};
  auto r = session_.query(table_list_query());
  auto list = parse_outcome(r, [&](const ResultSet& rs) { return parse_table_list(rs, filter); });
  if (!list.ok()) {
    error = "writer: listing tables: " + list.error;
    return false;
  }
  out = std::move(list.value);
  return true;
}

bool WriterSession::position(GtidPosition& pos, std::string& error) {
  auto q = session_.query("SELECT @@gtid_binlog_pos AS p");
  if (!q.ok) {
    error = "writer: cannot read gtid_binlog_pos: " + q.error;
    return false;
  }
  auto p = GtidPosition::parse(first_value(result_of(q), "p").value_or(""));
  if (!p.ok()) {
    error = "writer: gtid_binlog_pos: " + p.error;
    return false;
  }
  pos = std::move(p.value);
  return true;
}

bool WriterSession::load_table(TablePlan& t, std::string& why_skip, std::string& error) {
  auto cols = session_.query(table_columns_query(t.db, t.table));
  auto keys = cols.ok ? session_.query(table_keys_query(t.db, t.table)) : cols;
  if (!keys.ok) {
    error = keys.error;
    return false;
  }
  auto plan = plan_table(t.db, t.table, result_of(cols), result_of(keys));
  if (!plan.ok()) {
    error = plan.error;
    return false;
  }
  t = std::move(plan.value);
  if (t.columns.empty()) {
    why_skip = "table has no columns (dropped?)";
    return true;
  }
  if (!t.whole()) return true;
  auto n = session_.query(count_rows_query(t.db, t.table, opt_.unindexed_max_rows));
  const auto count = parse_outcome(n, [](const ResultSet& rs) { return first_int(rs, "n"); });
  if (!count.ok()) {
    error = count.error;
    return false;
  }
  why_skip = unkeyed_skip_reason(count.value, opt_.unindexed_max_rows);
  return true;
}

bool WriterSession::start_table(const std::string& db, const std::string& table,
                                std::string& error) {
  auto d = session_.query(delete_table_chunks(cfg_.consistency.schema_table, db, table));
  if (!d.ok) error = "writer: " + d.error;
  return d.ok;
}

bool WriterSession::next_boundary(ChunkId& c, int64_t rows_wanted, std::string& error) {
  c.upper.reset();
  auto b = session_.query(
      next_boundary_query(c.db, c.table, c.index, c.index_columns, c.lower, rows_wanted));
  if (!b.ok) {
    error = "writer: " + b.error;
    return false;
  }
  if (!result_of(b).rows.empty()) {
    KeyValue k;
    for (const auto& v : result_of(b).rows[0]) k.push_back(v.value_or(""));
    c.upper = std::move(k);
  }
  return true;
}

bool WriterSession::checksum_chunk(const ChunkId& c, const std::vector<Column>& cols,
                                   ChunkChecksum& sum, double& seconds, std::string& error) {
  using Clock = std::chrono::steady_clock;
  const auto cs = cfg_.consistency.schema_table;
  for (int attempt = 0;; ++attempt) {
    const auto t0 = Clock::now();
    auto r = session_.query(replace_chunk(cs, c, cols));
    seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    if (!r.ok) {
      if (retryable(r.err_no) && attempt < opt_.retries) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100 * (attempt + 1)));
        continue;
      }
      error = r.error;
      return false;
    }
    auto back = session_.query(read_chunk(cs, c));
    auto parsed = parse_outcome(back, parse_chunk_checksum);
    if (!parsed.ok()) {
      error = cs + ": " + parsed.error;
      return false;
    }
    sum = parsed.value;
    auto up = session_.query(update_master(cs, c, sum.cnt, sum.crc, seconds));
    if (!up.ok) {
      if (retryable(up.err_no) && attempt < opt_.retries) continue;
      error = up.error;
      return false;
    }
    return true;
  }
}

bool WriterSession::snapshot_chunk(const ChunkId& c, const std::vector<Column>& cols,
                                   ChunkChecksum& sum, GtidPosition& pos, std::string& error) {
  if (auto s = session_.query("START TRANSACTION WITH CONSISTENT SNAPSHOT"); !s.ok) {
    error = s.error;
    return false;
  }
  auto q = session_.query(select_chunk(c, cols));
  auto snap = session_.query("SHOW STATUS LIKE 'binlog_snapshot_%'");
  session_.query("COMMIT");
  auto chunk = parse_outcome(q, parse_chunk_checksum);
  auto at = parse_outcome(snap, parse_binlog_snapshot);
  if (!chunk.ok() || !at.ok()) {
    error = "writer: " + (chunk.ok() ? at.error : chunk.error);
    return false;
  }
  sum = chunk.value;
  auto g = session_.query("SELECT BINLOG_GTID_POS(" + quote_string(at.value.file) + ", " +
                          std::to_string(at.value.position) + ") AS p");
  const auto text = g.ok ? first_value(result_of(g), "p") : std::nullopt;
  if (!text || text->empty()) {
    error = "cannot map the snapshot's binlog position to a GTID: " + g.error;
    return false;
  }
  auto p = GtidPosition::parse(*text);
  if (!p.ok()) {
    error = "BINLOG_GTID_POS(): " + p.error;
    return false;
  }
  pos = std::move(p.value);
  return true;
}

}  // namespace myspoa::consistency
