#!/usr/bin/env bash
# A real single-node Apache Kafka (KRaft) on 127.0.0.1 for tests and the demo.
#
#   kafka.sh fetch                      download the broker jars (cached outside the clone)
#   kafka.sh up                         start a fresh broker and wait until it serves metadata
#   kafka.sh down                       stop it and remove its data
#   kafka.sh kill                       kill -9 the broker, keeping its data (fault tests)
#   kafka.sh start                      start the killed broker again on its data
#   kafka.sh status                     exit 0 when the broker answers
#   kafka.sh topics-create NAME PARTS   create a topic unless it exists
#   kafka.sh produce TOPIC              send stdin, one message per line
#   kafka.sh consume TOPIC COUNT        print COUNT messages from the beginning
#   kafka.sh with -- CMD [ARGS...]      up, run CMD with KAFKA_BOOTSTRAP_SERVERS, down
#
# Environment (defaults in brackets):
#   KAFKA_BOOTSTRAP_SERVERS  use that cluster: up and with then start no broker
#   KAFKA_PORT [39092]  KAFKA_CONTROLLER_PORT [39093]
#   KAFKA_CACHE_DIR [~/.cache/activejob-karafka/kafka-4.1.1]
#   KAFKA_RUN_DIR [/tmp/activejob-karafka-kafka]  KAFKA_READY_TIMEOUT [60] seconds
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
CACHE_DIR=${KAFKA_CACHE_DIR:-${HOME:-/root}/.cache/activejob-karafka/kafka-4.1.1}
LIBS=$CACHE_DIR/libs
PORT=${KAFKA_PORT:-39092}
CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-39093}
RUN_DIR=${KAFKA_RUN_DIR:-/tmp/activejob-karafka-kafka}
DATA_DIR=$RUN_DIR/data
PROPS=$RUN_DIR/server.properties
PID_FILE=$RUN_DIR/broker.pid
LOG=$RUN_DIR/broker.log
READY_TIMEOUT=${KAFKA_READY_TIMEOUT:-60}
BOOTSTRAP=${KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:$PORT}

say() { echo "kafka.sh: $*" >&2; }
die() { say "error: $*"; exit 1; }

# Short-lived JVMs for Kafka's own tools: small heap and C1 only start faster.
TOOL_JAVA=(java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1
  -Dlog4j2.configurationFile="$HERE/log4j2-tools.properties" -cp "$LIBS/*")
tool() { "${TOOL_JAVA[@]}" "$@"; }

# The marker holds the pom's checksum: a changed pom means a new download.
pom_sum() { sha256sum "$HERE/pom.xml" | cut -d' ' -f1; }

