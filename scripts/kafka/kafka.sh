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
#   KAFKA_OPTS               more JVM options for the broker, as Kafka's own scripts take them
#                            (e.g. -Xlog:gc:file=/tmp/gc.log to see its collector's pauses)
#
# Optional listeners beside PLAINTEXT (off unless their port is set; needs openssl):
#   KAFKA_SSL_PORT             TLS with a required client certificate (mTLS)
#   KAFKA_SASL_SSL_PORT        SASL/SCRAM-SHA-512 over TLS
#   KAFKA_SASL_PLAINTEXT_PORT  SASL/SCRAM-SHA-512 without TLS
# 'up' then writes a CA, the broker's certificate (for 127.0.0.1 and localhost), a client
# certificate and an unrelated CA into $KAFKA_RUN_DIR/tls (PEM: ca.pem, client.pem,
# client.key, other-ca.pem), creates the SCRAM user $KAFKA_SCRAM_USER [alice] with password
# $KAFKA_SCRAM_PASSWORD [alice-secret], and prints each listener's address.
#   KAFKA_AUTHORIZER=1         turn on ACLs (StandardAuthorizer): only the PLAINTEXT and
#                              controller listeners' principal (ANONYMOUS) is a super user, so
#                              the SCRAM user is refused what no ACL grants it
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
SSL_PORT=${KAFKA_SSL_PORT:-}
SASL_SSL_PORT=${KAFKA_SASL_SSL_PORT:-}
SASL_PLAINTEXT_PORT=${KAFKA_SASL_PLAINTEXT_PORT:-}
TLS_DIR=$RUN_DIR/tls
SCRAM_USER=${KAFKA_SCRAM_USER:-alice}
SCRAM_PASSWORD=${KAFKA_SCRAM_PASSWORD:-alice-secret}

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

secure_listeners() { [ -n "$SSL_PORT$SASL_SSL_PORT$SASL_PLAINTEXT_PORT" ]; }

# A throwaway CA signing the broker's certificate and a client certificate, plus a second
# CA that signed nothing (for "wrong CA" tests). Keys are unencrypted PKCS#8, as Kafka's PEM
# keystore reads them without ssl.key.password.
write_tls() {
  command -v openssl >/dev/null || die "openssl is needed for the SSL / SASL listeners"
  mkdir -p "$TLS_DIR"
  local d=$TLS_DIR
  (
    cd "$d"
    ossl() { openssl "$@" >>"$d/openssl.log" 2>&1 || { cat "$d/openssl.log" >&2; exit 1; }; }
    ossl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=activejob-karafka test CA" \
      -keyout ca.key -out ca.pem
    ossl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=unrelated CA" \
      -keyout other-ca.key -out other-ca.pem
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >server.ext
    ossl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server.key -out server.csr
    ossl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
      -extfile server.ext -out server.crt
    ossl req -newkey rsa:2048 -nodes -subj "/CN=worker" -keyout client.key -out client.csr
    ossl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
      -out client.pem
    # The broker's PEM keystore: its key, then its certificate chain.
    cat server.key server.crt ca.pem >server-keystore.pem
  ) || die "creating the TLS files in $d failed"
}

