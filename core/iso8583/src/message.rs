//! A message as the application sees it: an MTI and typed field values,
//! independent of how a dialect puts them on the wire.

use std::fmt;

/// Message type indicator, e.g. `Mti(200)` for 0200 (financial request).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Mti(pub u16);

impl Mti {
    /// The matching response (0200 -> 0210, 0400 -> 0410, 0800 -> 0810):
    /// ISO 8583's third digit is the message function, even for requests
    /// and advices, odd for their responses. `None` for a response or an
    /// MTI outside 0000..=9999.
    pub fn response(self) -> Option<Mti> {
        let function = (self.0 / 10) % 10;
        (self.0 <= 9999 && function % 2 == 0).then_some(Mti(self.0 + 10))
    }
}

impl fmt::Display for Mti {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}", self.0)
    }
}

/// One field's value.
///
/// Which variant a field takes follows its format in the dialect:
/// - `n` and `z` fields: [`Value::Digits`]. In `z` (track) fields `D` is the
///   field separator; `=` is accepted on input and unpacks as `D`.
/// - `an` and `ans` fields: [`Value::Text`] when the bytes are printable
///   ASCII, [`Value::TextBytes`] otherwise.
/// - `b` fields: [`Value::Binary`].
///
/// Why two text variants: UnionPay hosts put GBK-encoded Chinese in field 63
/// and some free-text fields. GBK is not UTF-8, and decoding it would need a
/// GBK table in this crate and could not promise to give back the same
/// bytes, so such text is kept as the bytes that were sent. `unpack` yields
/// `Text` exactly when every byte is printable ASCII (0x20..=0x7E) and
/// `TextBytes` for anything else; `pack` takes either (`TextBytes` as is,
/// without the charset check, for callers sending GBK).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Value {
    Digits(String),
    Text(String),
    /// An `an`/`ans` field whose bytes are not all printable ASCII (GBK).
    TextBytes(Vec<u8>),
    Binary(Vec<u8>),
}

impl Value {
    /// What kind of value this is, for error messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Value::Digits(_) => "digits",
            Value::Text(_) => "text",
            Value::TextBytes(_) => "text bytes",
            Value::Binary(_) => "binary",
        }
    }

    /// The value of an `an`/`ans` field with these bytes, exactly as
    /// `unpack` gives it: `Text` if all printable ASCII, else `TextBytes`.
    pub fn from_text_bytes(bytes: &[u8]) -> Value {
        let printable = bytes.iter().all(|b| (0x20..=0x7E).contains(b));
        // Printable ASCII is valid UTF-8, so `from_utf8` succeeds exactly then.
        match String::from_utf8(bytes.to_vec()) {
            Ok(text) if printable => Value::Text(text),
            Ok(text) => Value::TextBytes(text.into_bytes()),
            Err(e) => Value::TextBytes(e.into_bytes()),
        }
    }
}

/// An ISO 8583 message: MTI plus data elements 2..=128 by number.
///
/// Field 1 (the secondary bitmap) is not a data element: the codec sets it
/// when any field above 64 is present. `Debug` masks card data (PAN, expiry,
/// tracks, PIN block, ICC data, keys) so that a logged message leaks none.
#[derive(Clone, PartialEq, Eq)]
pub struct Message {
    pub mti: Mti,
    /// Sorted by field number, each number once: a map, kept as a vector
    /// because a message has a few dozen fields at most and unpack builds
    /// it in order without a single extra allocation (BTreeMap nodes cost
    /// a fifth of unpack's time).
    fields: Vec<(u8, Value)>,
}

impl Message {
    pub fn new(mti: u16) -> Self {
        Self {
            mti: Mti(mti),
            fields: Vec::new(),
        }
    }

    /// Sets (or replaces) a field. Whether the value suits the field is
    /// checked by [`crate::Dialect::pack`], which knows the field's format.
    pub fn set(&mut self, field: u8, value: Value) -> &mut Self {
        match self.index(field) {
            Ok(i) => self.fields[i].1 = value,
            Err(i) => self.fields.insert(i, (field, value)),
        }
        self
    }

    pub fn set_digits(&mut self, field: u8, digits: impl Into<String>) -> &mut Self {
        self.set(field, Value::Digits(digits.into()))
    }

