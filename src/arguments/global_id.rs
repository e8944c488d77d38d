//! GlobalID references (`gid://app/Model/id`), read and written as the globalid gem does.
//!
//! GlobalID 1.4 (Rails 7.1+) builds the URI as `gid://APP/MODEL/ID` where `ID` is
//! `CGI.escape(id)`: a `/` inside an id is written `%2F`. When it parses a URI it splits the id
//! segment on raw `/` (at most 20 parts, empty parts dropped) and unescapes each part: one part
//! is the record's id, several are the parts of a composite primary key. So `a%2Fb` is the
//! record `"a/b"`, while `a/b` is the composite key `["a", "b"]`; [`ModelId`] keeps the two apart
//! so that every id is written back exactly as it was read. GlobalID 0.6 (Debian's, under Rails
//! 6.1) unescapes the same single ids the same way and has no composite ids (it reads `a/b` as no
//! GlobalID at all).
//!
//! The model name is kept as written (GlobalID never unescapes it); the query (`?key=value`)
//! carries params for the application's locator and is kept as written too.
//!
//! What GlobalID cannot parse back is refused by [`GlobalId::check`]: an empty or non-host
//! app, a model name that is not a constant path (`constantize` raises), an empty id, a
//! composite id of fewer than two or more than 20 parts.

use crate::ruby::constant::{constant_path, ConstantPath};
use crate::ruby::string::inspect_str;

/// GlobalID 1.4's `COMPOSITE_MODEL_ID_MAX_SIZE`: more parts make the URI invalid.
const MAX_COMPOSITE_PARTS: usize = 20;

/// A GlobalID reference (`gid://app/Model/id`): Rails locates the record; Rust keeps the reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalId {
    /// The application name (`shop`).
    pub app: String,
    /// The model's class name (`User`, `Billing::Invoice`).
    pub model_name: String,
    /// The record id as GlobalID's `model_id` returns it.
    pub model_id: ModelId,
    /// The URI's query (`database=replica`) as written: GlobalID hands it to the locator as
    /// `params`.
    pub params: Option<String>,
}

/// A record id as GlobalID's `model_id` returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelId {
    /// One id (`7`, a UUID, `2024/05/7`): written escaped, `2024%2F05%2F7`.
    Single(String),
    /// The parts of a composite primary key (Rails 7.1+ `query_constraints`), written joined
    /// by `/`: `gid://shop/Order/3/17`.
    Composite(Vec<String>),
}

impl ModelId {
    /// True for a composite primary key, which GlobalID before 1.2 (Rails 6.1's) cannot read.
    pub fn is_composite(&self) -> bool {
        matches!(self, ModelId::Composite(_))
    }
}

/// The id as Ruby's `to_s` prints it: `7`, or `["3", "17"]` for a composite key.
impl std::fmt::Display for ModelId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModelId::Single(id) => f.write_str(id),
            ModelId::Composite(parts) => {
                let parts: Vec<String> = parts.iter().map(|p| inspect_str(p)).collect();
                write!(f, "[{}]", parts.join(", "))
            }
        }
    }
}

impl GlobalId {
    /// A reference to `model_name` record `model_id` of application `app`. The id is one
    /// value, whatever it holds: `GlobalId::new("shop", "Doc", "a/b")` is the record `"a/b"`.
    pub fn new(
        app: impl Into<String>,
        model_name: impl Into<String>,
        model_id: impl Into<String>,
    ) -> Self {
        GlobalId {
            app: app.into(),
            model_name: model_name.into(),
            model_id: ModelId::Single(model_id.into()),
            params: None,
        }
    }

    /// A reference to a record with a composite primary key (`["3", "17"]`).
    pub fn composite<P: Into<String>>(
        app: impl Into<String>,
        model_name: impl Into<String>,
        parts: impl IntoIterator<Item = P>,
    ) -> Self {
        GlobalId {
            app: app.into(),
            model_name: model_name.into(),
            model_id: ModelId::Composite(parts.into_iter().map(Into::into).collect()),
            params: None,
        }
    }

