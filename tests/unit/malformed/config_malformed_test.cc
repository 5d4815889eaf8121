// Malformed input for the configuration loader: truncated, mutated, deeply nested, huge and binary
// versions of the lab configuration. The loader must never crash and never let anything but
// ConfigError escape; every ConfigError carries a message. Mutations come from a seeded RNG, so a
// failure names the seed and iteration that reproduce it.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cctype>
#include <cstring>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "spoa/config/config.h"

namespace {

using myspoa::config::ConfigError;
using myspoa::config::parse_config;

std::string lab_config() {
  std::ifstream in(MYSPOA_SOURCE_DIR "/tests/lab/myspoa.yaml", std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

enum class Outcome { Parsed, Rejected };

// Parses `text`: Parsed or Rejected (ConfigError with a message). Any other exception fails the
// test with `what` naming the input.
Outcome parse(const std::string& text, const std::string& what) {
  try {
    (void)parse_config(text, "malformed");
    return Outcome::Parsed;
  } catch (const ConfigError& e) {
    INFO(what);
    CHECK(std::string(e.what()).size() > 0);
    return Outcome::Rejected;
  } catch (const std::exception& e) {
    FAIL_CHECK(what << ": non-ConfigError exception escaped: " << e.what());
  } catch (...) {
    FAIL_CHECK(what << ": unknown exception escaped");
  }
  return Outcome::Rejected;
}

const char kYamlSpecials[] = ":-[]{}&*!|>'\"%@#,?\t\n \\";

std::string mutate(std::string s, std::mt19937& rng) {
  std::uniform_int_distribution<int> op(0, 6);
  const int n = 1 + static_cast<int>(rng() % 4);
  for (int k = 0; k < n && !s.empty(); ++k) {
    const size_t pos = rng() % s.size();
    switch (op(rng)) {
      case 0:  // flip a byte
        s[pos] = static_cast<char>(rng() & 0xff);
        break;
      case 1:  // delete a run
        s.erase(pos, 1 + rng() % 16);
        break;
      case 2:  // insert a YAML special character
        s.insert(pos, 1, kYamlSpecials[rng() % (sizeof(kYamlSpecials) - 1)]);
        break;
      case 3: {  // duplicate a run somewhere else
        const std::string run = s.substr(pos, 1 + rng() % 40);
        s.insert(rng() % s.size(), run);
        break;
      }
      case 4: {  // swap two lines' positions by moving a line
        const size_t a = s.rfind('\n', pos);
        const size_t b = s.find('\n', pos);
        if (a == std::string::npos || b == std::string::npos) break;
        const std::string line = s.substr(a, b - a);
        s.erase(a, b - a);
        const size_t to = s.find('\n', rng() % s.size());
        s.insert(to == std::string::npos ? s.size() : to, line);
        break;
      }
      case 5:  // change indentation
        s.insert(s.rfind('\n', pos) == std::string::npos ? 0 : s.rfind('\n', pos) + 1, "  ");
        break;
      default:  // replace a digit run with a huge or negative number
        if (std::isdigit(static_cast<unsigned char>(s[pos]))) {
          size_t e = pos;
          while (e < s.size() && std::isdigit(static_cast<unsigned char>(s[e]))) ++e;
          static const char* nums[] = {
              "99999999999999999999999", "-1",  "0", "4294967296", "1e309", "0x7fffffff",
              "-9223372036854775809",    ".nan"};
          s.replace(pos, e - pos, nums[rng() % 8]);
        }
        break;
    }
  }
  return s;
}

}  // namespace

TEST_CASE("malformed config: the lab config itself parses (baseline)", "[malformed][config]") {
  const auto text = lab_config();
  REQUIRE(text.size() > 200);
  REQUIRE(parse(text, "lab config") == Outcome::Parsed);
}

TEST_CASE("malformed config: every truncation of the lab config", "[malformed][config]") {
  const auto text = lab_config();
  size_t rejected = 0;
  for (size_t len = 0; len < text.size(); ++len) {
    if (parse(text.substr(0, len), "prefix of " + std::to_string(len) + " bytes") ==
        Outcome::Rejected)
      ++rejected;
  }
  // Cutting off cluster.servers (the end of the file) leaves no valid cluster: most prefixes fail.
  CHECK(rejected > text.size() / 2);
  CHECK(parse("", "empty") == Outcome::Rejected);
}

TEST_CASE("malformed config: seeded random mutations", "[malformed][config]") {
  const auto text = lab_config();
  const uint32_t seed = 20261127;
  std::mt19937 rng(seed);
  size_t rejected = 0;
  constexpr int kIterations = 3000;
  for (int i = 0; i < kIterations; ++i) {
    const auto m = mutate(text, rng);
    if (parse(m, "seed " + std::to_string(seed) + " iteration " + std::to_string(i)) ==
        Outcome::Rejected)
      ++rejected;
  }
  CHECK(rejected > 0);
}

TEST_CASE("malformed config: deep nesting", "[malformed][config]") {
  for (int depth : {100, 1000, 10000, 100000}) {
    const std::string flow(depth, '[');
    parse(flow + std::string(depth, ']'), "flow sequences nested " + std::to_string(depth));
    parse(flow, "unterminated flow sequences nested " + std::to_string(depth));
    parse(std::string(depth, '{'), "unterminated flow maps nested " + std::to_string(depth));
    std::string block;
    for (int i = 0; i < std::min(depth, 2000); ++i) block += std::string(i, ' ') + "k:\n";
    parse(block, "block maps nested " + std::to_string(std::min(depth, 2000)));
    std::string under_agent = "agent:\n  listen: ";
    under_agent += std::string(depth, '[') + std::string(depth, ']') + "\n";
    parse(under_agent, "nested value under agent.listen, depth " + std::to_string(depth));
  }
  std::string anchors = "a: &a [x]\n";  // billion-laughs style aliases
  for (int i = 0; i < 20; ++i) {
    const std::string prev(1, static_cast<char>('a' + i)), cur(1, static_cast<char>('b' + i));
    anchors += cur + ": &" + cur + " [*" + prev + ", *" + prev + ", *" + prev + "]\n";
  }
  CHECK(parse(anchors, "aliases") == Outcome::Rejected);
}

TEST_CASE("malformed config: huge values", "[malformed][config]") {
  const auto text = lab_config();
  const std::string big(8 << 20, 'x');
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string s = text;
    const auto p = s.find(from);
    REQUIRE(p != std::string::npos);
    s.replace(p, from.size(), to);
    return s;
  };
  parse(replace("password: myspoa", "password: " + big), "8 MiB password");
  CHECK(parse(replace("\"127.0.0.1:12345\"", "\"" + big + "\""), "8 MiB listen address") ==
        Outcome::Rejected);
  CHECK(parse(replace("\"127.0.0.1:12345\"", "\"127.0.0.1:99999999999\""), "port overflow") ==
        Outcome::Rejected);
  CHECK(parse(replace("\"127.0.0.1:12345\"", "\"127.0.0.1:-1\""), "negative port") ==
        Outcome::Rejected);
  CHECK(parse(replace("threads: 2", "threads: 99999999999999999999999"), "threads overflow") ==
        Outcome::Rejected);
  // 20,000 servers: big but well-formed; must either load or be rejected, not crash.
  std::string many = replace("    - { name: db01", "#");
  std::string servers;
  for (int i = 0; i < 20000; ++i)
    servers += "    - { name: s" + std::to_string(i) +
               ", address: \"127.0.0.1:" + std::to_string(1024 + i % 60000) + "\", backend: be_s" +
               std::to_string(i) + " }\n";
  parse(text + servers, "20000 extra servers");
  parse(many, "db01 removed");
}

// A numeric key of the lab config (or one added to it): where its line goes and how to read the
// loaded value back, so a good value is seen to load and every bad one to fail naming the key.
struct NumericKey {
  const char* key;     // as the error message names it
  const char* anchor;  // text of the lab config that the key's line replaces (or follows)
  bool insert_after;   // true: "anchor\n  <leaf>: V" is inserted; false: "<leaf>: V" replaces it
  const char* good;    // a valid value
  std::function<double(const myspoa::config::Config&)> value;
};

std::string with_value(const std::string& text, const NumericKey& k, const std::string& v) {
  std::string s = text;
  const std::string key = k.key;
  const std::string leaf = key.substr(key.rfind('.') + 1);
  const auto p = s.find(k.anchor);
  REQUIRE(p != std::string::npos);
  if (k.insert_after) {
    s.insert(p + std::strlen(k.anchor), "\n  " + leaf + ": " + v);
  } else {
    s.replace(p, std::strlen(k.anchor), leaf + ": " + v);
  }
  return s;
}

TEST_CASE("malformed config: bad numbers are rejected and the key is named",
          "[malformed][config]") {
  using myspoa::config::Config;
  const auto text = lab_config();
  const std::vector<NumericKey> keys{
      {"mysql.interval_ms", "interval_ms: 250", false, "100",
       [](const Config& c) { return c.mysql.interval_ms; }},
      {"agent.threads", "threads: 2", false, "4", [](const Config& c) { return c.agent.threads; }},
      {"mysql.max_lag_s", "max_lag_s: 5", false, "2.5",
       [](const Config& c) { return c.mysql.max_lag_s; }},
      {"mysql.connect_timeout_ms", "connect_timeout_ms: 300", false, "400",
       [](const Config& c) { return c.mysql.connect_timeout_ms; }},
      {"mysql.query_timeout_ms", "query_timeout_ms: 300", false, "500",
       [](const Config& c) { return c.mysql.query_timeout_ms; }},
      {"mysql.rise", "rise: 2", false, "3", [](const Config& c) { return c.mysql.rise; }},
      {"mysql.fall", "fall: 2", false, "5", [](const Config& c) { return c.mysql.fall; }},
      {"agent.max_frame_size", "log_level: info", true, "4096",
       [](const Config& c) { return c.agent.max_frame_size; }},
      {"mysql.flap_window_s", "max_lag_s: 5", true, "90",
       [](const Config& c) { return c.mysql.flap_window_s; }},
      {"cluster.promotion_wait_ms", "failback: auto", true, "0",
       [](const Config& c) { return c.cluster.promotion_wait_ms; }},
  };
  // Not one of these is a usable count, duration or lag.
  const std::vector<std::string> bad{"-1",
                                     ".inf",
                                     "-.inf",
                                     ".nan",
                                     "NaN",
                                     "1e400",
                                     "0x10",
                                     "''",
                                     "abc",
                                     "[1]",
                                     "~",
                                     "1.5x",
                                     "-9223372036854775809",
                                     "99999999999999999999999"};
  for (const auto& k : keys) {
    INFO(k.key);
    const auto good = with_value(text, k, k.good);
    REQUIRE(parse(good, std::string(k.key) + ": " + k.good) == Outcome::Parsed);
    CHECK(k.value(myspoa::config::parse_config(good, "good")) == std::stod(k.good));
    for (const auto& v : bad) {
      INFO(k.key << ": " << v);
      try {
        (void)myspoa::config::parse_config(with_value(text, k, v), "bad");
        FAIL_CHECK(k.key << ": " << v << " was accepted");
      } catch (const ConfigError& e) {
        CHECK_THAT(e.what(), Catch::Contains(std::string(k.key) + ":"));
      }
    }
  }
  // Positive keys: zero is no value either (promotion_wait_ms may be 0: no wait).
  for (const auto& k : keys) {
    if (std::string(k.key) == "cluster.promotion_wait_ms") continue;
    INFO(k.key << ": 0");
    CHECK_THROWS_WITH(myspoa::config::parse_config(with_value(text, k, "0"), "zero"),
                      Catch::Contains(std::string(k.key) + ":"));
  }
  // Consistency and alert keys live in sections the lab config does not have.
  for (const std::string section :
       {"consistency:\n  max_lag_s: ", "consistency:\n  chunk_time_ms: ", "alerts:\n  timeout_ms: ",
        "haproxy:\n  timeout_ms: "}) {
    const auto key =
        section.substr(0, section.find(':')) + "." +
        section.substr(section.find("  ") + 2, section.rfind(':') - section.find("  ") - 2);
    for (const auto& v : bad) {
      INFO(key << ": " << v);
      auto t = text;
      // haproxy: is already in the lab config: replace that section, append the others.
      if (section.rfind("haproxy", 0) == 0) t = t.substr(0, t.find("\nhaproxy:"));
      CHECK_THROWS_WITH(myspoa::config::parse_config(t + "\n" + section + v + "\n", "section"),
                        Catch::Contains(key + ":"));
    }
  }
}

TEST_CASE("malformed config: binary garbage and NUL bytes", "[malformed][config]") {
  std::mt19937 rng(7);
  for (int i = 0; i < 500; ++i) {
    std::string g(1 + rng() % 4096, '\0');
    for (auto& c : g) c = static_cast<char>(rng() & 0xff);
    parse(g, "garbage " + std::to_string(i));
  }
  const auto text = lab_config();
  std::string with_nul = text;
  with_nul.insert(text.find("myspoa"), std::string("\0\0", 2));
  parse(with_nul, "NUL inside a value");
  parse(std::string("\xef\xbb\xbf") + text, "UTF-8 BOM");
  parse(std::string("\xff\xfe") + text, "UTF-16 BOM");
  parse(std::string(1 << 16, '\0'), "64 KiB of NUL");
}

TEST_CASE("malformed config: files that cannot be read", "[malformed][config]") {
  for (const std::string path : {"/nonexistent/myspoa.yaml", "/", "/dev/null", ""}) {
    try {
      (void)myspoa::config::load_config_file(path);
      FAIL_CHECK(path << ": loaded");
    } catch (const ConfigError& e) {
      CHECK(std::string(e.what()).size() > 0);
    } catch (const std::exception& e) {
      FAIL_CHECK(path << ": non-ConfigError exception: " << e.what());
    }
  }
}
