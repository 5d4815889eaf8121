#!/usr/bin/env bash
# Checks the docker-compose lab (docker/) without a Docker engine: `docker-compose config` resolves
# the compose file (anchors, merges, profiles) and everything else is read from its output.
#
#   check-docker-lab.sh services  REPO        compose file valid; README's services == compose's
#   check-docker-lab.sh topology  REPO [MYSPOA]  5 MySQL servers, ids 1..5, GTID; replication
#                                             sources == replica_of in docker/myspoa.yaml ==
#                                             tests/lab/myspoa.yaml; MYSPOA --check-config on it
#   check-docker-lab.sh haproxy   REPO HAPROXY  haproxy/haproxy.cfg passes `haproxy -c` with each
#                                             LB's compose environment, host names -> 127.0.0.x
#   check-docker-lab.sh libs      REPO BIN...   the Dockerfile's runtime packages provide every
#                                             shared library BIN loads (dpkg -S; no compose needed)
#
# Exit 0 pass, 1 fail, 77 skipped (docker-compose not installed; ctest SKIP_RETURN_CODE).
set -euo pipefail

mode="${1:?mode: services|topology|haproxy}"
repo="${2:?repository root}"
extra="${3:-}"

# libs: every shared library the locally built binaries load comes, on this Debian 12 machine, from
# a package the Dockerfile's runtime stage installs (or one of their dependencies). Needs no compose.
if [[ "$mode" == libs ]]; then
  shift 2
  python3 - "$repo/docker/Dockerfile" "$@" <<'PY'
import re, subprocess, sys

dockerfile, binaries = sys.argv[1], sys.argv[2:]
text = open(dockerfile).read()
runtime = text[text.index(" AS runtime"):]
m = re.search(r"apt-get install ((?:\\\n|[^\n])*)", runtime)
words = m.group(1).replace("\\\n", " ").split() if m else []
listed = [w for w in words if re.fullmatch(r"[a-z0-9][a-z0-9+.-]+", w) and w not in ("apt-get", "rm")]
listed = listed[: listed.index("&&")] if "&&" in listed else listed
print("runtime packages:", " ".join(listed))

def depends(pkg):
    r = subprocess.run(["dpkg-query", "-W", "-f=${Depends},${Pre-Depends}", pkg],
                       capture_output=True, text=True)
    names = set()
    for alt in r.stdout.split(","):
        alt = alt.strip()
        if alt:
            names.add(alt.split("|")[0].split()[0].split(":")[0])
    return names

closure, todo = set(), list(listed)
while todo:  # bounded by the number of installed packages
    p = todo.pop()
    if p in closure:
        continue
    closure.add(p)
    todo.extend(depends(p) - closure)

failures = 0
for b in binaries:
    out = subprocess.run(["ldd", b], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        lm = re.search(r"=> (/\S+)", line)
        if not lm:
            continue
        path = lm.group(1)
        r = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True)
        if r.returncode != 0:
            r = subprocess.run(["dpkg", "-S", subprocess.run(["readlink", "-f", path], capture_output=True, text=True).stdout.strip()], capture_output=True, text=True)
        pkg = r.stdout.split(":")[0] if r.returncode == 0 else None
        if pkg is None:
            print(f"FAIL: {b}: {path} belongs to no Debian package")
            failures += 1
        elif pkg in closure:
            print(f"ok: {b.rsplit('/', 1)[-1]}: {path} from {pkg}")
        else:
            print(f"FAIL: {b}: {path} comes from {pkg}, which the runtime stage does not install")
            failures += 1
print("all checks passed" if not failures else f"{failures} check(s) failed")
sys.exit(1 if failures else 0)
PY
  exit $?
fi

