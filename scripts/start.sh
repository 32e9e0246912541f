#!/usr/bin/env bash
# `npm start`: install dependencies when needed, build, and run the all-in-one app.
# Arguments go to the app: `npm start -- --sample-fleet` loads the bundled sample fleet.
#
#   No DATABASE_URL  -> the app starts the embedded Postgres itself (.data/postgres, port 5433).
#   No KAFKA_BROKERS -> HTTP only.
#   --with-kafka     -> also fetch and start the local broker (scripts/kafka/start.sh) and
#                       export KAFKA_BROKERS=127.0.0.1:${KAFKA_PORT:-9092} (left running; stop it
#                       with scripts/kafka/stop.sh), and KAFKA_CREATE_TOPICS=true unless set: the
#                       service creates its topics on that broker at the first start.
#
# As root, the embedded Postgres runs as the system user `postgres`; when the checkout is in a
# folder that user cannot enter (e.g. under /root, mode 0700) its binaries and data go to
# /var/lib/fleetcompat (EMBEDDED_PG_RUNTIME_DIR), .data/postgres linking there: see the README.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=lib/common.sh
source "$ROOT/scripts/lib/common.sh"

args=()
with_kafka=""
for a in "$@"; do
  if [[ "$a" == "--with-kafka" ]]; then with_kafka=1; else args+=("$a"); fi
done

ensure_node_deps
if [[ -n "$with_kafka" && -z "${KAFKA_BROKERS:-}" ]]; then
  bash "$ROOT/scripts/kafka/start.sh"
  export KAFKA_BROKERS="127.0.0.1:${KAFKA_PORT:-9092}"
  export KAFKA_CREATE_TOPICS="${KAFKA_CREATE_TOPICS:-true}"
fi
if [[ -z "${SKIP_BUILD:-}" ]]; then
  log "npm run build"
  npm run --silent build >&2
fi
main="$ROOT/dist/apps/all-in-one/src/main.js"
[[ -f "$main" ]] || { log "$main not found after the build"; exit 1; }
exec node "$main" "${args[@]}"
