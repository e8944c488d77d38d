#!/usr/bin/env bash
# Builds examples/worker-crate (a worker binary of one's own, as the README shows it) in the main
# crate's target directory, so that its dependencies are reused, and checks that its command line
# is its own: --version, usage lines and error messages name `shop-worker`, not this library.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
started=$(date +%s)
cargo build --manifest-path examples/worker-crate/Cargo.toml --target-dir "$target"
echo "check-worker-crate: built in $(($(date +%s) - started)) s"
bin="$target/debug/shop-worker"

fail() { echo "check-worker-crate: $*" >&2; exit 1; }

version=$("$bin" --version)
[[ "$version" == "shop-worker 0.3.0" ]] || fail "--version printed '$version'"
"$bin" --help | grep -q '^Usage: shop-worker <COMMAND>' || fail "--help does not name shop-worker"

# A configuration error names the binary, the file and what the key expects.
bad=$(mktemp); trap 'rm -f "$bad"' EXIT
printf 'group_id = "shop"\n[topics.imports]\ndead_letter_queue = "imports_dlq"\n' >"$bad"
if out=$("$bin" consume --config "$bad" 2>&1); then fail "consume accepted a bad configuration"; fi
grep -q "^shop-worker: $bad: invalid worker configuration" <<<"$out" || fail "error not named: $out"
grep -q 'expected a table such as { topic = "default_dlq", max_retries = 3 }' <<<"$out" \
  || fail "error does not say what was expected: $out"

# Its handlers run: Rails 8.1's ImportJob and EchoJob payloads replay through them.
"$bin" replay --no-progress fixtures/8.1/kwargs.json fixtures/8.1/bigdecimal.json >/dev/null \
  || fail "replay through the crate's handlers failed"
echo "check-worker-crate: shop-worker builds and its command line is its own"
