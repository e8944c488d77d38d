//! Job arguments: the values Rails' `ActiveJob::Arguments` writes, as a Rust value model.
//!
//! `decode` turns the JSON of `arguments` into [`Value`]s with exactly the meaning a Rails 8.1
//! worker gives them (reference §5.2: GlobalID only as a single key, `_aj_serialized` objects,
//! hash markers with HWIA > symbol keys > ruby2_keywords precedence). `encode` writes values the
//! way Rails 8.1 serializes them, so Ruby reads back what Rust meant. `de` hands arguments to
//! handlers through serde.

mod de;
mod decode;
mod encode;
mod global_id;
pub(crate) mod lexer;
pub(crate) mod node;
pub(crate) mod range_order;
pub(crate) mod tape;
mod value;

pub(crate) use de::value_deserializer;
pub use de::{from_value, from_values, ArgumentError};
pub use decode::{decode_argument, decode_arguments, DecodeContext};
pub(crate) use decode::{decode_argument_list, decode_argument_node, invalid_timezone, Ctx, Zone};
pub(crate) use decode::{
    GLOBALID_KEY, INDIFFERENT_KEY, RUBY2_KEYWORDS_KEY, SERIALIZED_KEY, SYMBOL_KEYS_KEY,
};
pub use encode::{encode_argument, encode_argument_for, encode_arguments, encode_arguments_for};
pub(crate) use global_id::prints_as_written;
pub use global_id::{GlobalId, ModelId};
pub use value::{
    CustomObject, Hash, HashKey, HashKind, Range, TimeWithZone, TimeWithZoneWire, Value,
};
