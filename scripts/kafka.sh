#!/usr/bin/env bash
# Fetches Apache Kafka (org.apache.kafka:kafka_2.13 and its runtime
# dependencies, from Maven Central) into a cache outside the clone, for the
# tests' single-node KRaft broker. Idempotent: does nothing when the jars are
# already there. Prints nothing but errors on success.
# Usage: scripts/kafka.sh   (then MESH_KAFKA_LIBS points at the jars)
set -euo pipefail
cd "$(dirname "$0")/.."
LIBS="${MESH_KAFKA_LIBS:-$HOME/.cache/mesh-catalog/kafka-libs}"
if ls "$LIBS"/kafka_2.13-*.jar >/dev/null 2>&1 && [ -f "$LIBS/.complete" ]; then
  exit 0
fi
command -v java >/dev/null || { echo "scripts/kafka.sh: java is required (OpenJDK 17)" >&2; exit 1; }
command -v mvn >/dev/null || { echo "scripts/kafka.sh: mvn is required" >&2; exit 1; }
echo "== fetching Apache Kafka jars into $LIBS"
mkdir -p "$LIBS"
mvn -q -B -f scripts/kafka/pom.xml dependency:copy-dependencies \
  -DincludeScope=runtime -DoutputDirectory="$LIBS"
touch "$LIBS/.complete"
