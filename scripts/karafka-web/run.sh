#!/usr/bin/env bash
# The Rust worker in the real Karafka Web UI, end to end (run by hand; not part of `make test`).
#
# Needs the karafka-web measuring tool (karafka-web v0.11.2 beside karafka-real; its setup.sh
# must have run, which needs fetched git dirs of karafka/karafka-web and jeremyevans/roda).
# Point KARAFKA_WEB_TOOL at it (default: ../shared/tools/karafka-web beside the repository).
#
# What it does:
#   1. a broker (scripts/kafka/kafka.sh; KAFKA_PORT / KAFKA_CONTROLLER_PORT / KAFKA_RUN_DIR as
#      for kafka.sh), karafka-web's own installer (topics and states, reset),
#   2. the Ruby `karafka server` with the Web processing, and the Web UI on
#      127.0.0.1:$KARAFKA_WEB_PORT,
#   3. the Rust worker (examples/web_ui_worker.rs) with `[web_ui] enabled = true`,
#      karafka_web_version = "0.11.2", consuming $RUST_TOPIC (2 partitions; default: a new topic per run),
#   4. Ruby `perform_later`s into the Rust topic: FailingJob (fails; dead-lettered after 1
#      retry) and SlowJob(60) (runs for a minute); and a SlowJob for the Ruby process,
#   5. screenshots of /dashboard /consumers /jobs/running /errors /status into $OUT, with the
#      page texts, and checks: our process listed with its partitions, SlowJob running on it,
#      the FailingJob error from it, /status without failure,
#   6. every report and error the worker sent, checked against karafka-web's own contracts
#      (the tool's validate.sh),
#   7. SIGTERM to the worker: its final `stopped` report; then everything is stopped.
#
# OUT defaults to target/karafka-web/<UTC time>. Exit status 0 when every check passed.
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
tool="${KARAFKA_WEB_TOOL:-$repo/../shared/tools/karafka-web}"
[ -f "$tool/env.sh" ] || { echo "no karafka-web tool at $tool (set KARAFKA_WEB_TOOL)" >&2; exit 2; }
tool="$(cd "$tool" && pwd)"
out="${OUT:-$repo/target/karafka-web/$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$out"; out="$(cd "$out" && pwd)"
export KARAFKA_WEB_PORT="${KARAFKA_WEB_PORT:-46300}"
export KARAFKA_WEB_HOST=127.0.0.1
# A topic of its own per run, so that jobs left by an earlier run do not mix in.
rust_topic="${RUST_TOPIC:-activejob-karafka-web-$(date -u +%H%M%S)}"
ruby_topic=karafka-real-web
log() { echo "[karafka-web run $(date -u +%H:%M:%S)] $*" >&2; }

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "${own_broker:-}" ]; then bash "$repo/scripts/kafka/kafka.sh" down >&2 || true; fi
}
trap cleanup EXIT

if [ -z "${KAFKA_BOOTSTRAP_SERVERS:-}" ]; then
  own_broker=1
  eval "$(bash "$repo/scripts/kafka/kafka.sh" up | grep '^KAFKA_BOOTSTRAP_SERVERS=')"
fi
export KAFKA_BOOTSTRAP_SERVERS
log "broker $KAFKA_BOOTSTRAP_SERVERS, output $out"

log "building the worker"
(cd "$repo" && cargo build --quiet --example web_ui_worker)
worker_bin="$repo/target/debug/examples/web_ui_worker"

log "karafka-web install (reset)"
"$tool/install.sh" reset >"$out/install.log" 2>&1
"$tool/../karafka-real/admin.sh" create "$ruby_topic" 1 >>"$out/install.log" 2>&1 || true
"$tool/../karafka-real/admin.sh" create "$rust_topic" 2 >>"$out/install.log" 2>&1 || true
"$tool/../karafka-real/admin.sh" create "$rust_topic-dlq" 1 >>"$out/install.log" 2>&1 || true

log "Ruby karafka server (Web processing) and the Web UI"
"$tool/server.sh" >"$out/server.log" 2>&1 & pids+=($!)
"$tool/ui.sh" >"$out/ui.log" 2>&1 & pids+=($!)

cat >"$out/worker.toml" <<TOML
group_id = "rust_workers"
client_id = "activejob-karafka"
concurrency = 3

[pause]
timeout_ms = 500

[topics."$rust_topic"]
dead_letter_queue = { topic = "$rust_topic-dlq", max_retries = 1 }

