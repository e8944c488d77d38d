//! What the decoding rules read: a JSON value, either an owned `serde_json::Value` tree or a node
//! of the [`tape`](super::tape) that `Job::decode` parses payload bytes into.
//!
//! The rules of `decode.rs` and the envelope are written once over [`Node`], so the tree path
//! (`Job::from_json`, `decode_argument`) and the bytes path cannot drift apart. Objects behave as
//! serde_json's ordered map does after parsing: a duplicated key keeps its first position and its
//! last value (Ruby's `JSON.parse` does the same).

use crate::ruby::Integer;
use serde_json::{Map, Number, Value as Json};

/// One JSON value the rules consume.
pub(crate) trait Node: Sized {
    /// A string: owned in a tree, borrowed from the payload on the tape.
    type Str: AsRef<str> + Into<String>;
    /// A number, with the exact text it was written with.
    type Num: Num;
    /// The elements of an array, in order.
    type Array: ExactSizeIterator<Item = Self>;
    /// An object with ordered, de-duplicated keys.
    type Object: Object<Node = Self>;

    /// What kind of JSON value this is, with its contents.
    fn into_kind(self) -> Kind<Self>;

    /// The value as a `serde_json::Value` (for keys kept raw: unknown envelope keys, custom
    /// serializer fields, continuation data).
    fn into_json(self) -> Json;
}

/// A JSON value taken apart.
pub(crate) enum Kind<N: Node> {
    Null,
    Bool(bool),
    Number(N::Num),
    String(N::Str),
    Array(N::Array),
    Object(N::Object),
}

impl<N: Node> Kind<N> {
    /// A present value or, for an absent key, `null` (Ruby's `hash["key"]` gives nil).
    pub(crate) fn of(node: Option<N>) -> Kind<N> {
        node.map_or(Kind::Null, Node::into_kind)
    }

    /// The JSON type as error messages name it (same words as `json_type_name`).
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Kind::Null => "null",
            Kind::Bool(_) => "a boolean",
            Kind::Number(n) if n.is_integer_literal() => "an integer",
            Kind::Number(_) => "a float",
            Kind::String(_) => "a string",
            Kind::Array(_) => "an array",
            Kind::Object(_) => "an object",
        }
    }
}

/// A JSON number as written.
pub(crate) trait Num {
    /// Written without fraction or exponent: Ruby reads it as an Integer.
    fn is_integer_literal(&self) -> bool;
    /// The integer, for an integer literal.
    fn integer(&self) -> Option<Integer>;
    /// The value as an `i64`, when it is an integer literal in range.
    fn as_i64(&self) -> Option<i64>;
    /// The literal read as a double (out-of-range literals become infinite, as in Ruby).
    fn float(&self) -> Option<f64>;
    /// The literal, for error messages.
    fn text(&self) -> std::borrow::Cow<'_, str>;
}

/// A JSON object whose entries are taken out as the rules read them.
pub(crate) trait Object: Sized {
    type Node: Node;
    /// The remaining entries, in order.
    type Entries: Iterator<Item = (<Self::Node as Node>::Str, Self::Node)>;

    /// How many keys remain.
    fn len(&self) -> usize;
    /// Whether `key` remains.
    fn contains_key(&self, key: &str) -> bool;
    /// Takes the value of `key` out, keeping the order of the others.
    fn remove(&mut self, key: &str) -> Option<Self::Node>;
    /// The remaining entries, in order.
    fn into_entries(self) -> Self::Entries;
    /// The remaining entries as a `serde_json` map.
    fn into_json(self) -> Map<String, Json>;
}

impl Num for Number {
    fn is_integer_literal(&self) -> bool {
        crate::error::is_integer_literal(self)
    }

    fn integer(&self) -> Option<Integer> {
        Integer::parse(self.as_str())
    }

    fn as_i64(&self) -> Option<i64> {
        Number::as_i64(self).filter(|_| self.is_integer_literal())
    }

    fn float(&self) -> Option<f64> {
        self.as_str().parse().ok()
    }

    fn text(&self) -> std::borrow::Cow<'_, str> {
        self.as_str().into()
    }
}

impl Node for Json {
    type Str = String;
    type Num = Number;
    type Array = std::vec::IntoIter<Json>;
    type Object = Map<String, Json>;

    fn into_kind(self) -> Kind<Json> {
        match self {
            Json::Null => Kind::Null,
            Json::Bool(b) => Kind::Bool(b),
            Json::Number(n) => Kind::Number(n),
            Json::String(s) => Kind::String(s),
            Json::Array(items) => Kind::Array(items.into_iter()),
            Json::Object(map) => Kind::Object(map),
        }
    }

    fn into_json(self) -> Json {
        self
    }
}

impl Object for Map<String, Json> {
    type Node = Json;
    type Entries = serde_json::map::IntoIter;

    fn len(&self) -> usize {
        Map::len(self)
    }

    fn contains_key(&self, key: &str) -> bool {
        Map::contains_key(self, key)
    }

    fn remove(&mut self, key: &str) -> Option<Json> {
        self.shift_remove(key)
    }

    fn into_entries(self) -> Self::Entries {
        self.into_iter()
    }

    fn into_json(self) -> Map<String, Json> {
        self
    }
}
