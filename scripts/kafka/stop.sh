#!/usr/bin/env bash
# Stop the local broker started by scripts/kafka/start.sh on KAFKA_PORT (default 9092):
# SIGTERM (controlled shutdown), then wait; SIGKILL after KAFKA_STOP_TIMEOUT seconds (default 60).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PORT="${KAFKA_PORT:-9092}"
PIDFILE="$ROOT/.cache/kafka/broker-$PORT.pid"
TIMEOUT="${KAFKA_STOP_TIMEOUT:-60}"

if [[ ! -f "$PIDFILE" ]]; then echo "kafka[$PORT]: not running (no pid file)" >&2; exit 0; fi
pid="$(cat "$PIDFILE")"
if [[ -z "$pid" ]] || ! kill -0 "$pid" 2>/dev/null; then
  echo "kafka[$PORT]: not running (stale pid file)" >&2; rm -f "$PIDFILE"; exit 0
fi
kill -TERM "$pid"
start=$SECONDS
while kill -0 "$pid" 2>/dev/null; do
  if (( SECONDS - start >= TIMEOUT )); then
    echo "kafka[$PORT]: pid $pid still alive after ${TIMEOUT}s, killing" >&2
    kill -KILL "$pid" 2>/dev/null || true
    break
  fi
  sleep 0.2
done
rm -f "$PIDFILE"
if [[ -n "${FLEETCOMPAT_TEST_RUN_DIR:-}" ]]; then rm -f "$FLEETCOMPAT_TEST_RUN_DIR/kafka-$PORT"; fi
echo "kafka[$PORT]: stopped (pid $pid) after $((SECONDS - start))s" >&2