    pub fn set_text(&mut self, field: u8, text: impl Into<String>) -> &mut Self {
        self.set(field, Value::Text(text.into()))
    }

    /// Sets an `an`/`ans` field from raw bytes, e.g. GBK-encoded Chinese.
    pub fn set_text_bytes(&mut self, field: u8, bytes: impl Into<Vec<u8>>) -> &mut Self {
        self.set(field, Value::TextBytes(bytes.into()))
    }

    pub fn set_binary(&mut self, field: u8, bytes: impl Into<Vec<u8>>) -> &mut Self {
        self.set(field, Value::Binary(bytes.into()))
    }

    pub fn get(&self, field: u8) -> Option<&Value> {
        self.index(field).ok().map(|i| &self.fields[i].1)
    }

    pub fn contains(&self, field: u8) -> bool {
        self.index(field).is_ok()
    }

    /// The digits of an `n`/`z` field; `None` if absent or not digits.
    pub fn digits(&self, field: u8) -> Option<&str> {
        match self.get(field)? {
            Value::Digits(d) => Some(d),
            _ => None,
        }
    }

    /// The text of an `an`/`ans` field that is printable ASCII; `None` if
    /// absent, not text, or non-ASCII (then see [`Message::text_bytes`]).
    pub fn text(&self, field: u8) -> Option<&str> {
        match self.get(field)? {
            Value::Text(t) => Some(t),
            _ => None,
        }
    }

    /// The bytes of an `an`/`ans` field, ASCII or not (GBK stays GBK).
    pub fn text_bytes(&self, field: u8) -> Option<&[u8]> {
        match self.get(field)? {
            Value::Text(t) => Some(t.as_bytes()),
            Value::TextBytes(b) => Some(b),
            _ => None,
        }
    }

    /// The bytes of a `b` field; `None` if absent or not binary.
    pub fn binary(&self, field: u8) -> Option<&[u8]> {
        match self.get(field)? {
            Value::Binary(b) => Some(b),
            _ => None,
        }
    }

    pub fn remove(&mut self, field: u8) -> Option<Value> {
        self.index(field).ok().map(|i| self.fields.remove(i).1)
    }

    /// The fields in field-number order.
    pub fn fields(&self) -> impl Iterator<Item = (u8, &Value)> {
        self.fields.iter().map(|(n, v)| (*n, v))
    }

    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// For the decoder: fields in ascending order, each once.
    pub(crate) fn from_sorted(mti: u16, fields: Vec<(u8, Value)>) -> Self {
        debug_assert!(fields.windows(2).all(|w| w[0].0 < w[1].0));
        Self {
            mti: Mti(mti),
            fields,
        }
    }

    fn index(&self, field: u8) -> Result<usize, usize> {
        self.fields.binary_search_by_key(&field, |(n, _)| *n)
    }
}

/// What `Debug` shows of a field: card data never in clear (DESIGN rule 5).
struct Shown<'a>(u8, &'a Value);

impl fmt::Debug for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let size = |v: &Value| match v {
            Value::Digits(d) | Value::Text(d) => d.len(),
            Value::TextBytes(b) | Value::Binary(b) => b.len(),
        };
        match (self.0, self.1) {
            // PAN: first 6 and last 4 at most, the PCI DSS display rule.
            (2, Value::Digits(pan)) if pan.len() >= 13 && pan.is_ascii() => {
                let (head, tail) = (&pan[..6], &pan[pan.len() - 4..]);
                write!(f, "Digits(\"{head}{}{tail}\")", "*".repeat(pan.len() - 10))
            }
            (2, v) => write!(f, "<PAN, {} long>", size(v)),
            (14, v) => write!(f, "<expiry, {} long>", size(v)),
            (35 | 36 | 45, v) => write!(f, "<track data, {} long>", size(v)),
            (52, v) => write!(f, "<PIN block, {} long>", size(v)),
            (55, v) => write!(f, "<ICC data, {} long>", size(v)),
            (62, v) => write!(f, "<field 62, {} long>", size(v)),
            (_, v) => v.fmt(f),
        }
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message")
            .field("mti", &format_args!("{}", self.mti))
            .field("fields", &DebugFields(&self.fields))
            .finish()
    }
}

struct DebugFields<'a>(&'a [(u8, Value)]);

impl fmt::Debug for DebugFields<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(n, v)| (n, Shown(*n, v))))
            .finish()
    }
}
