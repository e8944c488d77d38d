//! The `_aj_serialized` objects Rails writes for core types, read in place.
//!
//! The owned decoding turns such an object into a [`Value`] (a parsed
//! time, a zone looked up, a Duration with its parts), which
//! [`from_values`](crate::arguments::from_values) then hands over as a text or a number: a Time
//! as its `iso8601(9)` text, a Date as `YYYY-MM-DD`, a Module as its name, a BigDecimal as
//! `BigDecimal#to_s`, a Duration as its number of seconds. Here the object is read straight from
//! the payload, checked by the same rules (the same parse functions, the same zone database), and
//! only what the handler is handed is made, borrowed from the payload when the text written is
//! already the text handed over (what Rails writes: `2026-11-24T21:27:56.175007000Z`).
//!
//! Only the shapes Rails writes are taken: the serializer's own keys (`value`, and `time_zone`
//! or `parts`), each once, without escapes in the keys. Anything else (an extra key, a repeated
//! one, a value of another type, a text the rules refuse) gives `None`, and the caller reads the
//! object the owned way. Ranges and the application's own serializers, which are handed over as
//! maps, are built as their owned [`Value`] (see [`super::built`]).

use super::arg::Next;
use super::{built, fields};
use crate::arguments::lexer::{is_float, Lexer, Number};
use crate::arguments::{Ctx, Value, Zone, SERIALIZED_KEY};
use crate::ruby::constant::{constant_path, ConstantPath};
use crate::ruby::time::{RubyTime, RAILS_UTC_LEN};
use crate::ruby::time_zone::{self, RailsZone, ZoneDatabase};
use crate::ruby::{bigdecimal, time};
use crate::serializers::{self, SerializerRegistry};
use std::borrow::Cow;

/// How many brackets deep an object read here nests at most (a Duration:
/// `{"parts":[[{"_aj_serialized":…}]]}`).
pub(super) const DEPTH: u32 = 4;

/// A serialized object read in place.
pub(super) enum Taken<'de> {
    /// What the handler is handed.
    Next(Next<'de>),
    /// The owned value, handed over as `from_values` hands it.
    Value(Value),
}

/// The object whose first key, `_aj_serialized`, was just read (the cursor past it), as the
/// owned rules hand it over; `None` (the cursor anywhere) for anything not taken in place.
pub(super) fn read<'de>(lex: &mut Lexer<'de>, ctx: &Ctx<'_>) -> Option<Taken<'de>> {
    lex.eat(b':')?;
    let name = match core_name(lex) {
        Some(name) => Cow::Borrowed(name),
        None => string(lex)?,
    };
    let next = match &*name {
        serializers::RANGE => return built::range(lex).map(Taken::Value),
        serializers::SYMBOL => only_value(lex).map(Next::Str),
        serializers::TIME => {
            let value = only_value(lex)?;
            time_text(value)
        }
        serializers::TIME_WITH_ZONE => {
            let (value, zone) = value_and_zone(lex)?;
            time_with_zone_text(value, zone, ctx)
        }
        serializers::DATE => {
            let value = only_value(lex)?;
            if time::date_prints_as_written(&value) {
                return Some(Taken::Next(Next::Printed(value)));
            }
            let date = time::parse_date(&value).ok()?;
            Some(Next::Printed(same_or(value, time::format_date(date))))
        }
        serializers::DATE_TIME => {
            let value = only_value(lex)?;
            if value.len() == 35 && time::parse_plain_offset(&value).is_some() {
                return Some(Taken::Next(Next::Printed(value)));
            }
            let datetime = time::parse_datetime(&value).ok()?;
            Some(Next::Printed(same_or(
                value,
                time::format_datetime_iso8601_9(&datetime),
            )))
        }
        serializers::MODULE => match only_value(lex)? {
            Cow::Borrowed(text) => match constant_path(text) {
                ConstantPath::Valid(name) | ConstantPath::Unknown(name) => {
                    Some(Next::Name(Cow::Borrowed(name)))
                }
                ConstantPath::Invalid => None,
            },
            Cow::Owned(_) => None,
        },
        serializers::BIG_DECIMAL => {
            let value = only_value(lex)?;
            if bigdecimal::prints_as_written(&value) {
                return Some(Taken::Next(Next::Name(value)));
            }
            let text = bigdecimal::bigdecimal_to_s(&value).ok()?;
            Some(Next::Name(same_or(value, text)))
        }
        serializers::DURATION => {
            let mut ahead = *lex;
            match rails_duration(&mut ahead) {
                Some(next) => {
                    *lex = ahead;
                    Some(next)
                }
                None => duration(lex),
            }
        }
        _ => return custom(lex, &name, ctx.serializers),
    };
    next.map(Taken::Next)
}

