#!/usr/bin/env ruby
# frozen_string_literal: true
#
# How many ActiveJob payloads per second one Ruby process (one core) turns into a job with deserialized arguments:
# ActiveSupport::JSON.decode + ActiveJob::Base.deserialize + argument deserialization, the part of a Karafka
# worker's work that a Rust decoder replaces. The job itself is not run.
#
# usage: bench_decode.rb [--seconds N] DIR...
#   Every *.json under each DIR (recursively) except manifest.json and rails81_decoded.json is one payload.
#   Payloads this Rails cannot decode (e.g. Range or BigDecimal serializer objects on 6.1) are skipped and counted.
#
# Prints ruby_version=, activejob_version=, payloads=N skipped=M, seconds= and, last, ruby_decode_per_sec=<float>.

USAGE = "usage: bench_decode.rb [--seconds N] DIR..."
NOT_PAYLOADS = %w[manifest.json rails81_decoded.json].freeze

seconds = 3.0
dirs = []
args = ARGV.dup
until args.empty?
  arg = args.shift
  case arg
  when "--seconds"
    value = args.shift
    seconds = Float(value, exception: false)
    unless seconds&.positive?
      warn "bench_decode: --seconds needs a positive number, got #{value.inspect}"
      exit 2
    end
  when "-h", "--help"
    puts USAGE
    exit 0
  when /\A-/
    warn "bench_decode: unknown option #{arg}"
    warn USAGE
    exit 2
  else dirs << arg
  end
end
if dirs.empty?
  warn USAGE
  exit 2
end

files = []
dirs.each do |dir|
  unless File.directory?(dir)
    warn "bench_decode: not a directory: #{dir}"
    exit 2
  end
  files.concat(Dir.glob(File.join(dir, "**", "*.json")).reject { |f| NOT_PAYLOADS.include?(File.basename(f)) }.sort)
end

require_relative "app"

# Argument deserialization is lazy (it normally happens at perform_now); force it the way this version does.
def deserialize_arguments(job)
  if job.respond_to?(:deserialize_arguments_if_needed, true)
    job.send(:deserialize_arguments_if_needed)
  else
    job.arguments
  end
end

def decode(payload)
  job = ActiveJob::Base.deserialize(ActiveSupport::JSON.decode(payload))
  deserialize_arguments(job)
  job
end

payloads = []
skipped = []
files.each do |file|
  payload = File.binread(file).force_encoding(Encoding::UTF_8)
  begin
    InteropApp.reset_consumer_context!
    decode(payload)
    payloads << payload
  rescue StandardError => e
    skipped << "#{file}: #{e.class}: #{e.message.lines.first&.chomp}"
  end
end
skipped.each { |line| warn "bench_decode: skipped #{line}" }

puts "ruby_version=#{RUBY_VERSION}"
puts "activejob_version=#{ActiveJob.gem_version}"
puts "payloads=#{payloads.size} skipped=#{skipped.size}"
if payloads.empty?
  warn "bench_decode: no decodable payloads under #{dirs.join(' ')}"
  exit 1
end
InteropApp.reset_consumer_context!

clock = -> { Process.clock_gettime(Process::CLOCK_MONOTONIC) }

# Warm-up: method caches, lazily loaded constants, the allocator; a fifth of the run, at least two passes.
warm_until = clock.call + [seconds / 5, 0.2].max
passes = 0
while passes < 2 || clock.call < warm_until
  payloads.each { |payload| decode(payload) }
  passes += 1
end

# Measured loop: whole passes over the set, so every payload weighs the same; the clock is read once a pass.
count = 0
started = clock.call
deadline = started + seconds
elapsed = 0.0
loop do
  payloads.each { |payload| decode(payload) }
  count += payloads.size
  elapsed = clock.call - started
  break if started + elapsed >= deadline
end

puts format("seconds=%.3f decoded=%d", elapsed, count)
puts format("ruby_decode_per_sec=%.1f", count / elapsed)
