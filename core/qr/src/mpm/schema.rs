//! What each data object id means where it stands (EMV QRCPS MPM tables
//! 3.1 to 3.8 and 4.1). Ids are reused across templates: `01` is the point
//! of initiation method at the root and the bill number inside `62`, so
//! every lookup takes the path from the root.

use std::fmt;

/// Where a data object stands: its id at the root, then inside each
/// template down to it (at most three levels: `62.50.00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Path {
    ids: [u8; 3],
    depth: u8,
}

impl Path {
    pub const fn root(id: u8) -> Self {
        Path {
            ids: [id, 0, 0],
            depth: 1,
        }
    }

    /// The path of `id` inside the template at `self`. Paths never go
    /// deeper than three ids; the schema has no template below that.
    pub fn child(self, id: u8) -> Self {
        let mut ids = self.ids;
        let depth = (self.depth as usize).min(2);
        ids[depth] = id;
        Path {
            ids,
            depth: depth as u8 + 1,
        }
    }

    /// The ids from the root down, e.g. `[62, 1]` for the bill number.
    pub fn ids(&self) -> &[u8] {
        &self.ids[..self.depth as usize]
    }

    /// The last id.
    pub fn id(&self) -> u8 {
        self.ids[self.depth as usize - 1]
    }

    /// What the object is, e.g. "transaction amount".
    pub fn name(&self) -> &'static str {
        name(self.ids())
    }

    pub(crate) fn kind(&self) -> Kind {
        kind(self.ids())
    }
}

impl fmt::Display for Path {
    /// `54 (transaction amount)`, `62.01 (bill number)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, id) in self.ids().iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{id:02}")?;
        }
        write!(f, " ({})", self.name())
    }
}

/// Whether a value is text or a template of data objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Primitive,
    Template,
}

pub(crate) fn kind(path: &[u8]) -> Kind {
    match path {
        [26..=51 | 62 | 64 | 80..=99] | [62, 50..=99] => Kind::Template,
        _ => Kind::Primitive,
    }
}

/// The payment network that table 4.1 reserves a primitive merchant
/// account information id (02 to 25) for.
pub fn reserved_network(id: u8) -> Option<&'static str> {
    Some(match id {
        2..=3 => "Visa",
        4..=5 => "Mastercard",
        6..=8 | 17..=25 => "EMVCo",
        9..=10 => "Discover",
        11..=12 => "American Express",
        13..=14 => "JCB",
        15..=16 => "UnionPay",
        _ => return None,
    })
}

/// The name of the object at `path`.
pub fn name(path: &[u8]) -> &'static str {
    match path {
        [id] => root_name(*id),
        [26..=51 | 80..=99, 0] | [62, 50..=99, 0] => "globally unique identifier",
        [26..=51, _] => "payment network specific",
        [80..=99, _] => "context specific data",
        [62, sub] => additional_data_name(*sub),
        [62, 50..=99, _] => "payment system specific",
        [64, 0] => "language preference",
        [64, 1] => "merchant name, alternate language",
        [64, 2] => "merchant city, alternate language",
        [64, _] => "reserved for future use",
        _ => "unknown data object",
    }
}

fn root_name(id: u8) -> &'static str {
    match id {
        0 => "payload format indicator",
        1 => "point of initiation method",
        2..=3 => "merchant account information, Visa",
        4..=5 => "merchant account information, Mastercard",
        6..=8 | 17..=25 => "merchant account information, reserved by EMVCo",
        9..=10 => "merchant account information, Discover",
        11..=12 => "merchant account information, American Express",
        13..=14 => "merchant account information, JCB",
        15..=16 => "merchant account information, UnionPay",
        26..=51 => "merchant account information",
        52 => "merchant category code",
        53 => "transaction currency",
        54 => "transaction amount",
        55 => "tip or convenience indicator",
        56 => "value of convenience fee fixed",
        57 => "value of convenience fee percentage",
        58 => "country code",
        59 => "merchant name",
        60 => "merchant city",
        61 => "postal code",
        62 => "additional data field template",
        63 => "CRC",
        64 => "merchant information, language template",
        65..=79 => "reserved for future use",
        80..=99 => "unreserved template",
        _ => "unknown data object",
    }
}

fn additional_data_name(sub: u8) -> &'static str {
    match sub {
        1 => "bill number",
        2 => "mobile number",
        3 => "store label",
        4 => "loyalty number",
        5 => "reference label",
        6 => "customer label",
        7 => "terminal label",
        8 => "purpose of transaction",
        9 => "additional consumer data request",
        // Allocated by MPM v1.1; RFU in v1.0.
        10 => "merchant tax id",
        11 => "merchant channel",
        50..=99 => "payment system specific template",
        _ => "reserved for future use",
    }
}

/// Ids a code must not carry (the spec reserves them for future use); a
/// reader accepts and keeps them, a writer refuses them.
pub(crate) fn is_reserved(path: &[u8]) -> bool {
    matches!(path, [65..=79] | [62, 0 | 12..=49] | [64, 3..=99])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_depend_on_the_parent() {
        assert_eq!(Path::root(1).to_string(), "01 (point of initiation method)");
        assert_eq!(Path::root(62).child(1).to_string(), "62.01 (bill number)");
        assert_eq!(
            Path::root(62).child(50).child(0).to_string(),
            "62.50.00 (globally unique identifier)"
        );
        assert_eq!(Path::root(29).child(5).name(), "payment network specific");
        assert_eq!(Path::root(15).name(), "merchant account information, UnionPay");
    }

    #[test]
    fn templates() {
        assert_eq!(kind(&[26]), Kind::Template);
        assert_eq!(kind(&[25]), Kind::Primitive);
        assert_eq!(kind(&[62, 50]), Kind::Template);
        assert_eq!(kind(&[62, 49]), Kind::Primitive);
        assert_eq!(kind(&[64, 0]), Kind::Primitive);
        assert_eq!(kind(&[70]), Kind::Primitive);
    }

    #[test]
    fn reserved_ids() {
        assert!(is_reserved(&[65]) && is_reserved(&[62, 12]) && is_reserved(&[64, 3]));
        assert!(!is_reserved(&[62, 11]) && !is_reserved(&[80]) && !is_reserved(&[64, 2]));
    }
}
