# Everyday entry points. Tests and the demo get a real Kafka broker from
# scripts/kafka/kafka.sh, unless KAFKA_BOOTSTRAP_SERVERS names one already.
SHELL := bash
KAFKA := bash scripts/kafka/kafka.sh

.DEFAULT_GOAL := help
.PHONY: help build test lint kafka-up kafka-down demo bench-decode fuzz

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-13s %s\n", $$1, $$2}'

build: ## build the library, binary, tests, examples and benches
	cargo build --all-targets

test: build ## run all tests and doctests against a fresh broker, then stop it
	$(KAFKA) with -- bash -c 'cargo test --all-targets && cargo test --doc'

lint: ## rustfmt check and clippy with warnings as errors
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings

kafka-up: ## start the local broker (prints KAFKA_BOOTSTRAP_SERVERS)
	$(KAFKA) up

kafka-down: ## stop the local broker and delete its data
	$(KAFKA) down

demo: ## run the worker example against a fresh broker
	$(KAFKA) with -- cargo run --release --example worker

bench-decode: ## payload decoding benchmark
	cargo bench --bench decode

fuzz: ## fuzz the decoder for 60 s (needs cargo-fuzz)
	@if cargo fuzz --version >/dev/null 2>&1; then \
	  cargo fuzz run decode -- -max_total_time=60; \
	else \
	  echo "cargo-fuzz is not installed: cargo install cargo-fuzz (runs on a nightly toolchain)"; \
	fi
