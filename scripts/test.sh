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
#
# At exit, pass or fail, every Kafka broker and embedded Postgres that the tests started and
# left running is stopped (recorded under FLEETCOMPAT_TEST_RUN_DIR: scripts/lib/common.sh).
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=lib/common.sh
source "$ROOT/scripts/lib/common.sh"

cleanup() {
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
results="$ROOT/.cache/jest-results.json"
rm -f "$results"
log "jest --runInBand $*"
# No --forceExit: every suite closes what it opened in its afterAll, so jest exits by itself
# (`npx jest --detectOpenHandles` names a handle left open). What a failed suite left running
# (a broker, a Postgres) is stopped by the cleanup above at exit.
npx jest --runInBand --json --outputFile="$results" "$@"
jest_rc=$?

# The closing line, readable by people and CI: totals from jest's JSON results.
if [[ -s "$results" ]]; then
  node -e '
    const r = require(process.argv[1]);
    const skipped = r.numPendingTests + (r.numTodoTests || 0);
    const broken = r.numRuntimeErrorTestSuites || 0;
    if (broken) console.log(`test suites that failed to run: ${broken}`);
    console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests + broken} failed, ${skipped} skipped`);
  ' "$results"
else
  echo "tests: 0 passed, 1 failed (jest wrote no results, exit $jest_rc)"
fi
rc=$jest_rc
if (( rc == 0 && build_rc != 0 )); then rc=$build_rc; fi
exit "$rc"
