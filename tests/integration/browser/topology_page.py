#!/usr/bin/env python3
"""The admin topology page (GET /) in a real headless Chromium, driven through chromedriver's
W3C WebDriver HTTP API with the standard library only (no selenium, no node).

  topology_page.py --admin URL --token TOKEN --labctl PATH --screenshot FILE.png

1. Token: the page is loaded through a small proxy that demands the admin token on every call but
   GET / (what an agent that protects its read views would do). The page must show its token form,
   and once the token is typed in, send it in the Authorization header and never in a URL.
2. Lab: the page is loaded from the agent; db01 is crashed with labctl; the page's DOM must show
   the writer on db02 and db01 down, at most 1 s after the agent's /status says so.
3. A screenshot of the page after the crash is saved to FILE.png.
Exit status 0 when every check passed; prints one line per check.
"""
import argparse
import base64
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"
T0 = time.monotonic()
FAILS = []


def say(msg):
    print("[%5.1fs] %s" % (time.monotonic() - T0, msg), flush=True)


def check(what, ok):
    say(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        FAILS.append(what)
    return ok


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def http_json(method, url, body=None, timeout=30):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        raise RuntimeError("%s %s: %s %s" % (method, url, e.code, e.read()[:300])) from None


class WebDriver:
    """The few W3C WebDriver commands this test needs."""

    def __init__(self, chromedriver, chromium, workdir):
        self.port = free_port()
        self.log = open(os.path.join(workdir, "chromedriver.log"), "w")
        self.proc = subprocess.Popen([chromedriver, "--port=%d" % self.port],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.base = "http://127.0.0.1:%d" % self.port
        deadline = time.monotonic() + 20
        while True:
            try:
                if http_json("GET", self.base + "/status", timeout=2)["value"].get("ready"):
                    break
            except (OSError, RuntimeError, KeyError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("chromedriver did not start")
            time.sleep(0.1)
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1280,1000",
                         "--user-data-dir=" + os.path.join(workdir, "profile")]}}}}
        self.sid = http_json("POST", self.base + "/session", caps, timeout=60)["value"]["sessionId"]

    def cmd(self, method, path, body=None):
        return http_json(method, "%s/session/%s%s" % (self.base, self.sid, path), body)["value"]

    def go(self, url):
        self.cmd("POST", "/url", {"url": url})

    def js(self, script, *args):
        return self.cmd("POST", "/execute/sync", {"script": script, "args": list(args)})

    def element(self, css):
        return self.cmd("POST", "/element", {"using": "css selector", "value": css})[ELEMENT]

    def type_into(self, css, text):
        self.cmd("POST", "/element/%s/value" % self.element(css), {"text": text})

    def click(self, css):
        self.cmd("POST", "/element/%s/click" % self.element(css), {})

    def screenshot(self, path):
        with open(path, "wb") as f:
            f.write(base64.b64decode(self.cmd("GET", "/screenshot")))

    def close(self):
        try:
            http_json("DELETE", "%s/session/%s" % (self.base, self.sid), timeout=10)
        except Exception:
            pass
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# What the page shows, read from its DOM (data-* attributes and text set by the page's script).
DOM_STATE = """
const nodes = [...document.querySelectorAll('#nodes [data-server]')];
return {
  writer: document.getElementById('writer').getAttribute('data-writer'),
  writer_text: document.getElementById('writer').textContent,
  scenario: document.body.getAttribute('data-scenario'),
  connected: document.body.getAttribute('data-connected'),
  login_shown: document.getElementById('login').classList.contains('show'),
  coordination: document.getElementById('coordination-box').hidden ? null
                : document.getElementById('coordination').textContent,
  backup: document.getElementById('backup').textContent,
  servers: Object.fromEntries(nodes.map(n => [n.getAttribute('data-server'), {
      state: n.getAttribute('data-state'), writer: n.getAttribute('data-writer'),
      in_pool: n.getAttribute('data-in-pool'), replication: n.getAttribute('data-replication')}])),
  rows: document.querySelectorAll('#servers tr').length,
  events: document.querySelectorAll('#events li').length,
};
"""


def wait_for(limit_s, pred, step=0.05):
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


class TokenProxy:
    """Forwards to the agent, but answers 401 to any call without the bearer token except GET /
    (the page itself); records every request line and whether it carried the right token. It also
    adds a "coordination" object to /status, as an agent with a balancer peer reports it."""

    def __init__(self, agent, token):
        self.seen = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                auth = self.headers.get("Authorization", "")
                ok = auth == "Bearer " + token
                outer.seen.append((self.path, ok, bool(auth)))
                if self.path != "/" and not ok:
                    self.send_response(401)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(b'{"ok": false, "error": "token required"}\n')
                    return
                try:
                    with urllib.request.urlopen(agent + self.path, timeout=5) as r:
                        body, ctype, status = r.read(), r.headers["Content-Type"], r.status
                except urllib.error.HTTPError as e:
                    body, ctype, status = e.read(), e.headers["Content-Type"], e.code
                if self.path == "/status" and status == 200:
                    doc = json.loads(body)
                    doc["coordination"] = {"role": "leader", "peer": "lb2", "term": 7}
                    body = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype or "text/plain")
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


