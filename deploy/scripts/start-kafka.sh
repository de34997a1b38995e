#!/usr/bin/env bash
# Runs a single-node KRaft Kafka (broker + controller) in the foreground:
#   start-kafka.sh PORT DATA_DIR
# Env: CONTROLLER_PORT (default PORT+1), NUM_PARTITIONS (default 1),
#      KAFKA_HOME (default as in install-kafka.sh; the jars are in $KAFKA_HOME/libs),
#      KAFKA_HEAP_OPTS (default -Xmx512m), KAFKA_LOG_LEVEL (default WARN),
#      KAFKA_JVM_OPTS (default: flags for a fast start on a small machine; for a throughput
#      test use e.g. KAFKA_JVM_OPTS=-XX:+UseG1GC, which keeps the JIT's top tier).
# The data directory is formatted on first use and reused afterwards, so stopping the
# process (SIGTERM) and running this again with the same arguments keeps the topics and data.
# `exec`s java, so a signal sent to this process reaches the broker.
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 PORT DATA_DIR" >&2
  exit 2
fi
port=$1
mkdir -p "$2"
data_dir=$(cd "$2" && pwd)
controller_port=${CONTROLLER_PORT:-$((port + 1))}
partitions=${NUM_PARTITIONS:-1}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
kafka_dir=$here/../kafka
# shellcheck source=../kafka/kafka-env.sh
source "$kafka_dir/kafka-env.sh"
libs=$KAFKA_HOME/libs
if ! compgen -G "$libs/kafka_2.13-*.jar" >/dev/null; then
  echo "Kafka jars not found in $libs: run \`bash deploy/scripts/install-kafka.sh\` (or set KAFKA_HOME, or KAFKA_BROKERS to a running broker)" >&2
  exit 3
fi
command -v java >/dev/null || { echo "java not found: install a JDK 17 (apt-get install openjdk-17-jre-headless)" >&2; exit 3; }

config=$data_dir/server.properties
sed -e "s|@PORT@|$port|g" -e "s|@CONTROLLER_PORT@|$controller_port|g" \
    -e "s|@DATA_DIR@|$data_dir|g" -e "s|@NUM_PARTITIONS@|$partitions|g" \
    "$kafka_dir/server.properties" >"$config"

java_opts=(
  ${KAFKA_HEAP_OPTS:--Xmx512m}
  ${KAFKA_JVM_OPTS:--XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:-UsePerfData}
  -Djava.awt.headless=true
  "-Dlog4j.configuration=file:$kafka_dir/log4j.properties"
  "-Dlog4j2.configurationFile=$kafka_dir/log4j2.properties"
  "-Dkafka.log.level=${KAFKA_LOG_LEVEL:-WARN}"
  -cp "$libs/*"
)

if [ ! -f "$data_dir/kraft-logs/meta.properties" ]; then
  # A cluster id is 16 random bytes in URL-safe base64 without padding. One that starts with
  # "-" would be read as an option by the format tool, so draw again until it does not.
  cluster_id=-
  while [[ $cluster_id == -* ]]; do
    cluster_id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
  done
  java "${java_opts[@]}" kafka.tools.StorageTool format -t "$cluster_id" -c "$config" >"$data_dir/format.log" 2>&1 \
    || { cat "$data_dir/format.log" >&2; exit 1; }
fi

exec java "${java_opts[@]}" kafka.Kafka "$config"