if ! command -v docker-compose >/dev/null 2>&1; then
  echo "SKIP: docker-compose is not installed (apt-get install docker-compose); the docker lab" \
    "is checked by parsing its compose file with it"
  exit 77
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/myspoa-docker-check.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The resolved compose file, all profiles included (keepalived is optional but must stay valid).
# COMPOSE_* variables from the caller's environment must not change what is checked.
unset COMPOSE_FILE COMPOSE_PROJECT_NAME COMPOSE_PROFILES
if ! docker-compose -f "$repo/docker/docker-compose.yml" --profile keepalived config \
  >"$work/compose.yml" 2>"$work/compose.err"; then
  echo "FAIL: docker-compose config rejects docker/docker-compose.yml:"
  cat "$work/compose.err"
  exit 1
fi

# The checks themselves are in Python (python3-yaml is a dependency of Debian's docker-compose).
export MODE="$mode" REPO="$repo" EXTRA="$extra" WORK="$work"
rc=0
python3 - <<'PY' || rc=$?
import os, re, shlex, subprocess, sys
import yaml

mode, repo, extra, work = (os.environ[k] for k in ("MODE", "REPO", "EXTRA", "WORK"))
compose = yaml.safe_load(open(os.path.join(work, "compose.yml")))
services = compose.get("services") or {}
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg)


def ok(msg):
    print("ok: " + msg)


def finish():
    if failures:
        print(f"{len(failures)} check(s) failed")
        sys.exit(1)
    print("all checks passed")
    sys.exit(0)


def load_yaml(rel):
    with open(os.path.join(repo, rel)) as f:
        return yaml.safe_load(f)


def mysql_services():
    return {n: s for n, s in services.items() if str(s.get("image", "")).startswith("mysql:")}


def flags(svc):
    """--name=value options of a service's command, '-' and '_' unified as MySQL does."""
    cmd = svc.get("command") or []
    if isinstance(cmd, str):
        cmd = shlex.split(cmd)
    out = {}
    for arg in cmd:
        if arg.startswith("--"):
            k, _, v = arg[2:].partition("=")
            out[k.replace("_", "-")] = v
    return out


def replication_pairs(cfg):
    """{(replica, source)} from a myspoa.yaml: replica_of edges plus master<->master."""
    cl = cfg["cluster"]
    pairs = {(s["name"], s["replica_of"]) for s in cl["servers"] if s.get("replica_of")}
    masters = list(cl["masters"])
    for a in masters:
        for b in masters:
            if a != b:
                pairs.add((a, b))
    return pairs, masters


if mode == "services":
    readme = open(os.path.join(repo, "docker/README.md")).read()
    m = re.search(r"<!-- services:begin -->(.*?)<!-- services:end -->", readme, re.S)
    if not m:
        fail("docker/README.md has no <!-- services:begin --> ... <!-- services:end --> list")
        finish()
    listed = re.findall(r"^- `([A-Za-z0-9_.-]+)`", m.group(1), re.M)
    if not listed:
        fail("the README's service list is empty")
    for name in listed:
        if name in services:
            ok(f"README service {name} exists in the compose file")
        else:
            fail(f"README lists service {name!r}, docker-compose.yml has no such service")
    for name in services:
        if name not in listed:
            fail(f"compose service {name!r} is missing from the README's service list")
    # Services used in the README's commands: `docker compose <verb> [options] NAME`.
    used = set()
    for line in readme.splitlines():
        for cm in re.finditer(r"docker[ -]compose\s+(.*)", line):
            words = cm.group(1).split()
            verbs = {"exec", "kill", "start", "stop", "restart", "logs", "pause", "unpause", "rm"}
            for i, w in enumerate(words):
                if w in verbs:
                    rest = [x for x in words[i + 1:] if not x.startswith("-")]
                    if rest and w != "rm":
                        used.add(re.match(r"[A-Za-z0-9_.-]*", rest[0]).group(0))
                    break
    if not used:
        fail("no `docker compose exec|kill|start|stop ... SERVICE` command found in the README")
    for name in sorted(used):
        if name in services:
            ok(f"README command uses service {name}: exists")
        else:
            fail(f"README command uses service {name!r}, which docker-compose.yml does not define")
    for must in ("db01", "db02", "agent1", "lb1", "lb2"):
        if must not in used:
            fail(f"the README shows no command on {must}")
    finish()

