//! The long help texts: examples and exit codes after each subcommand's options.

pub(super) const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  usage, I/O or configuration error; the worker or the recorder failed
  2  decode: the payload cannot be decoded (the message names the JSON path and the reason);
     topics --detailed-exitcode: there are changes to apply, or changes were applied
  3  replay: a job failed, had no handler or had a bad payload (or a typed dump differed)";

pub(super) const MAIN_AFTER: &str = "\
Examples:
  {bin} consume --config worker.toml
  {bin} record --topic default --limit 500 --redact 'arguments[*].email' --out tests/jobs
  {bin} replay tests/jobs
  {bin} decode --typed payload.json
  {bin} topics migrate --config worker.toml

Logging: RUST_LOG (e.g. RUST_LOG=activejob_karafka=debug) sets what is logged to stderr.";

pub(super) const CONSUME_AFTER: &str = "\
The configuration is laid out like karafka.rb (every key, with its Karafka name: the README's
\"Configuration reference\"):

  group_id = \"app\"
  concurrency = 5
  [kafka]
  \"bootstrap.servers\" = \"127.0.0.1:9092\"
  [topics.default]                              # active_job_topic :default
  dead_letter_queue = { topic = \"default_dlq\", max_retries = 3 }
  max_messages = 50                             # per-topic overrides: pause, initial_offset, kafka
  [patterns.tenants]                            # active_job_pattern (new topics picked up)
  regex = \"tenant_.*_jobs$\"
  [consumer_groups.reporting.topics.exports]    # consumer_group :reporting do ... end

Every consumer group (and every set of topics with their own kafka settings) runs as its own
consumer in this one process; they share concurrency and stop together.

Without bootstrap servers in the file, KAFKA_BOOTSTRAP_SERVERS names them. SIGINT or SIGTERM
stops the worker after its running jobs (up to shutdown_timeout_ms).

Shadow mode (--shadow) reads the same topics under <group_id>-shadow while the Ruby workers
go on serving them: handlers see ctx.is_shadow() = true, failures are counted and skipped, and
nothing is ever produced (no dead letters, forwards or continuation re-enqueues). Per-class
totals are logged every --shadow-report-every seconds and printed at the end.

--metrics-addr serves GET /metrics (Prometheus text), GET /health (readiness: 200 while
connected, authenticated and in the group, else 503 with the reason) and GET /health/live
(liveness: 200 while the worker runs) for orchestrators.

--app reads the application's facts (job classes, serializers, default locale and zone) from
an app.toml instead of the ones the binary was built with.

Examples:
  {bin} consume --config config/worker.toml --app config/app.toml
  {bin} consume --config config/worker.toml --metrics-addr 0.0.0.0:9464
  {bin} consume --config config/worker.toml --shadow

Exit codes: 0 after a clean shutdown; 1 when the configuration is invalid or the worker failed.";

pub(super) const REPLAY_AFTER: &str = "\
Inputs: payload files (*.json), directories (searched recursively; manifest.json,
rails81_decoded.json and *.meta.json are not jobs), NDJSON files (.jsonl/.ndjson: one payload
or one recorded record per line) and recordings made by `record`. No broker is needed: each job
runs through its handler as the worker would run it, with topic, partition, offset, key and
headers from the recording's metadata when there is some.

Examples:
  {bin} replay tests/jobs                      # every recorded job, in order
  {bin} replay -j 8 recorded/ more.jsonl        # 8 at a time, per-key order kept
  {bin} replay --typed-expect fixtures/8.1/rails81_decoded.json --app fixtures/app.toml fixtures/8.1

Exit codes:
  0  every job succeeded (with --typed-expect: every dump matched)
  1  usage or I/O error: an input or FILE is missing or unreadable, or no job was found
  3  a job failed, had no handler or had a bad payload (or a typed dump differed); the table
     and the first failures say which, so a CI step fails for the right reason. Jobs that
     their class's discard_on or retry_on took are counted as discarded / retried, not failed";

pub(super) const RECORD_AFTER: &str = "\
Partitions are assigned directly: the recorder never joins a consumer group and never commits,
so the workers serving the topic keep their positions. It stops at the end each partition had
when it started (or, from latest, after --idle-timeout without a message), or at --limit.

Output (--out DIR): <topic>-<partition>-<offset>.json holds the exact payload bytes (masked
where --redact says), <topic>-<partition>-<offset>.meta.json the topic, partition, offset, key,
headers, timestamp and redacted paths; a tombstone has only the .meta.json, with
\"tombstone\": true. --ndjson FILE writes the same records one per line, payload inline.

Redaction paths start at arguments: arguments[0], arguments[1].email, arguments[*].password,
arguments[0][\"odd key\"], arguments[2].*. The value becomes \"[REDACTED]\"; ActiveJob's _aj_*
markers stay, so the payload still decodes. Serialized objects (times, GlobalIDs, ...) are
masked whole.

Examples:
  {bin} record --topic default --out tests/jobs --limit 200
  {bin} record -b broker:9092 -t orders --partition 3 --from-time 2026-05-01T00:00:00Z \\
      --redact 'arguments[0].email' --redact 'arguments[*].card' --out tests/orders
  {bin} record -t default -X security.protocol=SSL --ndjson jobs.jsonl

Exit codes: 0 when the recording is complete; 1 on a usage, Kafka or I/O error, or when no
message arrived for --idle-timeout before the end was reached.";

pub(super) const DECODE_AFTER: &str = "\
Examples:
  {bin} decode payload.json
  {bin} decode --typed --app config/app.toml payload.json
  kcat -C -t default -o -1 -e -c 1 | {bin} decode -

Exit codes:
  0  decoded
  1  usage or I/O error (the file or APP_TOML cannot be read)
  2  the payload cannot be decoded; the message names the JSON path and the reason, e.g.
     arguments[1].window.from: DateSerializer value \"2024-02-30\" is not a date";

pub(super) const TOPICS_AFTER: &str = "\
Manages the topics the configuration names: the job topics, their dead letter queues and
forward targets, the [scheduled_messages] topics (each with its _states topic) and every
[declaratives.<name>]. Partitions, replication factor and topic configs come from
[topics.<name>.config] / [declaratives.<name>] (Karafka's config(partitions:, ...)):

  [topics.default.config]
  partitions = 6
  replication_factor = 3
  \"retention.ms\" = 604800000

plan prints what migrate would do. migrate creates missing topics, adds partitions where
fewer exist than declared and sets declared topic configs that differ. Nothing is deleted;
a topic with more partitions than declared, or another replication factor, is left alone and
reported.

Examples:
  {bin} topics plan --config config/worker.toml
  {bin} topics migrate --config config/worker.toml --detailed-exitcode

Exit codes:
  0  done (with --detailed-exitcode: nothing to change)
  1  configuration error, no broker answered, or the broker refused a change (authorization,
     replication factor above the broker count, unknown topic config): the message says which
  2  with --detailed-exitcode: changes to apply (plan) or applied (migrate)";