[web_ui]
enabled = true
karafka_web_version = "0.11.2"
tags = ["rust", "activejob-karafka"]
TOML
log "Rust worker"
RUST_LOG=info "$worker_bin" consume --config "$out/worker.toml" >"$out/worker.log" 2>&1 &
worker_pid=$!; pids+=($worker_pid)

for _ in $(seq 1 60); do
  curl -sf "http://$KARAFKA_WEB_HOST:$KARAFKA_WEB_PORT/consumers" >/dev/null 2>&1 && break
  sleep 1
done

log "enqueueing with Ruby's perform_later"
# The failing job first: both may land on the same partition, where the slow one would hold it
# for a minute.
"$tool/enqueue.sh" --class FailingJob --args '["from Ruby"]' --topic "$rust_topic" >>"$out/enqueue.log" 2>&1
"$tool/enqueue.sh" --class SlowJob --args '[60]' --topic "$rust_topic" >>"$out/enqueue.log" 2>&1
"$tool/enqueue.sh" --class SlowJob --args '[60]' --topic "$ruby_topic" >>"$out/enqueue.log" 2>&1

# Reports every 5 s, processing every 2.5-5 s: give it a few rounds.
log "waiting 25 s for reports to be processed"
sleep 25
log "screenshots"
"$tool/screenshot.sh" "$out" /dashboard /consumers /jobs/running /errors /status >/dev/null

process_id=$(grep -o 'reporting to the Karafka Web UI.*' "$out/worker.log" | grep -o 'process_id=[^ ]*' | head -1 | cut -d= -f2 | tr -d '"')
fail=0
check() { if grep -q -- "$2" "$out/$1.txt"; then log "ok: $1 shows $2"; else log "FAIL: $1 does not show $2"; fail=1; fi; }
check consumers "$process_id"
check consumers "$rust_topic"
check jobs_running "SlowJob"
check jobs_running "ActiveJobKarafka::Consumer"
check errors "FailingJob always fails"
check errors "$process_id"
# /status: each check is an alert; green ones are `alert alert-success`, failed, warning and
# halted ones `alert-box-error`, `alert-box-warning` and `alert-secondary` (views/status/_*.erb).
# "Karafka Pro subscription" is a warning on every OSS install, whatever the reports.
status_html="$(curl -sf "http://$KARAFKA_WEB_HOST:$KARAFKA_WEB_PORT/status" || true)"
green=$(grep -o 'alert alert-success' <<<"$status_html" | wc -l)
not_green=$(awk '/alert-box-error|alert-box-warning|alert-secondary/ { title = 1; next }
  title && /<span>/ { getline; gsub(/^ +| +$/, ""); print; title = 0 }' <<<"$status_html" |
  grep -v '^Karafka Pro subscription$' || true)
if [ "$green" -gt 0 ] && [ -z "$not_green" ]; then
  log "ok: /status has $green green checks (and the OSS Pro-subscription warning)"
else
  log "FAIL: /status has $green green checks; not green: ${not_green//$'\n'/, }"; fail=1
fi

log "stopping the worker (SIGTERM): final report"
kill -TERM "$worker_pid"; wait "$worker_pid" || true
sleep 2

log "checking every report and error of the worker with karafka-web's own contracts"
"$tool/dump.sh" karafka_consumers_reports 500 >"$out/reports.jsonl" 2>"$out/dump.log"
"$tool/dump.sh" karafka_errors 100 >"$out/errors.jsonl" 2>>"$out/dump.log"
checked=0
for kind in report error; do
  file="$out/${kind}s.jsonl"; [ "$kind" = report ] && file="$out/reports.jsonl"
  n=0
  while IFS= read -r line; do
    case "$line" in *"\"key\":\"$process_id\""*) ;; *) continue ;; esac
    n=$((n + 1))
    printf '%s\n' "$line" >"$out/one.json"
    if ! "$tool/validate.sh" "$kind" "$out/one.json" >>"$out/validate.log" 2>&1; then
      log "FAIL: a $kind does not pass karafka-web's contract (see validate.log)"; fail=1
    fi
  done <"$file"
  log "$n ${kind}s of $process_id checked with karafka-web's contracts"
  checked=$((checked + n))
done
rm -f "$out/one.json"
last_status=$(grep "\"key\":\"$process_id\"" "$out/reports.jsonl" | tail -1 | grep -o '"status":"[a-z]*"' | head -1)
if [ "$last_status" = '"status":"stopped"' ]; then log "ok: the last report says stopped"; else log "FAIL: last report $last_status"; fail=1; fi
[ "$checked" -gt 0 ] || { log "FAIL: no report of $process_id found"; fail=1; }

log "screenshots and logs in $out"
exit $fail
