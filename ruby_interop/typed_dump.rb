#!/usr/bin/env ruby
# frozen_string_literal: true
#
# Prints what this Ruby's ActiveJob hands to a job for each payload, in the typed notation of fixtures/README.md
# ("Typed notation"), one JSON object per line and in input order. This is the Ruby side of the `decode --typed`
# contract (SPEC §2): the Rust dump of the same bytes must be equal, or differ only where this Rails version
# reads the payload differently from Rails 8.1.
#
# usage: typed_dump.rb [--named] [--envelope KEY] [FILE... | -]
#   FILE            one payload per file; a FILE ending in .jsonl holds one payload per line (blank lines skipped)
#   - or none       payloads as JSONL on stdin
#   --named         wrap each line as {"input": FILE | FILE:LINE | stdin:LINE, "decoded": ...}
#   --envelope KEY  each payload wraps its job under KEY, read as the custom Karafka::ActiveJob::Deserializer of
#                   Karafka's documentation does: ActiveSupport::JSON.decode(payload)[KEY]
#
# A payload this Rails cannot read gives {"error_class": ..., "message": ...}. Exit 0 when every payload was
# answered (readable or not), 2 on bad usage or an unreadable file, 1 when something else broke.
#
# The payload is read the way Karafka's consumer reads it: ActiveSupport::JSON.decode, then
# ActiveJob::Base.execute, with the job's #perform swapped for a recorder. So arguments are deserialized wherever
# this Rails version does it (before 8.1 outside the job's locale/time zone, from 8.1 inside them): nothing of a
# newer version is imitated.

USAGE = "usage: typed_dump.rb [--named] [--envelope KEY] [FILE... | -]   " \
        "(FILE: one payload; FILE.jsonl or stdin: one per line)"

named = false
envelope_key = nil
sources = []
args = ARGV.dup
until args.empty?
  arg = args.shift
  case arg
  when "--named" then named = true
  when "--envelope"
    envelope_key = args.shift
    if envelope_key.nil? || envelope_key.empty?
      warn "typed_dump: --envelope needs a key"
      exit 2
    end
  when "-h", "--help"
    puts USAGE
    exit 0
  when "-" then sources << [:stdin, nil]
  when /\A-/
    warn "typed_dump: unknown option #{arg}"
    warn USAGE
    exit 2
  else sources << [:file, arg]
  end
end
sources << [:stdin, nil] if sources.empty?

# Read every input before loading Rails, so a bad path fails fast and cheaply.
inputs = [] # [name, payload bytes]
begin
  sources.each do |kind, path|
    if kind == :stdin
      $stdin.binmode.read.each_line.with_index(1) do |line, number|
        line = line.chomp
        inputs << ["stdin:#{number}", line] unless line.strip.empty?
      end
    elsif path.end_with?(".jsonl")
      File.binread(path).each_line.with_index(1) do |line, number|
        line = line.chomp
        inputs << ["#{path}:#{number}", line] unless line.strip.empty?
      end
    else
      inputs << [path, File.binread(path)]
    end
  end
rescue SystemCallError, IOError => e
  warn "typed_dump: #{e.message}"
  exit 2
end

require_relative "app"