if mode == "topology":
    dbs = mysql_services()
    if sorted(dbs) != [f"db0{i}" for i in range(1, 6)]:
        fail(f"MySQL services are {sorted(dbs)}, expected db01..db05")
    ids = {}
    for name, svc in sorted(dbs.items()):
        f = flags(svc)
        ids[name] = f.get("server-id")
        for k, want in (("gtid-mode", "ON"), ("enforce-gtid-consistency", "ON"),
                        ("log-replica-updates", "ON"), ("report-host", name)):
            if f.get(k, "").upper() != want.upper():
                fail(f"{name}: --{k} is {f.get(k)!r}, expected {want}")
        if "log-bin" not in f:
            fail(f"{name}: no --log-bin")
    expected_ids = {f"db0{i}": str(i) for i in range(1, 6)}
    if ids == expected_ids:
        ok("server ids: " + ", ".join(f"{n}={i}" for n, i in sorted(ids.items())))
    else:
        fail(f"server ids {ids}, expected {expected_ids}")

    docker_cfg = load_yaml("docker/myspoa.yaml")
    docker_pairs, docker_masters = replication_pairs(docker_cfg)
    # Replication as wired by the init script: MYSPOA_SOURCE_HOST of each MySQL service.
    compose_pairs = set()
    for name, svc in dbs.items():
        src = (svc.get("environment") or {}).get("MYSPOA_SOURCE_HOST")
        if not src:
            fail(f"{name}: no MYSPOA_SOURCE_HOST (its replication source)")
        elif src not in dbs:
            fail(f"{name}: MYSPOA_SOURCE_HOST={src} is not a MySQL service")
        else:
            compose_pairs.add((name, src))
    if compose_pairs == docker_pairs:
        ok("compose replication sources == docker/myspoa.yaml: "
           + ", ".join(f"{r}<-{s}" for r, s in sorted(compose_pairs)))
    else:
        fail(f"compose replication {sorted(compose_pairs)} != docker/myspoa.yaml {sorted(docker_pairs)}")

    # Masters: auto_increment offsets distinct, step = number of masters; replicas read-only.
    offsets = {}
    for m in docker_masters:
        f = flags(dbs.get(m, {}))
        offsets[m] = f.get("auto-increment-offset")
        if f.get("auto-increment-increment") != str(len(docker_masters)):
            fail(f"{m}: --auto-increment-increment should be {len(docker_masters)}")
    if sorted(offsets.values()) == [str(i) for i in range(1, len(docker_masters) + 1)]:
        ok(f"auto_increment offsets {offsets}")
    else:
        fail(f"master auto_increment offsets {offsets} are not 1..{len(docker_masters)}")
    # As in the loopback lab: both masters writable (the agent picks the writer), replicas read-only.
    for name in sorted(dbs):
        want = "OFF" if name in docker_masters else "ON"
        got = flags(dbs[name]).get("read-only", "OFF").upper()
        if got != want:
            fail(f"{name}: --read-only is {got}, the loopback lab starts it {want}")

    # Agents: every server address is a compose service on MySQL's port.
    for s in docker_cfg["cluster"]["servers"]:
        host, _, port = s["address"].rpartition(":")
        if host not in dbs or port != "3306":
            fail(f"docker/myspoa.yaml: {s['name']} address {s['address']} is not a MySQL service:3306")
        if host != s["name"]:
            fail(f"docker/myspoa.yaml: {s['name']} points at {host}")

    lab = os.path.join(repo, "tests/lab/myspoa.yaml")
    if os.path.exists(lab):
        lab_pairs, lab_masters = replication_pairs(load_yaml("tests/lab/myspoa.yaml"))
        if (lab_pairs, lab_masters) == (docker_pairs, docker_masters):
            ok(f"same topology as the loopback lab: masters {lab_masters}, "
               + ", ".join(f"{r}<-{s}" for r, s in sorted(lab_pairs)))
        else:
            fail(f"docker/myspoa.yaml masters {docker_masters} pairs {sorted(docker_pairs)} != "
                 f"tests/lab/myspoa.yaml masters {lab_masters} pairs {sorted(lab_pairs)}")
        lab_backends = {s["name"]: s.get("backend") for s in load_yaml("tests/lab/myspoa.yaml")["cluster"]["servers"]}
        docker_backends = {s["name"]: s.get("backend") for s in docker_cfg["cluster"]["servers"]}
        if lab_backends != docker_backends:
            fail(f"backends differ: docker {docker_backends} lab {lab_backends}")
    else:
        fail("tests/lab/myspoa.yaml does not exist: nothing to compare the topology with")

    # Two agents over the same servers must cooperate, or they may name two writers (issue 12).
    cl = docker_cfg["cluster"]
    if cl.get("cooperation") == "majority" and cl.get("manage_read_only") is True:
        ok("docker/myspoa.yaml: cluster.cooperation majority with manage_read_only")
    else:
        fail("docker/myspoa.yaml: two agents need cluster.cooperation: majority and "
             f"manage_read_only: true (got {cl.get('cooperation')!r}, {cl.get('manage_read_only')!r})")

    # Both agents run the same configuration file and the same image.
    agents = {n: s for n, s in services.items() if n.startswith("agent")}
    if sorted(agents) != ["agent1", "agent2"]:
        fail(f"agent services {sorted(agents)}, expected agent1, agent2")
    mounts = {n: sorted(v for v in (s.get("volumes") or []) if "myspoa.yaml" in str(v)) for n, s in agents.items()}
    if len({str(v) for v in mounts.values()}) != 1 or not all(mounts.values()):
        fail(f"agents do not mount the same docker/myspoa.yaml: {mounts}")
    else:
        ok("agent1 and agent2 mount the same docker/myspoa.yaml")

    if extra:  # the real parser of the agent
        r = subprocess.run([extra, "--check-config", os.path.join(repo, "docker/myspoa.yaml")],
                           capture_output=True, text=True, timeout=30)
        if r.returncode == 0:
            ok("myspoa --check-config: " + r.stdout.strip())
        else:
            fail("myspoa --check-config docker/myspoa.yaml: " + (r.stderr or r.stdout).strip())
    finish()