/// The quoted names of Rails' core serializers after their common start, as Rails writes them.
const CORE_NAMES: [(&[u8], &str); 9] = [
    (b"SymbolSerializer\"", serializers::SYMBOL),
    (b"DurationSerializer\"", serializers::DURATION),
    (b"DateTimeSerializer\"", serializers::DATE_TIME),
    (b"DateSerializer\"", serializers::DATE),
    (b"TimeWithZoneSerializer\"", serializers::TIME_WITH_ZONE),
    (b"TimeSerializer\"", serializers::TIME),
    (b"ModuleSerializer\"", serializers::MODULE),
    (b"RangeSerializer\"", serializers::RANGE),
    (b"BigDecimalSerializer\"", serializers::BIG_DECIMAL),
];

/// The name of one of Rails' core serializers at the cursor, written as Rails writes it (no
/// escape), the cursor past it: told by its first letters without scanning the whole string.
/// `None`, the cursor unmoved, for any other name.
#[inline]
fn core_name(lex: &mut Lexer<'_>) -> Option<&'static str> {
    let at = lex.at;
    if !lex.exact(b"\"ActiveJob::Serializers::") {
        return None;
    }
    let rest = lex.bytes.get(lex.at..).unwrap_or_default();
    let found = CORE_NAMES
        .iter()
        .find(|(quoted, _)| rest.starts_with(quoted));
    match found {
        Some((quoted, name)) => {
            lex.at += quoted.len();
            Some(name)
        }
        None => {
            lex.at = at;
            None
        }
    }
}

/// An application serializer's object after its name `name`: handed over in place when its
/// fields allow it and its serializer does not check them, else built as its owned value.
fn custom<'de>(
    lex: &mut Lexer<'de>,
    name: &str,
    registry: &SerializerRegistry,
) -> Option<Taken<'de>> {
    if name == serializers::ACTION_CONTROLLER_PARAMETERS {
        return None;
    }
    let registered = registry.custom(name);
    if registered.is_none() && registry.is_strict() {
        return None;
    }
    if registered.is_none_or(|r| r.check.is_none()) {
        let mut ahead = *lex;
        if let Some(fields) = fields::check(&mut ahead) {
            *lex = ahead;
            return Some(Taken::Next(Next::Fields(fields)));
        }
    }
    built::custom(lex, name, registered).map(Taken::Value)
}

