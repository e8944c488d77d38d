//! Errors of the wire format: every one names the JSON path it happened at.

use crate::rails_version::RailsVersion;
use std::fmt;

/// A location inside a payload, printed the way a person reads it: `arguments[1].window.from`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JsonPath(String);

/// The root path, for paths that must outlive any caller.
pub(crate) static ROOT_PATH: JsonPath = JsonPath(String::new());

impl JsonPath {
    /// The document root (prints as `$`).
    pub fn root() -> Self {
        JsonPath(String::new())
    }

    /// The path of a top-level envelope key.
    pub fn key(name: &str) -> Self {
        JsonPath::root().field(name)
    }

    /// The path of `name` inside the object at `self`.
    pub fn field(&self, name: &str) -> Self {
        if self.0.is_empty() {
            JsonPath(name.to_owned())
        } else {
            JsonPath(format!("{}.{}", self.0, name))
        }
    }

    /// The path of element `index` of the array at `self`.
    pub fn index(&self, index: usize) -> Self {
        JsonPath(format!("{}[{}]", self.0, index))
    }

    /// The path as text (`$` for the root).
    pub fn as_str(&self) -> &str {
        if self.0.is_empty() {
            "$"
        } else {
            &self.0
        }
    }
}

/// A location being walked while decoding, turned into a [`JsonPath`] only when an error names
/// it: decoding a payload that has no error builds no path text at all.
#[derive(Debug, Clone, Copy)]
pub(crate) enum PathRef<'a> {
    /// A path already built (the root is `JsonPath::root()`).
    At(&'a JsonPath),
    /// Key `name` of the object at the parent.
    Field(&'a PathRef<'a>, &'a str),
    /// Element `index` of the array at the parent.
    Index(&'a PathRef<'a>, usize),
}

impl PathRef<'_> {
    /// The path of `name` inside the object here.
    pub(crate) fn field<'b>(&'b self, name: &'b str) -> PathRef<'b> {
        PathRef::Field(self, name)
    }

    /// The path of element `index` of the array here.
    pub(crate) fn index<'b>(&'b self, index: usize) -> PathRef<'b> {
        PathRef::Index(self, index)
    }

    /// The path as [`JsonPath`] prints it.
    pub(crate) fn to_path(self) -> JsonPath {
        let mut text = String::new();
        self.write(&mut text);
        JsonPath(text)
    }

    fn write(self, out: &mut String) {
        use std::fmt::Write as _;
        match self {
            PathRef::At(path) => out.push_str(&path.0),
            PathRef::Field(parent, name) => {
                parent.write(out);
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(name);
            }
            PathRef::Index(parent, index) => {
                parent.write(out);
                let _ = write!(out, "[{index}]");
            }
        }
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a payload could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeErrorKind {
    /// The bytes are not UTF-8 (Karafka payloads are UTF-8 JSON).
    InvalidUtf8,
    /// The bytes are not JSON, or nest deeper than the parser allows.
    InvalidJson,
    /// The payload is larger than the configured limit.
    TooLarge,
    /// A value has the wrong JSON type or shape for its place (e.g. `arguments` is not an array).
    WrongShape,
    /// A required key is absent (`job_class`).
    MissingKey,
    /// A built-in serializer object carries a value Ruby would reject (`"2024-02-30"` as a Date).
    InvalidValue,
    /// An `_aj_serialized` name that neither Rails nor the application knows.
    UnknownSerializer,
    /// The job class is not one the application knows (Rails' `UnknownJobClassError`).
    UnknownJobClass,
    /// The message payload does not follow the application's
    /// [`PayloadFormat`](crate::payload_format::PayloadFormat).
    PayloadFormat,
}

/// A payload that cannot be read as an ActiveJob job, with the JSON path and the reason.
///
/// Displays as `arguments[1].window.from: DateSerializer value "2024-02-30" is not a date`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct DecodeError {
    /// Where in the payload.
    pub path: JsonPath,
    /// What kind of problem.
    pub kind: DecodeErrorKind,
    /// The reason, for people.
    pub message: String,
}

impl DecodeError {
    /// Builds an error at `path`.
    pub fn new(path: JsonPath, kind: DecodeErrorKind, message: impl Into<String>) -> Self {
        DecodeError {
            path,
            kind,
            message: message.into(),
        }
    }