if mode == "haproxy":
    haproxy = extra or "haproxy"
    cfg_path = os.path.join(repo, "haproxy/haproxy.cfg")
    spoe_path = os.path.join(repo, "haproxy/myspoa.spoe.conf")
    for p in (cfg_path, spoe_path):
        if not os.path.exists(p):
            fail(f"{os.path.relpath(p, repo)} does not exist")
    if failures:
        finish()
    text = open(cfg_path).read() + "\n" + open(spoe_path).read()
    referenced = set(re.findall(r"\$\{?(MYSPOA_[A-Z0-9_]+)", text))
    code_lines = [l.split("#", 1)[0].split() for l in open(cfg_path).read().splitlines()]
    if any(w and w[0] == "chroot" for w in code_lines):
        fail("haproxy.cfg uses chroot: the official haproxy image runs as the unprivileged user "
             "'haproxy' and cannot chroot")

    lbs = {n: s for n, s in services.items() if str(s.get("image", "")).startswith("haproxy:")}
    if sorted(lbs) != ["lb1", "lb2"]:
        fail(f"HAProxy services {sorted(lbs)}, expected lb1, lb2")
    # Compose host names do not resolve here: give every service its own loopback address and keep
    # the ports, so `haproxy -c` checks the real compose values (ports, bind addresses, file names).
    loop = {n: f"127.0.0.{i + 10}" for i, n in enumerate(sorted(services))}
    mounts_seen = {}
    for name, svc in sorted(lbs.items()):
        env = {k: str(v) for k, v in (svc.get("environment") or {}).items()}
        mounts = {}
        for v in svc.get("volumes") or []:
            if isinstance(v, dict):
                src, dst = v.get("source"), v.get("target")
            else:
                parts = str(v).split(":")
                src, dst = parts[0], parts[1]
            mounts[dst] = os.path.realpath(src)
        mounts_seen[name] = sorted(mounts.items())
        if mounts.get("/usr/local/etc/haproxy/haproxy.cfg") != os.path.realpath(cfg_path):
            fail(f"{name} does not mount haproxy/haproxy.cfg at /usr/local/etc/haproxy/haproxy.cfg")
        myspoa_env = {k for k in env if k.startswith("MYSPOA_")}
        for k in sorted(referenced - myspoa_env):
            # The defaults are the loopback lab's: inside a container they would be wrong.
            if k.endswith("_ADDR") or k.endswith("_BIND") or k == "MYSPOA_SPOE_CONF":
                fail(f"{name}: haproxy.cfg reads {k}, the compose environment does not set it")
        for k in sorted(myspoa_env - referenced):
            fail(f"{name}: compose sets {k}, which haproxy.cfg and myspoa.spoe.conf never read")
        run_env = {k: v for k, v in os.environ.items() if not k.startswith("MYSPOA_")}
        for k, v in env.items():
            host, sep, port = v.rpartition(":")
            if k.endswith("_ADDR"):
                if host not in services:
                    fail(f"{name}: {k}={v}: {host!r} is not a compose service")
                    continue
                v = f"{loop[host]}:{port}"
            elif k == "MYSPOA_SPOE_CONF":
                if v not in mounts:
                    fail(f"{name}: MYSPOA_SPOE_CONF={v} is not a file mounted into the container")
                    continue
                v = mounts[v]
            elif k == "MYSPOA_HAPROXY_STATS":
                v = os.path.join(work, f"{name}.sock")
            run_env[k] = v
        agent = env.get("MYSPOA_AGENT_ADDR", "").split(":")[0]
        if agent != f"agent{name[-1]}":
            fail(f"{name} asks {agent!r}, expected its own agent agent{name[-1]}")
        r = subprocess.run([haproxy, "-c", "-f", cfg_path], env=run_env, capture_output=True,
                           text=True, timeout=60)
        shown = {k: run_env[k] for k in sorted(env)}
        if r.returncode == 0:
            ok(f"{name}: haproxy -c accepts haproxy/haproxy.cfg with {shown}")
        else:
            fail(f"{name}: haproxy -c rejects haproxy/haproxy.cfg with {shown}:\n"
                 + (r.stdout + r.stderr).strip())
        # The substitution must have reached the config: the loopback defaults must not be used.
        if "127.0.0.1:33061" in r.stdout + r.stderr:
            fail(f"{name}: haproxy still uses the loopback lab's db01 address")
        # Second run with the compose host names themselves, which do not resolve here, as in a
        # container whose peer is stopped (`docker compose kill db01`, then lb1 restarts): HAProxy
        # must still start (init-addr ... none), or one dead server would take the LB down.
        raw_env = dict(run_env)
        for k, v in env.items():
            if k.endswith("_ADDR"):
                raw_env[k] = v
        r = subprocess.run([haproxy, "-c", "-f", cfg_path], env=raw_env, capture_output=True,
                           text=True, timeout=60)
        if r.returncode == 0:
            ok(f"{name}: haproxy -c accepts the unresolvable compose names (db01:3306, ...)")
        else:
            fail(f"{name}: with compose host names that do not resolve, haproxy -c fails (HAProxy "
                 "would not start while a server container is down; needs `default-server "
                 "init-addr last,libc,none`):\n" + (r.stdout + r.stderr).strip())
    if len({str(v) for v in mounts_seen.values()}) != 1:
        fail(f"lb1 and lb2 do not mount the same HAProxy files: {mounts_seen}")
    else:
        ok("lb1 and lb2 mount the same haproxy.cfg and myspoa.spoe.conf")
    finish()

print(f"unknown mode {mode!r}")
sys.exit(2)
PY
exit "$rc"
