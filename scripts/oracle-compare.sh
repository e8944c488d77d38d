#!/usr/bin/env bash
# Checks by hand what real Rails 8.1 reads from payloads this crate writes.
#
# Writes a corpus with examples/write_corpus.rs (every value kind at its edges, seeded random jobs,
# continuations, every golden fixture decoded and written back), has the Rails 8.1 oracle read it
# (the shared tools' rails-oracle/typed-dump, see its README), reads each line with
# `activejob-karafka decode --typed --app fixtures/app.toml`, and compares the two typed dumps line by
# line. Prints the counts and each disagreement class; exits 1 when any line disagrees.
#
# Not part of `make test`: CI has no oracle.
#
# usage: scripts/oracle-compare.sh [--seed N] [--random N] [--oracle PATH/typed-dump] [--out DIR]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seed=1 random=500 out="$root/target/oracle-compare"
oracle="${RAILS_ORACLE:-$root/../shared/tools/rails-oracle/typed-dump}"
while (( $# )); do
  case "$1" in
    --seed) seed="$2"; shift 2 ;;
    --random) random="$2"; shift 2 ;;
    --oracle) oracle="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "usage: $0 [--seed N] [--random N] [--oracle PATH/typed-dump] [--out DIR]" >&2; exit 2 ;;
  esac
done
[[ -x "$oracle" ]] || { echo "no oracle at $oracle (set RAILS_ORACLE or --oracle)" >&2; exit 2; }
mkdir -p "$out"
cd "$root"
# ruby.wasm runs out of stack on payloads nested past about 20 levels: those are left out here.
cargo run -q --example write_corpus -- --seed "$seed" --random "$random" --out "$out/corpus.jsonl" --max-depth 16
cargo build -q --bin activejob-karafka
"$oracle" < "$out/corpus.jsonl" > "$out/rails81.jsonl"
: > "$out/rust.jsonl"
while IFS= read -r line; do
  if dump="$(printf '%s' "$line" | target/debug/activejob-karafka decode --typed --app fixtures/app.toml - 2>"$out/err")"; then
    printf '%s\n' "$dump" >> "$out/rust.jsonl"
  else
    python3 -c 'import json,sys; print(json.dumps({"error_class": "rust", "message": sys.argv[1]}))' \
      "$(head -c 300 "$out/err")" >> "$out/rust.jsonl"
  fi
done < "$out/corpus.jsonl"
python3 - "$out" <<'PY'
import json, sys, collections
out = sys.argv[1]
lines = lambda name: [l.rstrip("\n") for l in open(f"{out}/{name}", encoding="utf-8")]
names, rails, rust = lines("corpus.names"), lines("rails81.jsonl"), lines("rust.jsonl")
assert len(names) == len(rails) == len(rust), (len(names), len(rails), len(rust))

def parse(text):
    # Integers and Floats stay apart, however a number is spelled (SPEC §2).
    return json.loads(text, parse_float=lambda s: ("float", float(s)), parse_int=lambda s: ("int", int(s)))

def first_diff(a, b, path="$"):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return f"{path}.{k}", a.get(k, "<absent>"), b.get(k, "<absent>")
            d = first_diff(a[k], b[k], f"{path}.{k}")
            if d: return d
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b): return path, f"{len(a)} items", f"{len(b)} items"
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_diff(x, y, f"{path}[{i}]")
            if d: return d
        return None
    same = type(a) is type(b) and (a == b or (isinstance(a, tuple) and a[1] != a[1] and b[1] != b[1]))
    return None if same else (path, a, b)

agree, classes, examples = 0, collections.Counter(), {}
for name, r, s in zip(names, rails, rust):
    r, s = parse(r), parse(s)
    if "error_class" in r and "error_class" in s:
        agree += 1; continue
    d = None if ("error_class" in r) != ("error_class" in s) else first_diff(r, s)
    if ("error_class" in r) != ("error_class" in s):
        key = f"only {'Rails' if 'error_class' in r else 'Rust'} refuses: {(r if 'error_class' in r else s)['error_class']}"
        d = ("$", r.get("message", ""), s.get("message", ""))
    elif d is None:
        agree += 1; continue
    else:
        import re
        key = "differ at " + re.sub(r"\[\d+\]", "[]", d[0])
    classes[key] += 1
    examples.setdefault(key, (name, d))
kinds = collections.Counter(n.split("/")[0] for n in names)
print(f"payloads: {len(names)} ({dict(kinds)}); agreements: {agree}; disagreements: {len(names) - agree}")
for key, n in classes.most_common():
    name, (path, a, b) = examples[key]
    print(f"  {n:4}  {key}\n        e.g. {name} at {path}: Rails {str(a)[:160]} / Rust {str(b)[:160]}")
sys.exit(0 if agree == len(names) else 1)
PY