    /// A value of the wrong JSON type or shape.
    pub fn shape(path: &JsonPath, message: impl Into<String>) -> Self {
        DecodeError::new(path.clone(), DecodeErrorKind::WrongShape, message)
    }

    /// A value Ruby would reject.
    pub fn invalid(path: &JsonPath, message: impl Into<String>) -> Self {
        DecodeError::new(path.clone(), DecodeErrorKind::InvalidValue, message)
    }

    /// A value of the wrong JSON type or shape at a path being walked.
    pub(crate) fn shape_at(path: PathRef<'_>, message: impl Into<String>) -> Self {
        DecodeError::new(path.to_path(), DecodeErrorKind::WrongShape, message)
    }

    /// A value Ruby would reject, at a path being walked.
    pub(crate) fn invalid_at(path: PathRef<'_>, message: impl Into<String>) -> Self {
        DecodeError::new(path.to_path(), DecodeErrorKind::InvalidValue, message)
    }
}

/// Why a job could not be written.
///
/// The writer refuses what no Rails worker reads as it was meant: each kind is a rule Ruby
/// applies when it reads the payload (README, "What the writer refuses").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncodeErrorKind {
    /// Rails itself refuses to serialize such a value (`SerializationError`: a reserved Hash
    /// key, an anonymous class).
    Unserializable,
    /// A GlobalID that GlobalID cannot parse back: an empty or non-URI app, model name or id,
    /// a model name that is not a constant path, a composite id of one part or more than 20.
    GlobalId,
    /// A Range whose ends Ruby cannot compare (`Range.new` raises `bad value for range`).
    Range,
    /// A BigDecimal text that `BigDecimal()` refuses, or whose exponent overflows its reading.
    BigDecimal,
    /// A Date, Time, DateTime or Duration that JSON or Ruby's parsers cannot carry.
    Time,
    /// A `ModuleSerializer` value that is not a constant path (`constantize` raises).
    Module,
    /// JSON nested deeper than Ruby's parser accepts (`JSON::NestingError` past 100 levels).
    TooDeep,
    /// A `locale` outside the application's `available_locales` (`I18n::InvalidLocale`).
    Locale,
    /// A `timezone` that is neither a Rails zone name nor a tz identifier (`Invalid Timezone`).
    TimeZone,
    /// The Rails version the payload is written for cannot read it at all (a Range for 6.1, a
    /// continuation before 8.1); a newer version can (`rails_version`, [`crate::rails_version`]).
    NotReadableBy(RailsVersion),
}

/// A value that cannot be written as an ActiveJob argument (Rails' `SerializationError`), or a
/// payload no Rails worker would read as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct EncodeError {
    /// Where in the payload (`arguments[0].window.begin`, `locale`).
    pub path: JsonPath,
    /// Which rule refused it.
    pub kind: EncodeErrorKind,
    /// The reason, worded as Rails words it where Rails has the same rule.
    pub message: String,
}

impl EncodeError {
    /// A value Rails itself refuses to serialize, at `path`.
    pub fn new(path: &JsonPath, message: impl Into<String>) -> Self {
        EncodeError::refused(path, EncodeErrorKind::Unserializable, message)
    }

    /// A value refused by rule `kind`, at `path`.
    pub fn refused(path: &JsonPath, kind: EncodeErrorKind, message: impl Into<String>) -> Self {
        EncodeError {
            path: path.clone(),
            kind,
            message: message.into(),
        }
    }

    /// A value that Rails `version` cannot read: `what` it is and since when Rails reads it.
    pub fn not_readable_by(path: &JsonPath, version: RailsVersion, what: &str) -> Self {
        EncodeError {
            path: path.clone(),
            message: format!("Rails {version} cannot read {what}"),
            kind: EncodeErrorKind::NotReadableBy(version),
        }
    }
}

/// Describes a JSON value's type the way error messages name it.
pub(crate) fn json_type_name(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(n) if is_integer_literal(n) => "an integer",
        serde_json::Value::Number(_) => "a float",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// True when a JSON number was written without fraction or exponent (Ruby reads it as an Integer).
pub(crate) fn is_integer_literal(n: &serde_json::Number) -> bool {
    !n.as_str().contains(['.', 'e', 'E'])
}
