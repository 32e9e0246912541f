#!/usr/bin/env bash
# Fetch the Kafka broker's runtime classpath from Maven Central into .cache/kafka/libs.
# Skipped when the libs are there and scripts/kafka/pom.xml has not changed since (stamp).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CACHE="$ROOT/.cache/kafka"
LIBS="$CACHE/libs"
STAMP="$LIBS/.pom.sha256"
want="$(sha256sum "$HERE/pom.xml" | cut -d' ' -f1)"

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]] && compgen -G "$LIBS/kafka_2.13-*.jar" >/dev/null; then
  exit 0
fi
command -v mvn >/dev/null || { echo "kafka/fetch: mvn (Apache Maven) is required" >&2; exit 1; }
command -v java >/dev/null || { echo "kafka/fetch: java (17+) is required" >&2; exit 1; }

echo "kafka/fetch: resolving the broker from Maven Central (scripts/kafka/pom.xml)..." >&2
mkdir -p "$CACHE"
tmp="$CACHE/libs.tmp.$$"
rm -rf "$tmp"
mvnlog="$CACHE/fetch.log"
if ! mvn -B -q -Dstyle.color=never -f "$HERE/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$tmp" > "$mvnlog" 2>&1; then
  cat "$mvnlog" >&2; rm -rf "$tmp"
  echo "kafka/fetch: mvn dependency:copy-dependencies failed (log: $mvnlog)" >&2; exit 1
fi
echo "$want" > "$tmp/.pom.sha256"
rm -rf "$LIBS"
mv "$tmp" "$LIBS"
# The JVM class-data archive (start.sh) names the old jars: made again at the next clean stop.
rm -f "$CACHE"/broker-cds-*.jsa
echo "kafka/fetch: $(ls "$LIBS"/*.jar | wc -l) jars in $LIBS" >&2
