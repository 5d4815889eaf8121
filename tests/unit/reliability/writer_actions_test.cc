// Fencing plan (pure), its SQL, `show sess` parsing and the runtime API client against a fake
// HAProxy stats socket.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "spoa/writer_actions/runtime_api.h"
#include "spoa/writer_actions/writer_actions.h"
#include "tests/unit/reliability/read_only_fixture.h"

using namespace myspoa;
using writer_actions::plan_read_only;
using Fence = config::ClusterConfig::Fence;

namespace {
using read_only_fixture::cluster;
using read_only_fixture::server;
using read_only_fixture::snap;

policy::Decision decision(std::optional<std::string> writer,
                          std::optional<std::string> promoting = std::nullopt) {
  policy::Decision d;
  d.known = true;
  d.writer = writer;
  d.promoting = promoting;
  d.scenario = writer ? "db01-replication-broken" : "split-brain";
  if (!writer) d.refusal = "split brain";
  return d;
}

std::string describe(const std::vector<writer_actions::ReadOnlyAction>& a) {
  std::string out;
  for (const auto& x : a) out += x.server + (x.read_only ? "=ro " : "=rw ");
  return out;
}

}  // namespace

TEST_CASE("plan_read_only: fence none and no management does nothing") {
  CHECK(plan_read_only(decision("db02"), snap(true, false, true, false),
                       cluster(Fence::None, false), {"db01"})
            .empty());
}

TEST_CASE("plan_read_only: fence read_only fences the master writes left, only while reachable") {
  const auto c = cluster(Fence::ReadOnly, false);
  // db01 left, still up and writable: fenced.
  auto a = plan_read_only(decision("db02"), snap(true, false, true, false), c, {"db01"});
  CHECK(describe(a) == "db01=ro ");
  REQUIRE(a.size() == 1);
  CHECK(a[0].why == "writes go to db02");
  // Already read_only: nothing.
  CHECK(plan_read_only(decision("db02"), snap(true, true, true, false), c, {"db01"}).empty());
  // Down: nothing (cannot reach it).
  CHECK(plan_read_only(decision("db02"), snap(false, false, true, false), c, {"db01"}).empty());
  // Without manage_read_only a master writes never left is not fenced (the passive master).
  CHECK(plan_read_only(decision("db01"), snap(true, false, true, false), c, {}).empty());
  // Without manage_read_only the writer is never made writable.
  CHECK(plan_read_only(decision("db02"), snap(true, true, true, true), c, {"db01"}).empty());
  // Unknown decision (starting): nothing.
  auto d = decision("db01");
  d.known = false;
  CHECK(plan_read_only(d, snap(true, false, true, false), c, {"db02"}).empty());
}

TEST_CASE("plan_read_only: manage_read_only makes read_only follow the writer") {
  const auto c = cluster(Fence::ReadOnly, true);
  CHECK(describe(plan_read_only(decision("db01"), snap(true, false, true, false), c, {})) ==
        "db02=ro ");
  CHECK(describe(plan_read_only(decision("db02"), snap(true, false, true, true), c, {"db01"})) ==
        "db01=ro db02=rw ");
  // While db02 waits for its relay log (writes refused) db01 is fenced and db02 made writable.
  CHECK(describe(plan_read_only(decision(std::nullopt, "db02"), snap(true, false, true, true), c,
                                {"db01"})) == "db01=ro db02=rw ");
  // Split brain: no writer, both fenced.
  CHECK(describe(plan_read_only(decision(std::nullopt), snap(true, false, true, false), c,
                                {"db01"})) == "db01=ro db02=ro ");
  // Replicas are never touched.
  for (const auto& a : plan_read_only(decision("db01"), snap(true, true, true, false), c, {}))
    CHECK(a.server != "db03");
}

TEST_CASE("plan_read_only: manage_read_only without fencing only unfences the writer") {
  const auto c = cluster(Fence::None, true);
  CHECK(describe(plan_read_only(decision("db02"), snap(true, false, true, true), c, {"db01"})) ==
        "db02=rw ");
}