/// `text` when `formatted` is the same text (no copy), else `formatted`.
fn same_or(text: Cow<'_, str>, formatted: String) -> Cow<'_, str> {
    if *text == formatted {
        text
    } else {
        Cow::Owned(formatted)
    }
}

/// A Time's `iso8601(9)` text.
fn time_text(value: Cow<'_, str>) -> Option<Next<'_>> {
    // Nine digits and `Z` or an offset, fields in range: printed back exactly as written.
    if written_as_rails_writes(&value) {
        return Some(Next::Printed(value));
    }
    let parsed = time::parse_xmlschema(&value).ok()?;
    let formatted = time::format_iso8601_9(&parsed);
    Some(Next::Printed(same_or(value, formatted)))
}

/// Whether `value` is a time as Rails writes one, as [`written_offset`] takes it: the UTC form
/// checked by its digits alone.
fn written_as_rails_writes(value: &str) -> bool {
    match value.len() {
        RAILS_UTC_LEN => time::is_plain_utc(value.as_bytes()),
        _ => written_offset(value).is_some(),
    }
}

/// A time written as Rails writes one, nine fraction digits and `Z` or `±hh:mm`, fields in
/// range: the time, and the offset it is written with (`None` for `Z`).
fn written_offset(value: &str) -> Option<(RubyTime, Option<i32>)> {
    match value.len() {
        RAILS_UTC_LEN => time::parse_plain_utc(value).map(|time| (time, None)),
        35 => time::parse_plain_offset(value)
            .map(|time| (time, Some(time.instant.offset().local_minus_utc()))),
        _ => None,
    }
}

/// A TimeWithZone's `iso8601(9)` text, in its `time_zone` (or, without one, in the zone
/// arguments are read in).
fn time_with_zone_text<'de>(
    value: Cow<'de, str>,
    zone: Option<Cow<'de, str>>,
    ctx: &Ctx<'_>,
) -> Option<Next<'de>> {
    let in_zone = |zone: &RailsZone| in_zone_text(value, zone);
    match (&zone, ctx.zone) {
        (Some(name), _) => with_zone(name, ctx.zones, in_zone)?,
        (None, Zone::Named(name)) => with_zone(name, ctx.zones, in_zone)?,
        (None, Zone::Resolved(zone)) => in_zone(zone),
    }
}

/// The `iso8601(9)` text of the time `value` in `zone`.
fn in_zone_text<'de>(value: Cow<'de, str>, zone: &RailsZone) -> Option<Next<'de>> {
    // The form Rails writes a UTC time in, in a zone that shows every instant as UTC: printed
    // back as written, so the text is only checked (as `parse_plain_utc` would take it).
    if value.len() == RAILS_UTC_LEN
        && zone.is_utc_throughout()
        && time::is_plain_utc(value.as_bytes())
    {
        return Some(Next::Printed(value));
    }
    let plain = written_offset(&value);
    let parsed = match plain {
        Some((parsed, _)) => parsed,
        None => time::parse_xmlschema(&value).ok()?,
    };
    let instant = parsed.instant.to_utc();
    // Written as Rails writes it, in the offset the zone has then: printed back as written.
    let formatted = match plain {
        Some((_, written)) if time_zone::printed_offset(instant, zone) == written => None,
        _ => Some(time_zone::format_in_zone(instant, zone)),
    };
    Some(Next::Printed(match formatted {
        None => value,
        Some(formatted) => same_or(value, formatted),
    }))
}

/// `f` of the zone `name` resolves to in `zones`; `None` when it resolves to none (the owned
/// decoding's error). The database keeps the zones a thread looked up last.
fn with_zone<T>(name: &str, zones: &ZoneDatabase, f: impl FnOnce(&RailsZone) -> T) -> Option<T> {
    zones.lookup(name).map(|zone| f(&zone))
}

/// The object's only other key, `value`, a string.
pub(super) fn only_value<'de>(lex: &mut Lexer<'de>) -> Option<Cow<'de, str>> {
    let mut value = None;
    if lex.exact(VALUE_KEY) {
        value = Some(string(lex)?);
    }
    while let Some(key) = next_key(lex)? {
        match key {
            "value" if value.is_none() => value = Some(string(lex)?),
            _ => return None,
        }
    }
    value
}

/// The keys `value` (a string) and `time_zone` (a string or `null`) of a TimeWithZone.
#[allow(clippy::type_complexity)]
fn value_and_zone<'de>(lex: &mut Lexer<'de>) -> Option<(Cow<'de, str>, Option<Cow<'de, str>>)> {
    let mut value = None;
    let mut zone = None;
    if lex.exact(VALUE_KEY) {
        value = Some(string(lex)?);
    }
    if lex.exact(b",\"time_zone\":") {
        zone = Some(zone_name(lex)?);
    }
    while let Some(key) = next_key(lex)? {
        match key {
            "value" if value.is_none() => value = Some(string(lex)?),
            "time_zone" if zone.is_none() => zone = Some(zone_name(lex)?),
            _ => return None,
        }
    }
    Some((value?, zone.flatten()))
}

