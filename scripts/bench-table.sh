#!/usr/bin/env bash
# Runs the end-to-end bench (examples/bench_e2e.rs) at 1, 6, 32 and 128 partitions and prints a
# markdown table of msg/s and peak RSS per side (bare consumer, worker with a no-op handler,
# worker with the Registry and a typed job), the Registry side's rate against the no-op side's,
# `e2e_ratio`, the CPU time per job of each side, and the most the two ratios could be on this
# machine at the Registry side's CPU time per job (its own and the broker's).
#
#   bash scripts/bench-table.sh                 # builds the bench of this checkout
#   make bench-table                            # the same
#   make bench-backlog                          # 32 partitions, backlogs of 100k, 1M and 10M jobs
#   BENCH_E2E_BIN=/path/to/bench_e2e bash scripts/bench-table.sh   # a bench built elsewhere
#
# Environment: BENCH_ROUNDS (passed to the bench), BENCH_TABLE_PARTITIONS ("1 6 32 128"),
# BENCH_TABLE_MESSAGES (the backlogs, "1000000"; each a row per partition count, passed to the
# bench as BENCH_MESSAGES), KAFKA_BOOTSTRAP_SERVERS (otherwise a broker is started for the run
# and stopped after). Only the bench's summary lines are read (`ceiling_msgs_per_s=`,
# `ceiling_peak_rss_mib=`, `runtime_...`, `registry_...`, `registry_runtime_ratio=`,
# `e2e_ratio=`, `<side>_cpu_us_per_job=`, `registry_runtime_ratio_machine_bound=`,
# `e2e_ratio_machine_bound=`); a bench of an older commit leaves the cells of lines
# it does not print empty.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

if [[ -z "${KAFKA_BOOTSTRAP_SERVERS:-}" ]]; then
  exec bash "$here/scripts/kafka/kafka.sh" with -- bash "$here/scripts/bench-table.sh" "$@"
fi

bin=${BENCH_E2E_BIN:-}
if [[ -z "$bin" ]]; then
  bin=$(cd "$here" && cargo build --release --example bench_e2e --message-format=json-render-diagnostics \
    | sed -n 's/.*"executable":"\([^"]*bench_e2e\)".*/\1/p' | tail -n 1)
fi
[[ -x "$bin" ]] || { echo "bench-table: no bench_e2e binary ($bin)" >&2; exit 1; }

partitions=${BENCH_TABLE_PARTITIONS:-1 6 32 128}
backlogs=${BENCH_TABLE_MESSAGES:-${BENCH_MESSAGES:-1000000}}
field() { sed -n "s/.*\\b$1=\\([0-9.]*\\).*/\\1/p" <<<"$2" | tail -n 1; }
kilo() { awk -v r="$1" 'BEGIN { if (r >= 1e6) printf "%.2f M", r / 1e6; else printf "%.0f k", r / 1e3 }'; }

rows=()
for n in $backlogs; do
  for p in $partitions; do
    echo "== BENCH_PARTITIONS=$p BENCH_MESSAGES=$n (load average $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores)" >&2
    out=$(BENCH_PARTITIONS=$p BENCH_MESSAGES=$n "$bin")
    echo "$out" >&2
    row="| $p | $(kilo "$n") |"
    for side in ceiling runtime registry; do
      rate=$(field "${side}_msgs_per_s" "$out")
      rss=$(field "${side}_peak_rss_mib" "$out")
      row+=" $(kilo "$rate") msg/s, ${rss} MiB |"
    done
    row+=" $(field registry_runtime_ratio "$out") | $(field e2e_ratio "$out") |"
    row+=" $(field ceiling_cpu_us_per_job "$out") / $(field runtime_cpu_us_per_job "$out") / $(field registry_cpu_us_per_job "$out") µs |"
    row+=" $(field registry_runtime_ratio_machine_bound "$out") / $(field e2e_ratio_machine_bound "$out") |"
    rows+=("$row")
  done
done

echo
if [[ -n "${BENCH_E2E_BIN:-}" ]]; then built="$BENCH_E2E_BIN"; else built="commit $(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo '?')"; fi
echo "bench_e2e ($built): best of ${BENCH_ROUNDS:-3} rounds; load average at the end $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
echo
echo "| partitions | jobs | bare rdkafka consumer | worker, no-op handler | worker, Registry (typed job) | Registry / no-op | e2e_ratio | CPU per job: bare / no-op / Registry | machine bound: Registry / no-op, e2e |"
echo "|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