module TypedDump
  ENVELOPE_KEYS = %w[
    job_class job_id provider_job_id queue_name priority executions exception_executions locale timezone
    enqueued_at scheduled_at arguments
  ].freeze

  module_function

  # One Ruby value in the typed notation. Subclasses are tested before their parents (TimeWithZone claims to be a
  # Time, DateTime is a Date, HashWithIndifferentAccess is a Hash).
  def describe(value)
    case value
    when nil then { "type" => "nil" }
    when true, false then { "type" => "bool", "value" => value }
    when ActiveSupport::Duration
      {
        "type" => "ActiveSupport::Duration",
        "value" => value.value,
        "seconds" => value.to_i,
        "parts" => value.parts.map { |unit, amount| [unit.to_s, amount] },
        "inspect" => value.inspect,
      }
    when Integer then { "type" => "Integer", "value" => value.to_s }
    when Float then { "type" => "Float", "value" => float_value(value), "repr" => value.to_s }
    when ActiveSupport::HashWithIndifferentAccess
      { "type" => "HashWithIndifferentAccess", "entries" => value.map { |k, v| [describe(k), describe(v)] } }
    when Hash
      {
        "type" => "Hash",
        "ruby2_keywords" => Hash.ruby2_keywords_hash?(value),
        "entries" => value.map { |k, v| [describe(k), describe(v)] },
      }
    when String
      out = { "type" => "String", "value" => value }
      out["class"] = value.class.name unless value.instance_of?(String)
      out
    when Symbol then { "type" => "Symbol", "value" => value.to_s }
    when Array then { "type" => "Array", "items" => value.map { |item| describe(item) } }
    when ActiveSupport::TimeWithZone
      {
        "type" => "ActiveSupport::TimeWithZone",
        "iso8601" => value.iso8601(9),
        "time_zone_name" => value.time_zone.name,
        "tzinfo" => value.time_zone.tzinfo.name,
      }
    when DateTime then { "type" => "DateTime", "iso8601" => value.iso8601(9) }
    when Date then { "type" => "Date", "iso8601" => value.iso8601 }
    when Time
      { "type" => "Time", "iso8601" => value.iso8601(9), "utc_offset" => value.utc_offset, "utc" => value.utc? }
    when Range
      {
        "type" => "Range",
        "begin" => describe(value.begin),
        "end" => describe(value.end),
        "exclude_end" => value.exclude_end?,
      }
    when Money then { "type" => "Money", "amount_cents" => value.amount_cents, "currency" => value.currency }
    when GlobalID::Identification
      { "type" => "GlobalID::Identification", "class" => value.class.name, "id" => value.id.to_s,
        "gid" => value.to_global_id.to_s }
    when Module then { "type" => value.is_a?(Class) ? "Class" : "Module", "name" => value.name }
    else
      return { "type" => "BigDecimal", "value" => value.to_s("F") } if defined?(BigDecimal) && value.is_a?(BigDecimal)

      { "type" => value.class.name, "inspect" => value.inspect }
    end
  end

  # JSON has no NaN or Infinity: those travel as strings, every other Float as a JSON number.
  def float_value(float)
    return "NaN" if float.nan?
    return(float.positive? ? "Infinity" : "-Infinity") if float.infinite?

    float
  end

  # enqueued_at / scheduled_at as the job object holds them: a parsed Time from 7.1, the raw String before.
  def time_field(value)
    case value
    when nil then nil
    when Time then { "class" => value.class.name, "iso8601" => value.iso8601(9) }
    else { "class" => value.class.name, "value" => value }
    end
  end

  def error(exception)
    { "error_class" => exception.class.name, "message" => exception.message }
  end

  # The envelope as the worker holds it right after ActiveJob::Base.deserialize, before perform_now runs (so
  # `executions` and `resumptions` are the payload's own counts).
  def envelope(job)
    out = {
      "job_class" => job.class.name,
      "job_id" => job.job_id,
      "provider_job_id" => job.provider_job_id,
      "queue_name" => job.queue_name,
      "priority" => job.priority,
      "executions" => job.executions,
      "exception_executions" => job.exception_executions,
      "locale" => job.locale,
      "timezone" => job.timezone,
      "enqueued_at" => time_field(job.enqueued_at),
      "scheduled_at" => time_field(job.respond_to?(:scheduled_at) ? job.scheduled_at : nil),
      "arguments" => nil,
    }
    if job.respond_to?(:resumptions) && job.respond_to?(:continuation)
      out["resumptions"] = job.resumptions
      out["continuation"] = continuation(job.continuation)
    end
    out["attempt_number"] = job.attempt_number if job.respond_to?(:attempt_number)
    out
  end

  # 8.1's Continuation keeps its step list and current step private; these are the names it uses for them.
  def continuation(cont)
    current = cont.send(:current)
    {
      "completed" => cont.send(:completed).map(&:to_s),
      "current_step" => current && current.name.to_s,
      "cursor" => current ? describe(current.cursor) : nil,
      "started" => cont.started?,
    }
  end

  # Swapped in for a job class's #perform: keeps the arguments perform would have been called with.
  module Recorder
    def perform(*, **)
      TypedDump.recorded = arguments
      nil
    end
  end

  class << self
    attr_accessor :recorded, :envelope_key
  end

  # The job hash of a payload, as Karafka's deserializer hands it over: the decoded JSON itself by default, or,
  # with --envelope KEY, what the envelope holds under KEY (the documentation's custom deserializer).
  def job_hash_of(payload)
    decoded = ActiveSupport::JSON.decode(payload)
    envelope_key ? decoded[envelope_key] : decoded
  end

  def record_perform(job_hash)
    name = job_hash.is_a?(Hash) ? job_hash["job_class"] : nil
    klass = name.is_a?(String) ? name.safe_constantize : nil
    return unless klass.is_a?(Class) && klass < ActiveJob::Base
    return if klass < Recorder

    klass.prepend(Recorder)
  end

  def dump(payload)
    InteropApp.reset_consumer_context!
    begin
      out = envelope(ActiveJob::Base.deserialize(job_hash_of(payload)))
    rescue SignalException, SystemExit
      raise
    rescue Exception => e # rubocop:disable Lint/RescueException -- Rails raises non-StandardErrors too
      return error(e)
    end

    InteropApp.reset_consumer_context!
    self.recorded = nil
    begin
      job_hash = job_hash_of(payload)
      record_perform(job_hash)
      InteropApp.execute_like_karafka(job_hash)
    rescue SignalException, SystemExit
      raise
    rescue Exception => e # rubocop:disable Lint/RescueException
      return error(e)
    ensure
      InteropApp.reset_consumer_context!
    end
    return { "error_class" => "RuntimeError", "message" => "perform was not called" } if recorded.nil?

    out["arguments"] = recorded.map { |argument| describe(argument) }
    out
  end
end

TypedDump.envelope_key = envelope_key
$stdout.sync = false
inputs.each do |name, payload|
  decoded = TypedDump.dump(payload.dup.force_encoding(Encoding::UTF_8))
  line = named ? { "input" => name, "decoded" => decoded } : decoded
  $stdout.write(JSON.generate(line), "\n")
end
$stdout.flush
warn "typed_dump: ruby_version=#{RUBY_VERSION} activejob_version=#{ActiveJob.gem_version} payloads=#{inputs.size}"
