#!/usr/bin/env bash
# Start a local single-node Kafka broker (KRaft: broker + controller in one JVM) from the jars
# that scripts/kafka/fetch.sh takes from Maven Central. No Docker, no other download.
#
#   KAFKA_PORT              client port on 127.0.0.1            (default 9092)
#   KAFKA_CONTROLLER_PORT   controller port on 127.0.0.1        (default KAFKA_PORT + 1000)
#   KAFKA_NUM_PARTITIONS    partitions of auto-created topics   (default 3)
#   KAFKA_HEAP_OPTS         JVM heap                            (default -Xms128m -Xmx512m)
#   KAFKA_EXTRA_CONFIG      extra server.properties lines; they override the defaults
#                           (e.g. SASL/SCRAM listeners for a second broker)
#   KAFKA_FORMAT_ARGS       extra args for the storage format of a new data dir (e.g. --add-scram ...)
#   KAFKA_START_TIMEOUT     seconds to wait for the broker to answer (default 90)
#   JAVA                    java binary (default: java on PATH, 17+)
#   FLEETCOMPAT_TEST_RUN_DIR  set by scripts/test.sh: a broker started here is recorded there, and
#                           stopped at the end of the run if a test left it up
#
# Data: .cache/kafka/data-<port> (kept between runs; formatted when new). Log:
# .cache/kafka/broker-<port>.log. Pid: .cache/kafka/broker-<port>.pid.
# Idempotent: exits 0 at once when this port's broker is already running.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CACHE="$ROOT/.cache/kafka"
PORT="${KAFKA_PORT:-9092}"
CPORT="${KAFKA_CONTROLLER_PORT:-$((PORT + 1000))}"
DATA="$CACHE/data-$PORT"
LOG="$CACHE/broker-$PORT.log"
PIDFILE="$CACHE/broker-$PORT.pid"
CONF="$CACHE/server-$PORT.properties"
JAVA="${JAVA:-java}"
TIMEOUT="${KAFKA_START_TIMEOUT:-90}"

