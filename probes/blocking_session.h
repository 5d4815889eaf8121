// A blocking MySQL session for a thread of its own (the consistency checker): the probes'
// MysqlClient, the only owner of MYSQL* handles, driven on a private event loop until each
// statement finishes. Every wait is bounded by the client's connect and query deadlines.
// Session settings (SET SESSION ...) matter to its users, so a lost connection is never reopened
// behind their back: query() fails until connect() is called again.
#pragma once

#include <memory>
#include <string>

#include "probes/mysql_client.h"

namespace myspoa::probes {

class BlockingSession {
 public:
  BlockingSession();
  ~BlockingSession();
  BlockingSession(BlockingSession&&) noexcept;
  BlockingSession& operator=(BlockingSession&&) noexcept;

  // Opens a new connection (closing any previous one). settings.query_timeout_ms bounds every
  // query; back-off settings do not apply (one attempt per call). "" when connected, else why not.
  std::string connect(const MysqlClientSettings& settings);
  bool connected() const;
  void close();

  // One statement; its result set (if any) is results[0]. Fails with "not connected" after a
  // lost connection.
  QueryOutcome query(const std::string& sql);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace myspoa::probes
