//! `_aj_serialized` names: Rails' built-in serializers and an application's own.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// `ActiveJob::Serializers::SymbolSerializer`.
pub const SYMBOL: &str = "ActiveJob::Serializers::SymbolSerializer";
/// `ActiveJob::Serializers::DurationSerializer`.
pub const DURATION: &str = "ActiveJob::Serializers::DurationSerializer";
/// `ActiveJob::Serializers::DateTimeSerializer`.
pub const DATE_TIME: &str = "ActiveJob::Serializers::DateTimeSerializer";
/// `ActiveJob::Serializers::DateSerializer`.
pub const DATE: &str = "ActiveJob::Serializers::DateSerializer";
/// `ActiveJob::Serializers::TimeWithZoneSerializer`.
pub const TIME_WITH_ZONE: &str = "ActiveJob::Serializers::TimeWithZoneSerializer";
/// `ActiveJob::Serializers::TimeSerializer`.
pub const TIME: &str = "ActiveJob::Serializers::TimeSerializer";
/// `ActiveJob::Serializers::ModuleSerializer`.
pub const MODULE: &str = "ActiveJob::Serializers::ModuleSerializer";
/// `ActiveJob::Serializers::RangeSerializer` (Rails ≥ 7.0).
pub const RANGE: &str = "ActiveJob::Serializers::RangeSerializer";
/// `ActiveJob::Serializers::BigDecimalSerializer` (Rails ≥ 7.1).
pub const BIG_DECIMAL: &str = "ActiveJob::Serializers::BigDecimalSerializer";
/// `ActiveJob::Serializers::ActionControllerParametersSerializer` (8.1; never on the wire).
pub const ACTION_CONTROLLER_PARAMETERS: &str =
    "ActiveJob::Serializers::ActionControllerParametersSerializer";

/// Ruby's own modules that can show up as `ModuleSerializer` values: everything else is read as a
/// Class unless the application declares it a module.
const RUBY_CORE_MODULES: &[&str] = &[
    "Comparable",
    "Enumerable",
    "Kernel",
    "Math",
    "ObjectSpace",
    "GC",
    "Process",
    "Signal",
    "Marshal",
    "Errno",
    "FileTest",
    "Warning",
    "JSON",
    "Base64",
    "Digest",
    "ActiveSupport",
    "ActiveJob",
    "ActiveModel",
    "ActiveRecord",
];

/// Checks an application serializer's fields when a payload is decoded.
///
/// Return `Err(reason)` to reject a payload the way the Ruby serializer's `deserialize` would raise.
pub type FieldCheck =
    Arc<dyn Fn(&serde_json::Map<String, serde_json::Value>) -> Result<(), String> + Send + Sync>;

/// An application serializer registered by name.
#[derive(Clone)]
pub struct CustomSerializer {
    /// The Ruby class the serializer makes (`Money` for `MoneySerializer`).
    pub ruby_class: String,
    /// Optional check of the object's fields.
    pub check: Option<FieldCheck>,
}

impl std::fmt::Debug for CustomSerializer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomSerializer")
            .field("ruby_class", &self.ruby_class)
            .field("check", &self.check.is_some())
            .finish()
    }
}

/// What the application knows beyond Rails' built-ins: its own serializers and its modules.
///
/// Rails resolves `_aj_serialized` names and `ModuleSerializer` constants against the running
/// application; Rust has no constants to look up, so the application states them here.
///
/// The names are hashed with foldhash, not std's SipHash: they are looked up for every object
/// of the application's serializers, and the sets are the application's own (a payload cannot
/// fill them with colliding names).
#[derive(Debug, Clone, Default)]
pub struct SerializerRegistry {
    custom: HashMap<String, CustomSerializer, foldhash::fast::RandomState>,
    modules: HashSet<String, foldhash::fast::RandomState>,
    strict: bool,
}

impl SerializerRegistry {
    /// A registry that knows only Rails' built-ins and keeps unknown serializers opaque.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers an application serializer (`"MoneySerializer"` making `"Money"` objects).
    pub fn register(
        &mut self,
        name: impl Into<String>,
        ruby_class: impl Into<String>,
    ) -> &mut Self {
        self.custom.insert(
            name.into(),
            CustomSerializer {
                ruby_class: ruby_class.into(),
                check: None,
            },
        );
        self
    }

    /// Registers an application serializer with a check of its fields.
    pub fn register_checked(
        &mut self,
        name: impl Into<String>,
        ruby_class: impl Into<String>,
        check: impl Fn(&serde_json::Map<String, serde_json::Value>) -> Result<(), String>
            + Send
            + Sync
            + 'static,
    ) -> &mut Self {
        self.custom.insert(
            name.into(),
            CustomSerializer {
                ruby_class: ruby_class.into(),
                check: Some(Arc::new(check)),
            },
        );
        self
    }

    /// Declares a constant name to be a Module rather than a Class (`Reporting`).
    pub fn declare_module(&mut self, name: impl Into<String>) -> &mut Self {
        self.modules.insert(name.into());
        self
    }

    /// With `strict`, an unregistered `_aj_serialized` name is an error, as in Ruby
    /// (`Serializer X is not known`); without it, the object is kept opaque.
    pub fn set_strict(&mut self, strict: bool) -> &mut Self {
        self.strict = strict;
        self
    }

    /// Whether unknown serializer names are errors.
    pub fn is_strict(&self) -> bool {
        self.strict
    }

    /// The registration of `name`, if any.
    pub fn custom(&self, name: &str) -> Option<&CustomSerializer> {
        self.custom.get(name)
    }

    /// Whether a `ModuleSerializer` constant names a Module (true) or a Class (false).
    pub fn is_module(&self, constant: &str) -> bool {
        self.modules.contains(constant) || RUBY_CORE_MODULES.contains(&constant)
    }
}
