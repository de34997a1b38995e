# Sourced by deploy/scripts/install-kafka.sh and start-kafka.sh: which Kafka, and where its jars live.
# The version is defined once, as <kafka.version> in pom.xml beside this file; KAFKA_VERSION overrides it.
_kafka_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KAFKA_VERSION=${KAFKA_VERSION:-$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$_kafka_dir/pom.xml")}
KAFKA_HOME=${KAFKA_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/tollgate/kafka-$KAFKA_VERSION}
