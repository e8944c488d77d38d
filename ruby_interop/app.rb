# frozen_string_literal: true
#
# The fixture app as a Ruby consumer sees it: the job classes, models and serializers that the golden payloads in
# fixtures/ name, plus a queue adapter that only records. typed_dump.rb and bench_decode.rb load it.
#
# It must load on Debian's Ruby 3.1 with ActiveJob 6.1 (plain `require "active_job"`) and under Bundler with newer
# Rails, so every feature that appeared later (continuations, AbstractAdapter, the ActionController::Parameters
# serializer) is looked up at run time, never assumed.

require "logger" # ActiveSupport 7.0 with concurrent-ruby >= 1.3.5 fails unless Logger is loaded before it
require "json"
begin
  require "bigdecimal" # a bundled (not default) gem from Ruby 3.4: present whenever ActiveSupport needs it
rescue LoadError
  nil
end
require "active_support"
require "active_support/all"
require "active_job"
require "globalid"

module InteropApp
  ACTIVEJOB_VERSION = ActiveJob.gem_version
  CONSUMER_TIME_ZONE = "UTC" # a Rails app's default config.time_zone
  CONSUMER_LOCALE = :en
  AVAILABLE_LOCALES = %i[en de pl pt-BR].freeze

  def self.at_least?(version)
    ACTIVEJOB_VERSION >= Gem::Version.new(version)
  end

  # ActionController::Parameters is only needed to write payloads (a permitted Parameters object is written as a
  # HashWithIndifferentAccess); reading never needs it, so a missing actionpack is not an error.
  STRONG_PARAMETERS =
    begin
      require "action_controller/metal/strong_parameters"
      true
    rescue LoadError, StandardError
      false
    end

  # The state a Karafka worker process is in before it takes the next message (a Rails app's defaults).
  def self.reset_consumer_context!
    Time.zone = CONSUMER_TIME_ZONE
    I18n.locale = CONSUMER_LOCALE
  end
end

ActiveJob::Base.logger = Logger.new(nil)
GlobalID.app = "shop"
I18n.available_locales = InteropApp::AVAILABLE_LOCALES
InteropApp.reset_consumer_context!

# Holds what would have been enqueued. Retries and continuation resumes call enqueue/enqueue_at; nothing here
# talks to a broker. `stopping?` is asked by 8.1 continuations at each checkpoint.
adapter_base = defined?(ActiveJob::QueueAdapters::AbstractAdapter) ? ActiveJob::QueueAdapters::AbstractAdapter : Object
RecordingAdapter = Class.new(adapter_base) do
  attr_reader :enqueued

  def initialize(*)
    super()
    @enqueued = []
  end

  def enqueue(job)
    @enqueued << { job: job, at: nil }
  end

  def enqueue_at(job, timestamp)
    @enqueued << { job: job, at: timestamp }
  end

  def stopping?(*)
    false
  end

  # Rails 7.2+ asks this; enqueueing inside a transaction is not a concern here.
  def enqueue_after_transaction_commit?
    false
  end
end
ActiveJob::Base.queue_adapter = RecordingAdapter.new

# ---------------------------------------------------------------------------------------------------------- models

# A GlobalID model with an integer primary key; `find` stands in for the database.
class User
  include GlobalID::Identification

  attr_reader :id, :name

  def initialize(id, name = "user#{id}")
    @id = id
    @name = name
  end

  def self.find(id)
    new(id.to_i)
  end

  # globalid >= 1.3 locates several records at once through `where`.
  def self.where(conditions)
    Array(conditions.values.first).map { |id| find(id) }
  end

  def ==(other)
    other.is_a?(User) && other.id == id
  end
end

module Billing
  # A GlobalID model with a string (UUID) primary key.
  class Invoice
    include GlobalID::Identification

    attr_reader :id

    def initialize(id)
      @id = id
    end

    def self.find(id)
      new(id)
    end

    def self.where(conditions)
      Array(conditions.values.first).map { |id| find(id) }
    end
  end
end

# An app value object written through the app's own serializer.
class Money
  attr_reader :amount_cents, :currency

  def initialize(amount_cents, currency)
    @amount_cents = amount_cents
    @currency = currency
  end

  def ==(other)
    other.is_a?(Money) && other.amount_cents == amount_cents && other.currency == currency
  end
end

class MoneySerializer < ActiveJob::Serializers::ObjectSerializer
  def serialize?(argument)
    argument.is_a?(Money)
  end

  def serialize(money)
    super("amount_cents" => money.amount_cents, "currency" => money.currency)
  end

  def deserialize(hash)
    Money.new(hash["amount_cents"], hash["currency"])
  end

  # Public on purpose: 8.1 indexes serializers by `klass` and warns about serializers that hide it.
  def klass
    Money
  end
end
ActiveJob::Serializers.add_serializers(MoneySerializer)

# Only ever passed as a Module argument.
module Reporting
end

# Karafka::ActiveJob::CurrentAttributes.persist("Current") in the app: written as "cattr_0".
class Current < ActiveSupport::CurrentAttributes
  attribute :user_id, :request_id
end

module InteropApp
  PERSISTED_CURRENT = [Current].freeze # index = N of "cattr_N", in persist order
end

# ------------------------------------------------------------------------------------------------------------ jobs

class ApplicationJob < ActiveJob::Base
end

class EchoJob < ApplicationJob
  def perform(*args, **kwargs); end
end

class ImportJob < ApplicationJob
  queue_as :imports

  def perform(import_id, mode: :normal, dry_run: false); end
end

class CriticalJob < ApplicationJob
  queue_as :critical
  queue_with_priority 10

  def perform(*args); end
end

class PrefixedMailerJob < ApplicationJob
  self.queue_name_prefix = "production"
  queue_as :mailers

  def perform(*args); end