    /// Parses `gid://app/Model/id` as GlobalID 1.4 does (see the module docs). `None` when
    /// GlobalID cannot parse it either (Rails' locator then hands the job `nil`), or when an
    /// unescaped id is not UTF-8.
    pub fn parse(uri: &str) -> Option<GlobalId> {
        let rest = uri.strip_prefix("gid://")?;
        if !rest.bytes().all(is_uri_byte) {
            return None;
        }
        let rest = rest.split('#').next().unwrap_or_default();
        let (rest, params) = match rest.split_once('?') {
            Some((rest, query)) => (rest, Some(query.to_owned())),
            None => (rest, None),
        };
        let (authority, path) = rest.split_once('/')?;
        // `[` and `]` belong in an IP-literal host or the query, never in a path.
        if path.contains(['[', ']']) {
            return None;
        }
        let app = host(authority)?;
        let (model, id) = path.split_once('/')?;
        if app.is_empty() || model.is_empty() {
            return None;
        }
        Some(GlobalId {
            app: app.to_owned(),
            // GlobalID unescapes only the id; the model name is a constant path as written.
            model_name: model.to_owned(),
            model_id: parse_model_id(id)?,
            params,
        })
    }

    /// The URI GlobalID writes: `gid://app/Model/id`, the id escaped with `CGI.escape` (the
    /// parts of a composite id each escaped, then joined by `/`).
    pub fn uri(&self) -> String {
        self.uri_in_app(&self.app)
    }

    /// The URI with another application name (how a worker with its own `GlobalID.app` prints a
    /// located record).
    pub fn uri_in_app(&self, app: &str) -> String {
        let id = match &self.model_id {
            ModelId::Single(id) => cgi_escape(id),
            ModelId::Composite(parts) => {
                let parts: Vec<String> = parts.iter().map(|p| cgi_escape(p)).collect();
                parts.join("/")
            }
        };
        let query = self
            .params
            .as_deref()
            .map(|q| format!("?{q}"))
            .unwrap_or_default();
        format!("gid://{app}/{}/{id}{query}", self.model_name)
    }

    /// Why GlobalID could not read [`uri`](Self::uri) back as this reference, if it could not.
    pub fn check(&self) -> Result<(), String> {
        if self.app.is_empty() || !is_reg_name(&self.app) {
            return Err(format!(
                "GlobalID app {} is not a URI host name (letters, digits, -._~!$&'()*+,;= or %XX)",
                inspect_str(&self.app)
            ));
        }
        if !matches!(constant_path(&self.model_name), ConstantPath::Valid(name) if name == self.model_name)
        {
            return Err(format!(
                "GlobalID model name {} is not a constant path (Rails' constantize raises NameError)",
                inspect_str(&self.model_name)
            ));
        }
        match &self.model_id {
            ModelId::Single(id) if id.is_empty() => {
                Err("GlobalID model id is empty: GlobalID cannot be built without one".to_owned())
            }
            ModelId::Single(_) => Ok(()),
            ModelId::Composite(parts) if parts.iter().any(String::is_empty) => Err(
                "a part of a composite GlobalID id is empty: GlobalID drops empty parts".to_owned(),
            ),
            ModelId::Composite(parts) if !(2..=MAX_COMPOSITE_PARTS).contains(&parts.len()) => {
                Err(format!(
                    "a composite GlobalID id has {} parts: GlobalID reads 2 to {MAX_COMPOSITE_PARTS}",
                    parts.len()
                ))
            }
            ModelId::Composite(_) => Ok(()),
        }?;
        match &self.params {
            Some(query) if !query.bytes().all(|b| is_uri_byte(b) && b != b'#') => Err(format!(
                "GlobalID params {} are not a URI query",
                inspect_str(query)
            )),
            _ => Ok(()),
        }
    }
}

/// Whether `uri` is a GlobalID that [`GlobalId::parse`] reads and [`GlobalId::uri`] prints back
/// unchanged, told without building it: `gid://app/Model/id` with a plain host name, a constant
/// path for the model and one id of the bytes `CGI.escape` keeps, which is what GlobalID
/// writes for the usual records. `false` says nothing: the URI may still be one.
pub(crate) fn prints_as_written(uri: &str) -> bool {
    let Some(rest) = uri.strip_prefix("gid://") else {
        return false;
    };
    // The segment being read (app, model, id) and whether it has a byte yet.
    let mut segment = 0;
    let mut started = false;
    for &b in rest.as_bytes() {
        if b == b'/' {
            if !started || segment == 2 {
                return false;
            }
            segment += 1;
            started = false;
        } else if PLAIN[usize::from(b)] & (1 << segment) != 0 {
            started = true;
        } else {
            return false;
        }
    }
    segment == 2 && started
}

