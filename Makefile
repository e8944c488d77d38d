# Everyday entry points. Tests and the demo get a real Kafka broker from
# scripts/kafka/kafka.sh, unless KAFKA_BOOTSTRAP_SERVERS names one already.
SHELL := bash
KAFKA := bash scripts/kafka/kafka.sh

.DEFAULT_GOAL := help
.PHONY: help build test lint kafka-up kafka-down demo bench-decode bench-registry bench-registry-instructions fuzz bench-e2e bench-table bench-backlog bench-latency bench-vp faults

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-13s %s\n", $$1, $$2}'

build: ## build the library, binary, tests, examples and benches
	cargo build --all-targets

test: build ## run all tests and doctests against a fresh broker, then stop it; build the example worker crate
	$(KAFKA) with -- bash -c 'cargo test --all-targets && cargo test --doc'
	bash scripts/check-worker-crate.sh

lint: ## rustfmt check, clippy and rustdoc with warnings as errors
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --document-private-items

kafka-up: ## start the local broker (prints KAFKA_BOOTSTRAP_SERVERS)
	$(KAFKA) up

kafka-down: ## stop the local broker and delete its data
	$(KAFKA) down

demo: ## run the worker example against a fresh broker
	$(KAFKA) with -- cargo run --release --example worker

bench-decode: ## decode rate, Rust vs Ruby ActiveJob on the same payloads; typed_decode_ratio=, last line decode_ratio=
	@set -euo pipefail; \
	dirs="fixtures/6.1 fixtures/7.1 fixtures/8.1"; seconds="$${BENCH_SECONDS:-3}"; \
	bin=$$(cargo build --release --example bench_decode --message-format=json-render-diagnostics \
	  | sed -n 's/.*"executable":"\([^"]*bench_decode\)".*/\1/p' | tail -n 1); \
	test -x "$$bin" || { echo "bench_decode was not built" >&2; exit 1; }; \
	ruby_out=$$(mktemp); ruby_err=$$(mktemp); trap 'rm -f "$$ruby_out" "$$ruby_err"' EXIT; \
	echo "load average: $$(cut -d' ' -f1-3 /proc/loadavg) on $$(nproc) cores"; \
	echo "== Ruby: ActiveSupport::JSON.decode + ActiveJob::Base.deserialize + arguments, one process, $$seconds s"; \
	ruby ruby_interop/bench_decode.rb --seconds "$$seconds" $$dirs >"$$ruby_out" 2>"$$ruby_err" \
	  || { cat "$$ruby_err" >&2; exit 1; }; \
	cat "$$ruby_out"; \
	sed -n 's/^bench_decode: skipped \([^:]*\):.*/  left out on both sides (Ruby cannot read it): \1/p' "$$ruby_err"; \
	skips=$$(sed -n 's/^bench_decode: skipped \([^:]*\):.*/--skip \1/p' "$$ruby_err"); \
	echo "== Rust: JobView + typed arguments, and Job::decode_with, one thread, $$seconds s"; \
	rust_out=$$("$$bin" --seconds "$$seconds" --app fixtures/app.toml $$skips $$dirs); \
	echo "$$rust_out"; \
	ruby_rate=$$(sed -n 's/^ruby_decode_per_sec=//p' "$$ruby_out"); \
	rust_rate=$$(sed -n 's/^rust_decode_per_sec=//p' <<<"$$rust_out"); \
	syntax_rate=$$(sed -n 's/^reference_serde_json_validate_per_sec=//p' <<<"$$rust_out"); \
	tree_rate=$$(sed -n 's/^reference_sonic_rs_value_per_sec=//p' <<<"$$rust_out"); \
	awk -v syntax="$$syntax_rate" -v tree="$$tree_rate" -v ruby="$$ruby_rate" 'BEGIN { \
	  printf "for scale: serde_json checking the syntax alone = %.1fx Ruby\n", syntax / ruby; \
	  printf "for scale: sonic-rs building a generic JSON tree, no Rails rule = %.1fx Ruby\n", tree / ruby }'; \
	typed_rate=$$(sed -n 's/^rust_typed_decode_per_sec=//p' <<<"$$rust_out"); \
	awk -v ours="$$typed_rate" -v ruby="$$ruby_rate" 'BEGIN { printf "typed_decode_ratio=%.1f\n", ours / ruby }'; \
	awk -v ours="$$rust_rate" -v ruby="$$ruby_rate" 'BEGIN { printf "decode_ratio=%.1f\n", ours / ruby }'

bench-registry: ## the Registry's own cost per job beyond decoding, no broker; last line registry_overhead_ns=
	cargo run --release --example bench_registry

bench-registry-instructions: ## the same as instructions per job under callgrind; last line registry_overhead_instructions_per_job=
	bash scripts/registry-instructions.sh

bench-e2e: ## end-to-end worker throughput and peak RSS per side; last line e2e_ratio=
	$(KAFKA) with -- cargo run --release --example bench_e2e

bench-table: ## bench-e2e at 1, 6, 32 and 128 partitions, as a markdown table
	bash scripts/bench-table.sh

bench-backlog: ## bench-e2e at 32 partitions with backlogs of 100k, 1M and 10M jobs: peak RSS must stay flat
	BENCH_TABLE_PARTITIONS=32 BENCH_TABLE_MESSAGES="100000 1000000 10000000" BENCH_ROUNDS=$${BENCH_ROUNDS:-1} \
	  bash scripts/bench-table.sh

bench-latency: ## enqueue-to-perform latency at 10k jobs/s on 6 partitions, per part, beside a bare consumer; last line latency_p99_ms=
	$(KAFKA) with -- cargo run --release --example bench_latency

# Not part of `make test`: minutes long, and it kills its own broker (scripts/kafka/kafka.sh on
# free ports, whatever KAFKA_BOOTSTRAP_SERVERS says).
faults: ## fault campaign on its own broker: jobs, lost, duplicates, recovery per scenario
	cargo test --test faults_campaign -- --ignored --nocapture --test-threads 1 fault_campaign

bench-vp: ## virtual partitions: one partition's jobs/s at 1/4/16/32 groups
	$(KAFKA) with -- cargo run --release --example bench_vp

# cargo-fuzz needs nightly compiler flags: a nightly toolchain when rustup has one, otherwise
# the stable one with RUSTC_BOOTSTRAP=1. The corpus is seeded from the golden payloads each run.
fuzz: ## fuzz the decoder for 60 s (FUZZ_SECONDS=n for longer); installs cargo-fuzz if missing
	@cargo fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz --locked
	@mkdir -p fuzz/corpus/decode
	@for f in fixtures/*/*.json; do \
	  case "$$f" in */manifest.json|*/rails81_decoded.json) continue ;; esac; \
	  cp "$$f" "fuzz/corpus/decode/$$(basename "$$(dirname "$$f")")_$$(basename "$$f")"; \
	done
	@if cargo +nightly --version >/dev/null 2>&1; then cargo="cargo +nightly"; \
	else cargo="env RUSTC_BOOTSTRAP=1 cargo"; echo "no nightly toolchain: stable with RUSTC_BOOTSTRAP=1"; fi; \
	$$cargo fuzz run decode fuzz/corpus/decode -- \
	  -dict=fuzz/decode.dict -max_total_time=$${FUZZ_SECONDS:-60}
