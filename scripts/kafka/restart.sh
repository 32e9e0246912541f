#!/usr/bin/env bash
# Restart the local broker on KAFKA_PORT (data kept): for fault tests (broker away, then back).
# KAFKA_DOWN_SECONDS: how long to stay down between stop and start (default 0).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bash "$HERE/stop.sh"
sleep "${KAFKA_DOWN_SECONDS:-0}"
exec bash "$HERE/start.sh"