TEST_CASE("read_only_sql: super_read_only only where it exists") {
  CHECK(writer_actions::read_only_sql(true, false) == "SET GLOBAL read_only = 1");
  CHECK(writer_actions::read_only_sql(true, true) ==
        "SET GLOBAL read_only = 1; SET GLOBAL super_read_only = 1");
  CHECK(writer_actions::read_only_sql(false, true) == "SET GLOBAL read_only = 0");
}

TEST_CASE("parse_show_sess: only sessions of the write frontend in the old writer's backend") {
  const std::string text =
      "0x55d1c0e2a000: proto=tcpv4 src=127.0.0.1:40312 fe=fe_mysql_write be=be_db01 srv=db01 "
      "ts=00 epoch=0x1 age=3s calls=4 rate=0 cpu=0 lat=0 rq[f=848000h,i=0,an=00h]\n"
      "0x55d1c0e2b000: proto=tcpv4 src=127.0.0.1:40314 fe=fe_mysql_read be=be_db01 srv=db01 "
      "ts=00 age=3s\n"
      "0x55d1c0e2c000: proto=tcpv4 src=127.0.0.1:40316 fe=fe_mysql_write be=be_db02 srv=db02 "
      "ts=00 age=1s\n"
      "0x55d1c0e2d000: proto=unix_stream src=unix:1 fe=GLOBAL be=<NONE> srv=<none> ts=00\n"
      "0x55d1c0e2e000: proto=tcpv4 src=127.0.0.1:40318 fe=fe_mysql_write be=be_db01 srv=db01\n"
      "0x55d1c0e2f000: proto=tcpv4 src=127.0.0.1:40320 fe=fe_mysql_write be=be_db010 srv=x\n"
      "\n";
  const auto ids = writer_actions::parse_show_sess(text, "fe_mysql_write", "be_db01");
  REQUIRE(ids.size() == 2);
  CHECK(ids[0] == "0x55d1c0e2a000");
  CHECK(ids[1] == "0x55d1c0e2e000");
  CHECK(writer_actions::parse_show_sess("", "fe_mysql_write", "be_db01").empty());
}

TEST_CASE("runtime_api_command: sends one line, reads until the server closes, times out") {
  char dir[] = "/tmp/myspoa-rt-XXXXXX";
  REQUIRE(mkdtemp(dir));
  const std::string path = std::string(dir) + "/stats.sock";
  const int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
  REQUIRE(lfd >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, path.c_str());
  REQUIRE(bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(listen(lfd, 4) == 0);
  std::string received;
  std::thread fake([&] {
    // 1st client: answered and closed. 2nd client: never answered (timeout).
    int c = accept(lfd, nullptr, nullptr);
    char buf[256];
    ssize_t n = read(c, buf, sizeof buf);
    if (n > 0) received.assign(buf, static_cast<size_t>(n));
    const char answer[] = "0x1: proto=tcpv4 fe=fe_mysql_write be=be_db01 srv=db01\n\n";
    (void)!write(c, answer, sizeof answer - 1);
    close(c);
    c = accept(lfd, nullptr, nullptr);
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    close(c);
  });
  std::string error;
  const auto out = writer_actions::runtime_api_command(path, "show sess", 1000, error);
  CHECK(error.empty());
  CHECK(received == "show sess\n");
  CHECK(writer_actions::parse_show_sess(out, "fe_mysql_write", "be_db01") ==
        std::vector<std::string>{"0x1"});
  const auto t0 = std::chrono::steady_clock::now();
  writer_actions::runtime_api_command(path, "show sess", 200, error);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  CHECK_FALSE(error.empty());
  CHECK(ms < 550);
  fake.join();
  close(lfd);
  writer_actions::runtime_api_command(path + ".missing", "show sess", 200, error);
  CHECK(error.find("connect") != std::string::npos);
  unlink(path.c_str());
  rmdir(dir);
}
