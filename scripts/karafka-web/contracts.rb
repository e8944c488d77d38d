# frozen_string_literal: true

# Checks report / error JSON files against the outgoing contracts of one karafka-web release,
# loaded from its source tree alone (lib/karafka/web/contracts and tracking/**/contracts), so
# that releases whose UI needs a newer Ruby than this machine's can still check reports.
#   ruby contracts.rb KARAFKA_WEB_SRC FILE...
# A file named error-*.json is checked as an error report, any other as a consumer report. Needs
# karafka and karafka-core on the load path (karafka-real's env.sh puts them there). Tags arrive
# as JSON arrays; the contracts want Karafka::Core::Taggable::Tags, so arrays are wrapped first.
require 'json'
require 'yaml'
require 'pathname'
require 'karafka'

src, *files = ARGV
abort 'usage: contracts.rb KARAFKA_WEB_SRC FILE...' if src.nil? || files.empty?
src = File.expand_path(src)

module Karafka
  module Web
    class << self
      attr_accessor :source_root

      def gem_root
        Pathname.new(source_root)
      end
    end
  end
end
Karafka::Web.source_root = src

lib = File.join(src, 'lib/karafka/web')
require File.join(lib, 'errors')
require File.join(lib, 'contracts/base')
%w[partition topic subscription_group consumer_group job report].each do |name|
  require File.join(lib, 'tracking/consumers/contracts', name)
end
require File.join(lib, 'tracking/contracts/error')

to_tags = lambda do |list|
  tags = Karafka::Core::Taggable::Tags.new
  Array(list).each_with_index { |t, i| tags.add(:"t#{i}", t) }
  tags
end

failed = 0
files.each do |file|
  data = JSON.parse(File.read(file), symbolize_names: true)
  data[:process][:tags] = to_tags.call(data[:process][:tags]) if data.dig(:process, :tags).is_a?(Array)
  begin
    if File.basename(file).start_with?('error')
      Karafka::Web::Tracking::Contracts::Error.new.validate!(data)
    else
      Array(data[:jobs]).each { |j| j[:tags] = to_tags.call(j[:tags]) if j[:tags].is_a?(Array) }
      Karafka::Web::Tracking::Consumers::Contracts::Report.new.validate!(data)
    end
  rescue Karafka::Web::Errors::ContractError => e
    failed += 1
    puts "#{file}: INVALID: #{e.message}"
  end
end
puts "#{files.size - failed}/#{files.size} valid (karafka-web contracts from #{src})"
exit(failed.zero? ? 0 : 1)