end

class DynamicQueueJob < ApplicationJob
  queue_as { arguments.first == "vip" ? :high : :low }

  def perform(*args); end
end

# Carries an extra top-level key through its own serialize/deserialize.
class AttemptNumberJob < ApplicationJob
  attr_writer :attempt_number

  def attempt_number
    @attempt_number ||= 0
  end

  def serialize
    super.merge("attempt_number" => attempt_number + 1)
  end

  def deserialize(job_data)
    super
    self.attempt_number = job_data["attempt_number"]
  end

  def perform(*args); end
end

class FlakyError < StandardError; end
class OtherError < StandardError; end

class RetryingJob < ApplicationJob
  retry_on FlakyError, OtherError, wait: 0, attempts: 3, jitter: 0

  def perform(*args)
    raise FlakyError, "flaky upstream"
  end
end

class SchedulingJob < ApplicationJob
  def perform(*args); end
end

CONTINUABLE_JOB_NAMES = %w[
  ProcessImportJob NestedCursorJob IsolatedStepsJob CursorTypesJob ErrorAfterAdvanceJob DefaultResumeJob
  LimitedResumeJob
].freeze

if defined?(ActiveJob::Continuable)
  class ProcessImportJob < ApplicationJob
    include ActiveJob::Continuable
    self.resume_options = { wait: 0 } # Karafka OSS cannot dispatch a future enqueue_at
    queue_as :imports

    def perform(import_id)
      step :validate do
      end
      step :process_records, start: 0 do |step|
        (step.cursor...10).each { step.advance! }
      end
      step :finalize
    end

    def finalize; end
  end

  class NestedCursorJob < ApplicationJob
    include ActiveJob::Continuable
    self.resume_options = { wait: 0 }

    def perform
      step :process_nested, start: [0, 0] do |step|
        (step.cursor[0]...3).each do |account|
          (step.cursor[1]...4).each { |record| step.set!([account, record + 1]) }
          step.set!([account + 1, 0])
        end
      end
    end
  end

  class IsolatedStepsJob < ApplicationJob
    include ActiveJob::Continuable
    self.resume_options = { wait: 0 }

    def perform
      step :quick_step1 do
      end
      step :slow_step, isolated: true do
      end
      step :quick_step2 do
      end
    end
  end

  # One cursor value per kind; the payload names the kind.
  CURSOR_VALUES = {
    "string" => "user_0042",
    "symbol" => :next_page,
    "float" => 0.5,
    "bignum" => 2**70,
    "time" => Time.utc(2024, 3, 15, 12, 30, 45, Rational(123_456_789, 1000)),
    "date" => Date.new(2024, 1, 31),
    "hash" => { page: 3, "token" => "abc" },
    "global_id_record" => User.new(5),
    "bigdecimal" => (defined?(BigDecimal) ? BigDecimal("1.25") : nil),
  }.freeze

  class CursorTypesJob < ApplicationJob
    include ActiveJob::Continuable
    self.resume_options = { wait: 0 }

    def perform(kind)
      step :walk do |step|
        step.set!(CURSOR_VALUES.fetch(kind))
      end
    end
  end

  class ErrorAfterAdvanceJob < ApplicationJob
    include ActiveJob::Continuable
    self.resume_options = { wait: 0 }

    def perform
      step :walk, start: 0 do |step|
        step.advance!
        step.advance!
        raise "boom at #{step.cursor}" if step.cursor == 2
      end
    end
  end

  # Keeps the framework's resume_options (a 5 second wait).
  class DefaultResumeJob < ApplicationJob
    include ActiveJob::Continuable

    def perform
      step :a do
      end
      step :b, start: 10 do |step|
        step.advance!
      end
    end
  end

  class LimitedResumeJob < ApplicationJob
    include ActiveJob::Continuable
    self.resume_options = { wait: 0 }
    self.max_resumptions = 1

    def perform
      step :walk, start: 0 do |step|
        5.times { step.advance! }
      end
    end
  end
else
  # Before 8.1 the same names exist as plain jobs, so a continuation payload still runs and its
  # continuation/resumptions keys are ignored, exactly as such a worker would treat them.
  CONTINUABLE_JOB_NAMES.each do |name|
    Object.const_set(name, Class.new(ApplicationJob) { def perform(*args); end })
  end
end

if defined?(ActiveJob::Attributes)
  class EnrollmentJob < ApplicationJob
    include ActiveJob::Attributes
    attribute :payment_token, :string
    attribute :billing_profile_id, :integer
    attribute :started_on, :date

    def perform(*args); end
  end
else
  class EnrollmentJob < ApplicationJob
    def perform(*args); end
  end
end

# A Rails 8.1 app registers this serializer when ActionController loads; outside Rails nobody does.
if InteropApp::STRONG_PARAMETERS && InteropApp.at_least?("8.1") &&
   defined?(ActiveJob::Serializers::ActionControllerParametersSerializer)
  ActiveJob::Serializers.add_serializers(ActiveJob::Serializers::ActionControllerParametersSerializer)
end

module InteropApp
  # What Karafka's ActiveJob consumer does with one message once it is JSON-decoded: restore and remove the
  # persisted CurrentAttributes keys, run ActiveJob::Base.execute, reset the attributes whatever happens.
  def self.execute_like_karafka(job_hash)
    if job_hash.is_a?(Hash)
      PERSISTED_CURRENT.each_with_index do |klass, index|
        key = "cattr_#{index}"
        next unless job_hash.key?(key)

        attributes = job_hash.delete(key)
        attributes.each { |name, value| klass.public_send("#{name}=", value) }
      end
    end
    ActiveJob::Base.execute(job_hash)
  ensure
    PERSISTED_CURRENT.each(&:reset)
  end
end
