#!/usr/bin/env bash
# `npm test`: set up everything the tests need on a bare machine, then run jest over all
# projects (unit, int, e2e). Extra arguments go to jest: `npm test -- --selectProjects unit`.
#
#   TEST_DATABASE_ADMIN_URL  Postgres superuser URL (default: the machine's server on
#                            127.0.0.1:5432, started if installed; else an embedded one)
#   KAFKA_BROKERS            brokers (default: the local broker from scripts/kafka/start.sh,
#                            on 127.0.0.1:9092, stopped again at the end if started here)
#   SKIP_BUILD=1             do not run `npm run build` (the e2e tests spawn the built apps)
#   SKIP_KAFKA=1             do not start a broker (unit tests only, say)
#   TEST_POSTGRES=embedded   use an embedded Postgres even when the machine has one
#   JEST_EXIT_GRACE_SECONDS  how long jest may stay after writing its results (default 60)
#
# At exit, pass or fail, every Kafka broker and embedded Postgres that the tests started and
# left running is stopped (recorded under FLEETCOMPAT_TEST_RUN_DIR: scripts/lib/common.sh).
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=lib/common.sh
source "$ROOT/scripts/lib/common.sh"

WATCHDOG_PID=""
cleanup() {
  if [[ -n "$WATCHDOG_PID" ]]; then kill "$WATCHDOG_PID" 2>/dev/null || true; fi
  stop_test_run_leftovers
  stop_embedded_postgres
  stop_kafka_if_started
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail_setup() { log "set-up failed: $*"; echo "tests: 0 passed, 1 failed (set-up: $*)"; exit 1; }

ensure_node_deps || fail_setup "npm ci"
command -v kcat >/dev/null 2>&1 || ensure_apt_packages kcat || log "kcat is missing: the tests that use it will fail"
ensure_test_postgres || fail_setup "no Postgres"
if [[ -z "${SKIP_KAFKA:-}" ]]; then ensure_kafka || fail_setup "the Kafka broker did not start (see .cache/kafka/broker-*.log)"; fi
export TEST_DATABASE_ADMIN_URL KAFKA_BROKERS="${KAFKA_BROKERS:-127.0.0.1:9092}"

build_rc=0
if [[ -z "${SKIP_BUILD:-}" ]]; then
  log "npm run build"
  npm run --silent build >&2 || { build_rc=$?; log "BUILD FAILED (exit $build_rc): the e2e tests that spawn the built apps will fail"; }
fi

mkdir -p "$ROOT/.cache"
# From here on, what the tests start is recorded (the broker and Postgres above are this
# script's own, stopped by the cleanup as before).
start_test_run
# Results of this run (its own file: several runs may share the tree), copied to
# .cache/jest-results.json at the end.
results="$FLEETCOMPAT_TEST_RUN_DIR/jest-results.json"
rm -f "$results" "$ROOT/.cache/jest-results.json"
log "jest --runInBand $*"
# No --forceExit: every suite closes what it opened in its afterAll, so jest exits by itself
# (`npx jest --detectOpenHandles` names a handle left open). What a failed suite left running
# (a broker, a Postgres) is stopped by the cleanup above at exit. Should a handle still hold
# jest after its results are written, the run does not hang: after JEST_EXIT_GRACE_SECONDS
# (default 60) jest is stopped and the run fails, saying so.
grace="${JEST_EXIT_GRACE_SECONDS:-60}"
jest_pidfile="$FLEETCOMPAT_TEST_RUN_DIR/jest.pid"
jest_held_file="$FLEETCOMPAT_TEST_RUN_DIR/jest.held"
# The watchdog: once the results are written, jest has `grace` seconds to exit.
(
  since=""
  while sleep 1; do
    [[ -s "$results" ]] || continue
    since="${since:-$SECONDS}"
    (( SECONDS - since >= grace )) || continue
    pid="$(cat "$jest_pidfile" 2>/dev/null)"
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
      touch "$jest_held_file"
      # jest and what it still runs (apps a suite spawned): a signal skips node's exit hooks.
      kids="$(descendants "$pid" | tr '\n' ' ')"
      log "jest did not exit ${grace}s after writing its results: an open handle holds it (find it with: npx jest --detectOpenHandles <the suite>); stopping it${kids:+ and its processes $kids}"
      # shellcheck disable=SC2086
      kill -TERM "$pid" $kids 2>/dev/null || true
      sleep 5
      # shellcheck disable=SC2086
      kill -KILL "$pid" $kids 2>/dev/null || true
    fi
    exit 0
  done
) &
WATCHDOG_PID=$!
# jest in the foreground (its signals as usual), its pid known to the watchdog (exec keeps it).
bash -c 'echo $$ > "$1"; shift; exec "$@"' _ "$jest_pidfile" "$ROOT/node_modules/.bin/jest" --runInBand --json --outputFile="$results" "$@"
jest_rc=$?
kill "$WATCHDOG_PID" 2>/dev/null || true
wait "$WATCHDOG_PID" 2>/dev/null || true
WATCHDOG_PID=""
jest_held=""
if [[ -f "$jest_held_file" ]]; then jest_held=1; jest_rc=1; fi

# The closing line, readable by people and CI: totals from jest's JSON results.
if [[ -s "$results" ]]; then
  cp "$results" "$ROOT/.cache/jest-results.json" 2>/dev/null || true
  node -e '
    const r = require(process.argv[1]);
    const skipped = r.numPendingTests + (r.numTodoTests || 0);
    const broken = r.numRuntimeErrorTestSuites || 0;
    if (broken) console.log(`test suites that failed to run: ${broken}`);
    const held = process.argv[2] ? 1 : 0;
    if (held) console.log("jest did not exit after the last test (an open handle): counted as one failure");
    console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests + broken + held} failed, ${skipped} skipped`);
  ' "$results" "$jest_held"
else
  echo "tests: 0 passed, 1 failed (jest wrote no results, exit $jest_rc)"
fi
rc=$jest_rc
if (( rc == 0 && build_rc != 0 )); then rc=$build_rc; fi
exit "$rc"
