#!/usr/bin/env bash
# Run one of Kafka's command-line tools against the local broker, from the jars that
# deploy/local/up.sh put in .stack/kafka/libs (there is no bin/ directory).
#   bash deploy/local/kafka.sh topics --list
#   bash deploy/local/kafka.sh topics --create --topic cdrs
#   echo '{"x":1}' | bash deploy/local/kafka.sh console-producer --topic cdrs
#   bash deploy/local/kafka.sh console-consumer --topic cdrs --from-beginning --max-messages 1
#   bash deploy/local/kafka.sh consumer-groups --describe --all-groups
#   bash deploy/local/kafka.sh get-offsets --topic cdrs
#   bash deploy/local/kafka.sh org.apache.kafka.tools.SomeOtherClass ARGS...
# --bootstrap-server 127.0.0.1:9092 is added unless given (not for raw class names).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

[[ $# -ge 1 ]] || { sed -n '2,11p' "$0"; exit 2; }
[[ -f "$KAFKA_LIBS/.complete" ]] || die "no Kafka jars in $KAFKA_LIBS; run deploy/local/up.sh first"

tool="$1"
shift
bootstrap=1
case "$tool" in
  topics) cls=org.apache.kafka.tools.TopicCommand ;;
  console-producer) cls=org.apache.kafka.tools.ConsoleProducer ;;
  console-consumer) cls=org.apache.kafka.tools.consumer.ConsoleConsumer ;;
  consumer-groups) cls=org.apache.kafka.tools.consumer.group.ConsumerGroupCommand ;;
  get-offsets) cls=org.apache.kafka.tools.GetOffsetShell ;;
  configs) cls=org.apache.kafka.tools.ConfigCommand ;;
  delete-records) cls=org.apache.kafka.tools.DeleteRecordsCommand ;;
  api-versions) cls=org.apache.kafka.tools.BrokerApiVersionsCommand ;;
  metadata-quorum) cls=org.apache.kafka.tools.MetadataQuorumCommand ;;
  producer-perf) cls=org.apache.kafka.tools.ProducerPerformance; bootstrap=0 ;;
  consumer-perf) cls=org.apache.kafka.tools.ConsumerPerformance ;;
  *) cls="$tool"; bootstrap=0 ;;
esac

args=("$@")
if ((bootstrap)) && [[ " $* " != *" --bootstrap-server "* ]]; then
  args=(--bootstrap-server "127.0.0.1:$KAFKA_PORT" "${args[@]}")
fi

exec java -Xmx512m -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
  -Dlog4j2.configurationFile="$LOCAL_DIR/kafka/tools-log4j2.properties" \
  -cp "$KAFKA_LIBS/*" "$cls" "${args[@]}"
