#!/usr/bin/env bash
# Instructions per job of the Registry's own work, counted by callgrind (deterministic, unlike
# wall-clock figures on a shared machine): examples/bench_registry.rs runs each side (`decode`:
# JobView + typed arguments + the handler's work; `registry`: MessageHandler::handle on a
# Registry running the same handler) for 10 and for 30 passes of 1 000 jobs, and the difference
# of the two counts, divided by 20 000, is the cost per job without the set-up.
#
#   bash scripts/registry-instructions.sh          # builds the bench of this checkout
#   make bench-registry-instructions               # the same
#   BENCH_REGISTRY_BIN=/path/to/bench_registry bash scripts/registry-instructions.sh
#
# Prints decode_instructions_per_job=, registry_instructions_per_job= and, last,
# registry_overhead_instructions_per_job=.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 1; }

bin=${BENCH_REGISTRY_BIN:-}
if [[ -z "$bin" ]]; then
  bin=$(cd "$here" && cargo build --release --example bench_registry --message-format=json-render-diagnostics \
    | sed -n 's/.*"executable":"\([^"]*bench_registry\)".*/\1/p' | tail -n 1)
fi
test -x "$bin" || { echo "bench_registry was not built" >&2; exit 1; }

# Instructions of one run: side $1, $2 passes.
instructions() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" --mode "$1" --passes "$2" 2>&1 \
    | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}

per_job() {
  local few many
  few=$(instructions "$1" 10)
  many=$(instructions "$1" 30)
  echo $(( (many - few) / 20000 ))
}

decode=$(per_job decode)
registry=$(per_job registry)
echo "decode_instructions_per_job=$decode"
echo "registry_instructions_per_job=$registry"
echo "registry_overhead_instructions_per_job=$(( registry - decode ))"
