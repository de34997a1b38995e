#!/usr/bin/env bash
# Puts Apache Kafka's jars (from Maven Central, via deploy/kafka/pom.xml) into $KAFKA_HOME/libs,
# by default ~/.cache/tollgate/kafka-<version>/libs, outside the repository.
# Idempotent: when the jars for this pom are already there it does nothing; otherwise Maven
# resolves them from ~/.m2 (offline first), so only the first run on a machine downloads.
# Env: KAFKA_VERSION (default: <kafka.version> in deploy/kafka/pom.xml), KAFKA_HOME.
# Prints KAFKA_HOME on success.
set -euo pipefail

kafka_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../kafka" && pwd)
# shellcheck source=../kafka/kafka-env.sh
source "$kafka_dir/kafka-env.sh"
libs=$KAFKA_HOME/libs
stamp="$KAFKA_VERSION $(sha256sum "$kafka_dir/pom.xml" | cut -d' ' -f1)"

if [ -f "$libs/.installed" ] && [ "$(cat "$libs/.installed")" = "$stamp" ]; then
  echo "$KAFKA_HOME"
  exit 0
fi

if ! command -v mvn >/dev/null 2>&1 || ! command -v java >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-kafka: needs java (17+) and mvn: run as root, or apt-get install openjdk-17-jdk-headless maven" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq openjdk-17-jdk-headless maven >/dev/null
fi

mkdir -p "$KAFKA_HOME"
tmp=$(mktemp -d "$KAFKA_HOME/libs.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mvn_args=(-B -q -Dstyle.color=never -f "$kafka_dir/pom.xml" dependency:copy-dependencies
  "-Dkafka.version=$KAFKA_VERSION" -DincludeScope=runtime "-DoutputDirectory=$tmp")
[[ $KAFKA_VERSION == 3.* ]] || mvn_args+=(-Dkafka4)
# Offline first: a machine that resolved these once needs no network.
if ! mvn -o "${mvn_args[@]}" >/dev/null 2>&1; then
  # (Maven 3.8 prints colour codes even in batch mode: strip them.)
  mvn "${mvn_args[@]}" 2>&1 | sed 's/\x1b\[[0-9;]*m//g' >&2
fi
if ! compgen -G "$tmp/kafka_2.13-$KAFKA_VERSION.jar" >/dev/null; then
  echo "install-kafka: Maven finished but kafka_2.13-$KAFKA_VERSION.jar is not in its output" >&2
  exit 1
fi
echo "$stamp" >"$tmp/.installed"
# Swap the complete directory into place, so a concurrent or interrupted run never leaves half a libs/.
rm -rf "$libs.old"
[ -d "$libs" ] && mv "$libs" "$libs.old"
mv "$tmp" "$libs"
rm -rf "$libs.old"
trap - EXIT
echo "$KAFKA_HOME"