say() { echo "kafka[$PORT]: $*" >&2; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

running_pid() {
  [[ -f "$PIDFILE" ]] || return 1
  local pid; pid="$(cat "$PIDFILE" 2>/dev/null)" || return 1
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# A metadata request, not just an open port: kcat when installed, else kafkajs from node_modules.
metadata_ok() {
  if command -v kcat >/dev/null 2>&1; then
    kcat -L -b "127.0.0.1:$PORT" -m 5 -J 2>/dev/null | grep -q '"brokers":\[{'
  elif [[ -d "$ROOT/node_modules/kafkajs" ]] && command -v node >/dev/null 2>&1; then
    (cd "$ROOT" && node -e '
      const { Kafka, logLevel } = require("kafkajs");
      const admin = new Kafka({ brokers: [process.argv[1]], logLevel: logLevel.NOTHING,
        connectionTimeout: 3000, retry: { retries: 0 } }).admin();
      admin.connect().then(() => admin.listTopics()).then(() => admin.disconnect())
        .then(() => process.exit(0), () => process.exit(1));' "127.0.0.1:$PORT") >/dev/null 2>&1
  else
    port_open "$PORT"
  fi
}

if pid="$(running_pid)"; then
  if metadata_ok; then say "already running (pid $pid)"; exit 0; fi
  say "pid $pid is alive but the broker does not answer yet; waiting"
else
  rm -f "$PIDFILE"
  if port_open "$PORT"; then
    if metadata_ok; then say "a Kafka broker not started by this script already answers on 127.0.0.1:$PORT; using it"; exit 0; fi
    say "port $PORT is taken by something else"; exit 1
  fi
  if port_open "$CPORT"; then say "controller port $CPORT is taken (set KAFKA_CONTROLLER_PORT)"; exit 1; fi

  bash "$HERE/fetch.sh"
  mkdir -p "$CACHE" "$DATA"
  CP="$CACHE/libs/*"

  cat > "$CONF" <<PROPS
# Written by scripts/kafka/start.sh; edits are lost at the next start.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CPORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL
log.dirs=$DATA/logs
metadata.log.dir=$DATA/meta
auto.create.topics.enable=true
delete.topic.enable=true
num.partitions=${KAFKA_NUM_PARTITIONS:-3}
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.retention.hours=24
log.segment.bytes=16777216
log.flush.interval.ms=1000000
PROPS
  if [[ -n "${KAFKA_EXTRA_CONFIG:-}" ]]; then
    printf '\n# KAFKA_EXTRA_CONFIG\n%s\n' "$KAFKA_EXTRA_CONFIG" >> "$CONF"
  fi

  # Fast JVM start for a test broker: one GC thread set, C1 only, no perf data file, and an
  # application class-data-sharing archive made on the first run (JDK 13+: ArchiveClassesAtExit
  # dumps at the first clean exit; later starts map it).
  JSA="$CACHE/broker-cds-$( { sha256sum "$HERE/pom.xml"; "$JAVA" -version 2>&1; } | sha256sum | cut -c1-16).jsa"
  JVM_OPTS=(${KAFKA_HEAP_OPTS:--Xms128m -Xmx512m} -XX:+UseSerialGC -XX:TieredStopAtLevel=1
    -XX:-UsePerfData -XX:+ExitOnOutOfMemoryError -Xlog:cds=off -Xlog:cds+dynamic=off -Djava.awt.headless=true
    -Dlog4j2.configurationFile="$HERE/log4j2.properties" -Dlog4j2.formatMsgNoLookups=true
    -Dkafka.logs.dir="$CACHE")
  if [[ -f "$JSA" ]]; then CDS=(-XX:SharedArchiveFile="$JSA" -Xshare:auto)
  else CDS=(-XX:ArchiveClassesAtExit="$JSA"); fi

  if [[ ! -f "$DATA/meta/meta.properties" ]]; then
    # A random base64url id; one that starts with '-' would be read by kafka-storage as an
    # option ("argument --cluster-id: expected one argument"), so draw again.
    CLUSTER_ID="-"
    while [[ "$CLUSTER_ID" == -* ]]; do CLUSTER_ID="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"; done
    say "formatting new storage in $DATA (cluster $CLUSTER_ID)"
    # shellcheck disable=SC2086
    "$JAVA" "${JVM_OPTS[@]}" -Xshare:auto -cp "$CP" kafka.tools.StorageTool format \
      -t "$CLUSTER_ID" -c "$CONF" --ignore-formatted ${KAFKA_FORMAT_ARGS:-} >> "$LOG" 2>&1 \
      || { say "storage format failed; see $LOG"; tail -20 "$LOG" >&2; exit 1; }
  fi

  echo "=== $(date -u +%FT%TZ) starting broker on 127.0.0.1:$PORT (controller $CPORT)" >> "$LOG"
  # setsid: the broker outlives this script and the caller's process group (npm, CI).
  setsid "$JAVA" "${JVM_OPTS[@]}" "${CDS[@]}" -cp "$CP" kafka.Kafka "$CONF" >> "$LOG" 2>&1 < /dev/null &
  pid=$!
  echo "$pid" > "$PIDFILE"
  # A test run (scripts/test.sh) stops at its end every broker it started that is still up.
  if [[ -n "${FLEETCOMPAT_TEST_RUN_DIR:-}" ]]; then
    mkdir -p "$FLEETCOMPAT_TEST_RUN_DIR" && echo "$PORT $pid $ROOT" > "$FLEETCOMPAT_TEST_RUN_DIR/kafka-$PORT" || true
  fi
  say "started pid $pid, log $LOG"
fi

start=$SECONDS
until metadata_ok; do
  if ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    say "broker exited during start-up; last lines of $LOG:"; tail -30 "$LOG" >&2
    rm -f "$PIDFILE"; exit 1
  fi
  if (( SECONDS - start > TIMEOUT )); then
    say "no answer after ${TIMEOUT}s; see $LOG"; tail -30 "$LOG" >&2; exit 1
  fi
  sleep 0.2
done
say "ready on 127.0.0.1:$PORT after $((SECONDS - start))s"