write_properties() {
  local listeners="PLAINTEXT://127.0.0.1:$PORT" advertised="PLAINTEXT://127.0.0.1:$PORT" l
  for l in "SSL:$SSL_PORT" "SASL_SSL:$SASL_SSL_PORT" "SASL_PLAINTEXT:$SASL_PLAINTEXT_PORT"; do
    [ -n "${l#*:}" ] || continue
    listeners+=",${l%%:*}://127.0.0.1:${l#*:}"
    advertised+=",${l%%:*}://127.0.0.1:${l#*:}"
  done
  cat >"$PROPS" <<EOF
# KRaft single node: one process is both controller and broker.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$CONTROLLER_PORT
controller.listener.names=CONTROLLER
# Loopback only: nothing outside this machine can reach the test broker.
listeners=$listeners,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=$advertised
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL,SASL_PLAINTEXT:SASL_PLAINTEXT
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
  if [ "${KAFKA_AUTHORIZER:-}" = 1 ]; then
    cat >>"$PROPS" <<EOF
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:ANONYMOUS
EOF
  fi
  secure_listeners || return 0
  cat >>"$PROPS" <<EOF
# TLS: PEM files written by write_tls; the SSL listener requires a client certificate.
ssl.keystore.type=PEM
ssl.keystore.location=$TLS_DIR/server-keystore.pem
ssl.truststore.type=PEM
ssl.truststore.location=$TLS_DIR/ca.pem
listener.name.ssl.ssl.client.auth=required
# SASL: SCRAM users live in the cluster metadata (added when the storage is formatted).
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
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
    print_secure
    return 0
  fi
  for p in "$PORT" "$CONTROLLER_PORT" $SSL_PORT $SASL_SSL_PORT $SASL_PLAINTEXT_PORT; do
    port_open "$p" && die "port $p is in use by another process: set KAFKA_PORT/KAFKA_CONTROLLER_PORT, or KAFKA_BOOTSTRAP_SERVERS to use that cluster"
  done
  cmd_fetch
  local t0=$SECONDS
  rm -rf "$DATA_DIR" "$PID_FILE" "$LOG"
  mkdir -p "$RUN_DIR" "$DATA_DIR"
  write_properties
  local scram=()
  if secure_listeners; then
    rm -rf "$TLS_DIR"
    write_tls
    scram=(--add-scram "SCRAM-SHA-512=[name=$SCRAM_USER,password=$SCRAM_PASSWORD]")
  fi

  local cluster_id
  cluster_id=$(tool kafka.tools.StorageTool random-uuid)
  tool kafka.tools.StorageTool format --standalone -t "$cluster_id" -c "$PROPS" "${scram[@]}" >"$RUN_DIR/format.log" 2>&1 || {
    cat "$RUN_DIR/format.log" >&2; die "formatting $DATA_DIR failed"; }

  launch "$t0"
}

# Starts the broker on $DATA_DIR (formatted) and waits until it serves metadata.
launch() {
  local t0=$1 pid
  # Background, detached from our stdio, so callers that capture our output
  # (or a CI pipe) do not wait on the broker. nohup execs java: $! is its pid.
  local -a extra
  read -r -a extra <<<"${KAFKA_OPTS:-}"
  # The heap and collector settings Kafka's own kafka-server-start.sh and kafka-run-class.sh
  # give a broker. With a 256 MiB initial heap instead, at 10 000 jobs/s the broker paused for a
  # young collection every 0.6 s and, its old generation above the marking threshold, for a
  # remark every 1.3 s (5-10 ms each): those pauses decided the 99th percentile of
  # `make bench-latency`. With these, one young pause every 3-4 s, and no marking.
  nohup java -Xms1g -Xmx1g -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent \
    ${extra[@]+"${extra[@]}"} -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$HERE/log4j2-broker.properties" \
    -cp "$LIBS/*" kafka.Kafka "$PROPS" >>"$LOG" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$PID_FILE"
  wait_ready "$pid"
  say "broker ready (pid $pid) in $((SECONDS - t0))s; data $DATA_DIR, log $LOG"
  echo "KAFKA_BOOTSTRAP_SERVERS=$BOOTSTRAP"
  print_secure
}

print_secure() {
  [ -z "$SSL_PORT" ] || echo "KAFKA_SSL_BOOTSTRAP=127.0.0.1:$SSL_PORT"
  [ -z "$SASL_SSL_PORT" ] || echo "KAFKA_SASL_SSL_BOOTSTRAP=127.0.0.1:$SASL_SSL_PORT"
  [ -z "$SASL_PLAINTEXT_PORT" ] || echo "KAFKA_SASL_PLAINTEXT_BOOTSTRAP=127.0.0.1:$SASL_PLAINTEXT_PORT"
  ! secure_listeners || echo "KAFKA_TLS_DIR=$TLS_DIR"
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
  for p in "$PORT" "$CONTROLLER_PORT" $SSL_PORT $SASL_SSL_PORT $SASL_PLAINTEXT_PORT; do
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
  rm -rf "$DATA_DIR" "$PID_FILE" "$TLS_DIR"
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
  *) sed -n '2,28s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
esac