def agent_status(admin):
    try:
        return http_json("GET", admin + "/status", timeout=2)
    except Exception:
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--admin", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--labctl", required=True)
    ap.add_argument("--screenshot", required=True)
    ap.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    ap.add_argument("--chromedriver", default=shutil.which("chromedriver") or "/usr/bin/chromedriver")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="myspoa-browser.")
    wd = None
    proxy = None
    try:
        wd = WebDriver(a.chromedriver, a.chromium, work)
        say("headless chromium session %s" % wd.sid)
        dom = lambda: wd.js(DOM_STATE)

        # 1. token ---------------------------------------------------------------------------
        proxy = TokenProxy(a.admin, a.token)
        wd.go(proxy.url + "/")
        check("token: the page shows its token form after a 401",
              wait_for(10, lambda: dom()["login_shown"]))
        check("token: nothing drawn before the token is given", dom()["servers"] == {})
        before = len(proxy.seen)
        wd.type_into("#token", a.token)
        wd.click("#token-submit")
        check("token: with the token the page draws db01..db05",
              wait_for(10, lambda: sorted(dom()["servers"]) == ["db01", "db02", "db03", "db04", "db05"]))
        time.sleep(1.5)  # a few polls, /events included
        after = proxy.seen[before:]
        paths = sorted({p.split("?")[0] for p, _, _ in after})
        check("token: every call after the form carried the token (%d calls: %s)" % (len(after), paths),
              len(after) >= 3 and all(ok for _, ok, _ in after) and "/status" in paths
              and "/events" in paths)
        c = dom()["coordination"]
        check("coordination: the role from /status is shown (%r)" % c,
              c is not None and c.startswith("leader") and "lb2" in c)
        check("token: the token never appears in a URL",
              not any(a.token in p for p, _, _ in proxy.seen))
        check("token: kept in sessionStorage, not in the address",
              wd.js("return sessionStorage.getItem('myspoa-admin-token')") == a.token
              and a.token not in wd.js("return location.href"))
        proxy.close()
        proxy = None

        # 2. lab: crash db01 -------------------------------------------------------------------
        wd.go(a.admin + "/")
        healthy = lambda: (lambda d: d["writer"] == "db01" and len(d["servers"]) == 5 and all(
            s["state"] == "up" for s in d["servers"].values()) and d)(dom())
        d = wait_for(20, healthy)
        check("lab: the page shows writer db01 and five servers up (scenario %s)"
              % (d and d["scenario"]), bool(d))
        # A standalone agent's /status carries {"mode": "standalone", "role": "standalone", ...}:
        # the page shows the agent's own role, read from the real /status.
        shown = dom()["coordination"]
        check("lab: the role from the agent's /status is shown (%r)" % shown,
              bool(shown) and shown.startswith("standalone"))
        check("lab: the page lists events and a table row per server",
              bool(wait_for(5, lambda: (lambda x: x["events"] > 0 and x["rows"] == 5)(dom()))))
        if not d:
            say("DOM: %s" % json.dumps(dom()))
            return 1
        subprocess.run([a.labctl, "crash", "db01"], check=True, stdout=subprocess.DEVNULL)
        t_crash = time.monotonic()
        say("db01 crashed (labctl crash db01)")
        t_status = t_dom = None
        deadline = t_crash + 20
        while time.monotonic() < deadline and (t_status is None or t_dom is None):
            if t_status is None:
                st = agent_status(a.admin)
                if st and st.get("writer") == "db02" and any(
                        s["name"] == "db01" and s["state"] == "down" for s in st["servers"]):
                    t_status = time.monotonic()
            if t_dom is None:
                d = dom()
                if d["writer"] == "db02" and d["servers"].get("db01", {}).get("state") == "down":
                    t_dom = time.monotonic()
            time.sleep(0.05)
        d = dom()
        ms = lambda t: "%.0f ms" % ((t - t_crash) * 1000) if t else "never"
        say("after the crash: /status at %s, the page at %s" % (ms(t_status), ms(t_dom)))
        check("lab: the page shows the writer on db02 (header: %r)" % d["writer_text"],
              d["writer"] == "db02" and d["servers"].get("db02", {}).get("writer") == "true")
        check("lab: the page shows db01 down (%s)" % d["servers"].get("db01"),
              d["servers"].get("db01", {}).get("state") == "down"
              and d["servers"].get("db01", {}).get("writer") == "false")
        check("lab: scenario db01-down, backup mode %s, db01 out of the read pool" % d["backup"],
              d["scenario"] == "db01-down" and d["backup"] == "YES"
              and d["servers"]["db01"]["in_pool"] == "false")
        check("lab: the page showed it within 1 s of /status (%s)"
              % ("%.0f ms later" % ((t_dom - t_status) * 1000) if t_dom and t_status else "-"),
              t_dom is not None and t_status is not None and t_dom - t_status <= 1.0)
        time.sleep(1.2)  # the events list refreshes every second: let it show the failover
        wd.screenshot(a.screenshot)
        check("screenshot saved: %s (%d bytes)" % (a.screenshot, os.path.getsize(a.screenshot)),
              os.path.getsize(a.screenshot) > 10000)
    except Exception as e:  # a driver or network error is a failure with its reason
        check("browser session: %s" % e, False)
        if wd:
            log = os.path.join(work, "chromedriver.log")
            if os.path.exists(log):
                print(open(log).read()[-2000:])
    finally:
        if proxy:
            proxy.close()
        if wd:
            wd.close()
        shutil.rmtree(work, ignore_errors=True)
    say("PASS" if not FAILS else "FAILED: %d check(s)" % len(FAILS))
    return 0 if not FAILS else 1


if __name__ == "__main__":
    sys.exit(main())
