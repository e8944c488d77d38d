#!/usr/bin/env bash
# The worker's reports of every supported schema, checked by karafka-web's own Ruby contracts of
# a release of each schema (run by hand; not part of `make test`).
#
# Runs tests/web_ui_reports.rs (a real broker: KAFKA_BOOTSTRAP_SERVERS, or the one the tests
# start) with WEB_UI_REPORTS_DIR set, so that it writes every report and error report it read
# back, then checks the ones of each schema with contracts.rb against the source of:
#   1.4.1: v0.11.2   1.5.0: v0.11.5   1.6.0: v0.11.6   1.7.0: v1.0.0
# Needs a git dir of karafka/karafka-web (KARAFKA_WEB_GIT) and the karafka-real tool
# (KARAFKA_REAL_TOOL, default ../shared/tools/karafka-real beside the repository) for Ruby's
# karafka and karafka-core.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
git_dir="${KARAFKA_WEB_GIT:?set KARAFKA_WEB_GIT to a git dir of karafka/karafka-web}"
real="${KARAFKA_REAL_TOOL:-$repo/../shared/tools/karafka-real}"
work="$(mktemp -d /tmp/ajk-web-contracts.XXXXXX)"
trap 'rm -rf "$work"' EXIT

(cd "$repo" && WEB_UI_REPORTS_DIR="$work/reports" cargo test --quiet --test web_ui_reports)

# shellcheck source=/dev/null
. "$real/env.sh"
fail=0
for pair in 1.4.1:v0.11.2 1.5.0:v0.11.5 1.6.0:v0.11.6 1.7.0:v1.0.0; do
  schema="${pair%%:*}"; tag="${pair#*:}"
  mkdir -p "$work/src/$tag"
  git -C "$git_dir" archive "$tag" lib config | tar -x -C "$work/src/$tag"
  files=("$work/reports/$schema"/*.json)
  echo "schema $schema, karafka-web $tag: ${#files[@]} files"
  ruby "$repo/scripts/karafka-web/contracts.rb" "$work/src/$tag" "${files[@]}" || fail=1
done
exit $fail