/// A TimeWithZone's `time_zone`: a string or `null`.
fn zone_name<'de>(lex: &mut Lexer<'de>) -> Option<Option<Cow<'de, str>>> {
    match lex.peek()? {
        b'n' => lex.literal("null").map(|()| None),
        _ => Some(Some(string(lex)?)),
    }
}

/// A Duration, handed over as its number of seconds; its `parts` checked as the owned
/// decoding reads them (`[unit, amount]` pairs, the unit a Symbol or a String).
fn duration<'de>(lex: &mut Lexer<'de>) -> Option<Next<'de>> {
    let mut value = None;
    let mut parts = false;
    if lex.exact(VALUE_KEY) {
        value = Some(number(lex)?);
    }
    if lex.exact(b",\"parts\":") {
        duration_parts(lex)?;
        parts = true;
    }
    while let Some(key) = next_key(lex)? {
        match key {
            "value" if value.is_none() => value = Some(number(lex)?),
            "parts" if !parts => {
                duration_parts(lex)?;
                parts = true;
            }
            _ => return None,
        }
    }
    match (value?, parts) {
        (Seconds::Int(i), true) => Some(Next::Duration(Seconds::Int(i))),
        (Seconds::Float(f), true) => Some(Next::Duration(Seconds::Float(f))),
        _ => None,
    }
}

/// A Duration exactly as Rails writes it, read in one pass:
/// `,"value":300,"parts":[[{"_aj_serialized":"…SymbolSerializer","value":"minutes"},5]]}`.
/// `None` (the cursor anywhere) for any other form, which [`duration`] reads.
fn rails_duration<'de>(lex: &mut Lexer<'de>) -> Option<Next<'de>> {
    if !lex.exact(VALUE_KEY) {
        return None;
    }
    let value = number(lex)?;
    if !lex.exact(b",\"parts\":[") {
        return None;
    }
    if !lex.exact(b"]") {
        loop {
            if !lex.exact(SYMBOL_PART_START) {
                return None;
            }
            // Back to the unit's opening quote.
            lex.at -= 1;
            lex.string()?;
            if !lex.exact(b"},") {
                return None;
            }
            number(lex)?;
            if lex.exact(b"],") {
                continue;
            }
            if lex.exact(b"]]") {
                break;
            }
            return None;
        }
    }
    lex.exact(b"}").then_some(Next::Duration(value))
}

/// A Duration's value.
#[derive(Debug, Clone, Copy)]
pub(super) enum Seconds {
    Int(i64),
    Float(f64),
}

/// `[[unit, amount], ...]`.
fn duration_parts(lex: &mut Lexer<'_>) -> Option<()> {
    lex.eat(b'[')?;
    if lex.peek()? == b']' {
        lex.at += 1;
        return Some(());
    }
    loop {
        lex.eat(b'[')?;
        match lex.peek()? {
            b'"' => drop(lex.string()?),
            b'{' => drop(symbol_object(lex)?),
            _ => return None,
        }
        lex.eat(b',')?;
        number(lex)?;
        lex.eat(b']')?;
        if !lex.separator(b']')? {
            return Some(());
        }
    }
}

/// A number as the owned decoding reads it: an integer in `i64` or a float (larger integers
/// are left to the owned decoding).
fn number(lex: &mut Lexer<'_>) -> Option<Seconds> {
    if !matches!(lex.peek()?, b'-' | b'0'..=b'9') {
        return None;
    }
    match lex.number()? {
        Number::Int(i) => Some(Seconds::Int(i)),
        Number::Text(text) if is_float(&text) => text.parse().ok().map(Seconds::Float),
        Number::Text(_) => None,
    }
}