cmd_fetch() {
  command -v java >/dev/null || die "java (17+) is not installed"
  if [ -f "$CACHE_DIR/.complete" ] && [ "$(cat "$CACHE_DIR/.complete")" = "$(pom_sum)" ]; then
    return 0
  fi
  command -v mvn >/dev/null || die "mvn is not installed"
  say "downloading Kafka jars into $LIBS"
  mkdir -p "$CACHE_DIR"
  # Download next to the final place, then swap, so an interrupted fetch never
  # leaves a half-filled libs/ that looks complete.
  local tmp=$CACHE_DIR/libs.partial
  rm -rf "$tmp"
  # Maven's output is kept for failures only (-q still prints colour codes).
  mvn -B -q -f "$HERE/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$tmp" >"$CACHE_DIR/mvn.log" 2>&1 || {
    cat "$CACHE_DIR/mvn.log" >&2; die "mvn could not fetch the Kafka jars"; }
  rm -rf "$LIBS"
  mv "$tmp" "$LIBS"
  pom_sum >"$CACHE_DIR/.complete"
  say "$(find "$LIBS" -name '*.jar' | wc -l) jars, $(du -sh "$LIBS" | cut -f1)"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Pid of the broker this script started, if it is still that process.
our_pid() {
  local pid
  [ -f "$PID_FILE" ] || return 1
  pid=$(cat "$PID_FILE")
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "kafka.Kafka $PROPS" || return 1
  echo "$pid"
}

# A metadata round trip, not just an open port: the broker is up only once its
# controller has elected itself and it has registered.
answers_metadata() {
  timeout 15 "${TOOL_JAVA[@]}" org.apache.kafka.tools.TopicCommand \
    --bootstrap-server "$BOOTSTRAP" --list >/dev/null 2>&1
}

log_tail() {
  [ -f "$LOG" ] && { say "last lines of $LOG:"; tail -n 40 "$LOG" >&2; }
  return 0
}

write_properties() {
  cat >"$PROPS" <<EOF
# KRaft single node: one process is both controller and broker.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$CONTROLLER_PORT
controller.listener.names=CONTROLLER
# Loopback only: nothing outside this machine can reach the test broker.
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$DATA_DIR
# One replica everywhere, or internal topics could never be created.
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Tests must not wait 3 s for every first consumer group join.
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
num.partitions=1
# Sized for a 2-core machine.
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
# A throwaway broker: keep an hour, in 64 MiB segments.
log.retention.hours=1
log.segment.bytes=67108864
log.retention.check.interval.ms=60000
EOF
}

wait_ready() {
  local pid=$1 deadline=$((SECONDS + READY_TIMEOUT))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log_tail; rm -f "$PID_FILE"
      die "the broker exited during start-up"
    fi
    if port_open "$PORT" && answers_metadata; then return 0; fi
    sleep 0.3
  done
  log_tail
  die "the broker did not answer on 127.0.0.1:$PORT within ${READY_TIMEOUT}s (pid $pid still running; 'kafka.sh down' stops it)"
}

cmd_up() {
  if [ -n "${KAFKA_BOOTSTRAP_SERVERS:-}" ]; then
    say "KAFKA_BOOTSTRAP_SERVERS is set: using the cluster at $KAFKA_BOOTSTRAP_SERVERS"
    exit 0
  fi
  local pid
  if pid=$(our_pid); then
    wait_ready "$pid"
    say "broker already running (pid $pid) and healthy"
    echo "KAFKA_BOOTSTRAP_SERVERS=$BOOTSTRAP"
    return 0
  fi
  for p in "$PORT" "$CONTROLLER_PORT"; do
    port_open "$p" && die "port $p is in use by another process: set KAFKA_PORT/KAFKA_CONTROLLER_PORT, or KAFKA_BOOTSTRAP_SERVERS to use that cluster"
  done
  cmd_fetch
  local t0=$SECONDS
  rm -rf "$DATA_DIR" "$PID_FILE" "$LOG"
  mkdir -p "$RUN_DIR" "$DATA_DIR"
  write_properties

  local cluster_id
  cluster_id=$(tool kafka.tools.StorageTool random-uuid)
  tool kafka.tools.StorageTool format --standalone -t "$cluster_id" -c "$PROPS" >"$RUN_DIR/format.log" 2>&1 || {
    cat "$RUN_DIR/format.log" >&2; die "formatting $DATA_DIR failed"; }

  launch "$t0"
}

# Starts the broker on $DATA_DIR (formatted) and waits until it serves metadata.
launch() {
  local t0=$1 pid
  # Background, detached from our stdio, so callers that capture our output
  # (or a CI pipe) do not wait on the broker. nohup execs java: $! is its pid.
  nohup java -Xms256m -Xmx1g -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$HERE/log4j2-broker.properties" \
    -cp "$LIBS/*" kafka.Kafka "$PROPS" >>"$LOG" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$PID_FILE"
  wait_ready "$pid"
  say "broker ready (pid $pid) in $((SECONDS - t0))s; data $DATA_DIR, log $LOG"
  echo "KAFKA_BOOTSTRAP_SERVERS=$BOOTSTRAP"
}

# A crash: SIGKILL, no clean shutdown, data kept for 'start'.
cmd_kill() {
  local pid
  pid=$(our_pid) || die "no broker from this script is running"
  kill -KILL "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
  say "broker (pid $pid) killed; data kept in $DATA_DIR"
}

cmd_start() {
  local pid
  if pid=$(our_pid); then
    say "broker already running (pid $pid)"
    return 0
  fi
  [ -f "$DATA_DIR/meta.properties" ] && [ -f "$PROPS" ] \
    || die "no broker data in $DATA_DIR: use 'kafka.sh up'"
  for p in "$PORT" "$CONTROLLER_PORT"; do
    port_open "$p" && die "port $p is in use by another process"
  done
  launch "$SECONDS"
}

cmd_down() {
  local pid
  if pid=$(our_pid); then
    kill -TERM "$pid" 2>/dev/null || true
    # A clean shutdown lets the controller close its log; 30 s is generous.
    for _ in $(seq 1 150); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
      say "broker (pid $pid) ignored SIGTERM for 30 s: killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    say "broker (pid $pid) stopped"
  else
    say "no broker from this script is running"
  fi
  rm -rf "$DATA_DIR" "$PID_FILE"
}

cmd_status() {
  local pid
  if [ -z "${KAFKA_BOOTSTRAP_SERVERS:-}" ]; then
    pid=$(our_pid) || { say "not running"; return 1; }
    say "running (pid $pid), log $LOG"
  fi
  if answers_metadata; then
    say "$BOOTSTRAP answers metadata requests"
  else
    say "$BOOTSTRAP does not answer"; return 1
  fi
}

cmd_topics_create() {
  [ $# -eq 2 ] || die "usage: kafka.sh topics-create NAME PARTITIONS"
  cmd_fetch
  tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" \
    --create --if-not-exists --topic "$1" --partitions "$2"
}

cmd_produce() {
  [ $# -eq 1 ] || die "usage: kafka.sh produce TOPIC <lines"
  cmd_fetch
  tool org.apache.kafka.tools.ConsoleProducer --bootstrap-server "$BOOTSTRAP" --topic "$1"
}

cmd_consume() {
  [ $# -eq 2 ] || die "usage: kafka.sh consume TOPIC COUNT"
  cmd_fetch
  tool org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "$BOOTSTRAP" \
    --topic "$1" --from-beginning --max-messages "$2" --timeout-ms 30000 \
    --property print.partition=true --property print.offset=true
}

# Runs a command against a broker. One started here goes down whatever happens
# (failure, Ctrl-C) and the command's exit status is kept.
cmd_with() {
  [ "${1:-}" = "--" ] && shift
  [ $# -gt 0 ] || die "usage: kafka.sh with -- CMD [ARGS...]"
  if [ -n "${KAFKA_BOOTSTRAP_SERVERS:-}" ]; then
    say "KAFKA_BOOTSTRAP_SERVERS is set: using the cluster at $KAFKA_BOOTSTRAP_SERVERS"
    exec "$@"
  fi
  # A broker already started by 'up' is reused and left running for its owner.
  if ! our_pid >/dev/null; then trap cmd_down EXIT; fi
  trap 'exit 130' INT TERM
  cmd_up
  export KAFKA_BOOTSTRAP_SERVERS=$BOOTSTRAP
  local rc=0
  "$@" || rc=$?
  [ "$rc" -eq 0 ] || say "command failed ($rc); broker log kept at $LOG"
  exit "$rc"
}

case "${1:-}" in
  fetch) cmd_fetch ;;
  up) cmd_up ;;
  down) cmd_down ;;
  kill) cmd_kill ;;
  start) cmd_start ;;
  status) cmd_status ;;
  topics-create) shift; cmd_topics_create "$@" ;;
  produce) shift; cmd_produce "$@" ;;
  consume) shift; cmd_consume "$@" ;;
  with) shift; cmd_with "$@" ;;
  *) sed -n '2,20s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
esac