/// For each byte, which segments of a URI taken as written may hold it: bit 0 the app (a
/// plain host name), bit 1 the model (a constant path), bit 2 the id (what `CGI.escape` keeps).
const PLAIN: [u8; 256] = {
    let mut table = [0_u8; 256];
    let mut b = 0;
    while b < 256 {
        let byte = b as u8;
        if byte.is_ascii_alphanumeric() {
            table[b] = 0b111;
        }
        b += 1;
    }
    table[b'-' as usize] = 0b101;
    table[b'.' as usize] = 0b101;
    table[b'~' as usize] = 0b101;
    table[b'_' as usize] = 0b111;
    table[b':' as usize] = 0b010;
    table
};

/// The host of a URI authority (`user@host:port`), as Ruby's URI parser splits it.
fn host(authority: &str) -> Option<&str> {
    let host_port = match authority.split_once('@') {
        Some((_, rest)) if rest.contains('@') => return None,
        Some((_, rest)) => rest,
        None => authority,
    };
    let (host, port) = match host_port.strip_prefix('[') {
        Some(literal) => {
            let end = literal.find(']')? + 2;
            (&host_port[..end], &host_port[end..])
        }
        None => match host_port.split_once(':') {
            Some((host, port)) => (host, port),
            None => (host_port, ""),
        },
    };
    let port = port.strip_prefix(':').unwrap_or(port);
    port.bytes().all(|b| b.is_ascii_digit()).then_some(host)
}

/// The id segment as GlobalID 1.4's `set_model_components` reads it: split on `/` into at most
/// 20 parts, empty parts dropped, each part `CGI.unescape`d.
fn parse_model_id(segment: &str) -> Option<ModelId> {
    let mut parts = Vec::new();
    for (i, part) in segment.split('/').enumerate() {
        // Ruby's `split("/", 20)` leaves the rest in the 20th part, which then holds a `/`.
        if i == MAX_COMPOSITE_PARTS {
            return None;
        }
        if !part.is_empty() {
            parts.push(cgi_unescape(part)?);
        }
    }
    match parts.len() {
        0 => None,
        1 => parts.pop().map(ModelId::Single),
        _ => Some(ModelId::Composite(parts)),
    }
}

/// Bytes a URI may hold (RFC 3986 unreserved, reserved and `%`): anything else makes Ruby's URI
/// parser, and so GlobalID, reject the text.
fn is_uri_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=%".contains(&b)
}

/// RFC 3986 `reg-name` as Ruby's URI parser matches a host: unreserved and sub-delims
/// characters, and `%XX` escapes.
fn is_reg_name(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3);
                if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                    return false;
                }
                i += 3;
            }
            b if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=".contains(&b) => i += 1,
            _ => return false,
        }
    }
    true
}

/// `CGI.escape`: keeps `A-Za-z0-9_.-~`, writes a space as `+` and every other byte as `%XX`.
fn cgi_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `CGI.unescape`: `+` is a space, `%XX` a byte; `None` for a broken escape (the URI would not
/// have parsed in Ruby) or bytes that are not UTF-8.
fn cgi_unescape(text: &str) -> Option<String> {
    if !text.contains(['%', '+']) {
        return Some(text.to_owned());
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = text.get(i + 1..i + 3)?;
                if !hex.bytes().all(|h| h.is_ascii_hexdigit()) {
                    return None;
                }
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// A handler can take a GlobalID argument as a [`GlobalId`]: it arrives as its `gid://` URI.
impl<'de> serde::Deserialize<'de> for GlobalId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let uri = String::deserialize(deserializer)?;
        GlobalId::parse(&uri)
            .ok_or_else(|| serde::de::Error::custom(format!("{uri:?} is not a GlobalID URI")))
    }
}

#[cfg(test)]
mod tests;