/// A Symbol object, `{"_aj_serialized":"…SymbolSerializer","value":"name"}`, at the cursor:
/// its name.
fn symbol_object<'de>(lex: &mut Lexer<'de>) -> Option<Cow<'de, str>> {
    if lex.exact(SYMBOL_OBJECT_START) {
        return only_value(lex);
    }
    lex.eat(b'{')?;
    if string(lex)? != SERIALIZED_KEY {
        return None;
    }
    lex.eat(b':')?;
    if string(lex)? != serializers::SYMBOL {
        return None;
    }
    only_value(lex)
}

/// The key `value` after the one before it, as Rails writes it.
const VALUE_KEY: &[u8; 9] = b",\"value\":";

/// A Symbol object up to its name, as Rails writes it.
const SYMBOL_OBJECT_START: &[u8; 60] =
    b"{\"_aj_serialized\":\"ActiveJob::Serializers::SymbolSerializer\"";

/// A part of a Duration as Rails writes it, up to its unit's opening quote.
const SYMBOL_PART_START: &[u8; 71] =
    b"[{\"_aj_serialized\":\"ActiveJob::Serializers::SymbolSerializer\",\"value\":\"";

/// The next key of the object being read, the cursor past its `:`; `None` (inside) past the
/// object's `}`. A key written with escapes is not taken.
#[inline]
pub(super) fn next_key<'de>(lex: &mut Lexer<'de>) -> Option<Option<&'de str>> {
    if !lex.separator(b'}')? {
        return Some(None);
    }
    let Cow::Borrowed(key) = string(lex)? else {
        return None;
    };
    lex.eat(b':')?;
    Some(Some(key))
}

/// The next key of an application object's fields, as [`next_key`] reads it; `None` for
/// `_aj_serialized` once more: Ruby's JSON keeps the last of a repeated key, so the object
/// names another serializer than the one read first, and the owned decoding decides.
#[inline]
pub(super) fn next_field_key<'de>(lex: &mut Lexer<'de>) -> Option<Option<&'de str>> {
    let key = next_key(lex)?;
    if key == Some(SERIALIZED_KEY) {
        return None;
    }
    Some(key)
}

/// A string at the cursor.
#[inline]
pub(super) fn string<'de>(lex: &mut Lexer<'de>) -> Option<Cow<'de, str>> {
    if lex.peek()? != b'"' {
        return None;
    }
    lex.string()
}

#[cfg(test)]
mod tests {
    use super::{SYMBOL_OBJECT_START, SYMBOL_PART_START, VALUE_KEY};
    use crate::arguments::SERIALIZED_KEY;
    use crate::serializers;

    #[test]
    fn the_core_names_are_the_serializers_names() {
        for (quoted, name) in super::CORE_NAMES {
            let written = format!(
                "\"ActiveJob::Serializers::{}",
                String::from_utf8_lossy(quoted)
            );
            assert_eq!(written, format!("\"{name}\""));
            let mut lex = crate::arguments::lexer::Lexer::new(&written);
            assert_eq!(super::core_name(&mut lex), Some(name));
            assert_eq!(lex.at, written.len());
        }
        let mut lex = crate::arguments::lexer::Lexer::new("\"ActiveJob::Serializers::Other\"");
        assert_eq!(super::core_name(&mut lex), None);
        assert_eq!(lex.at, 0);
    }

    #[test]
    fn the_quick_forms_are_what_rails_writes() {
        let symbol = format!(r#"{{"{SERIALIZED_KEY}":"{}""#, serializers::SYMBOL);
        assert_eq!(SYMBOL_OBJECT_START, symbol.as_bytes());
        assert_eq!(
            SYMBOL_PART_START,
            format!(r#"[{symbol},"value":""#).as_bytes()
        );
        assert_eq!(VALUE_KEY, br#","value":"#);
    }
}
