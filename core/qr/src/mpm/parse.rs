//! Reading the id-length-value structure. Lengths count characters, not
//! bytes (MPM 4.5.1: the format "S" holds any Unicode character); the
//! spec's own example carries Chinese names in template 64.

use super::error::MpmError;
use super::object::{DataObject, Value};
use super::schema::{Kind, Path};

/// The data objects of `text`, which starts at character `base` of the
/// code, inside the template at `parent` (`None`: the root).
pub(crate) fn parse_objects(
    text: &str,
    base: usize,
    parent: Option<Path>,
) -> Result<Vec<DataObject>, MpmError> {
    let mut objects = Vec::with_capacity(if parent.is_none() { 16 } else { 4 });
    let mut rest = text;
    let mut at = base;
    while !rest.is_empty() {
        let b = rest.as_bytes();
        let id = two_digits(b, 0).ok_or(MpmError::BadId { at })?;
        let path = parent.map_or(Path::root(id), |p| p.child(id));
        let len = two_digits(b, 2).ok_or(MpmError::BadLength { at: at + 2, path })? as usize;
        // The first four bytes are ASCII digits, so byte 4 starts a character.
        let body = &rest[4..];
        let end = byte_end(body, len).ok_or_else(|| MpmError::Overrun {
            path,
            declared: len,
            available: body.chars().count(),
        })?;
        let raw = &body[..end];
        let value = match path.kind() {
            Kind::Template => Value::Template(parse_objects(raw, at + 4, Some(path))?),
            Kind::Primitive => Value::Text(raw.to_owned()),
        };
        objects.push(match value {
            Value::Text(t) => DataObject::text(id, t),
            Value::Template(children) => DataObject::template(id, children),
        });
        rest = &body[end..];
        at += 4 + len;
    }
    Ok(objects)
}

fn two_digits(b: &[u8], at: usize) -> Option<u8> {
    match (b.get(at), b.get(at + 1)) {
        (Some(h @ b'0'..=b'9'), Some(l @ b'0'..=b'9')) => Some((h - b'0') * 10 + (l - b'0')),
        _ => None,
    }
}

/// The byte index after the first `n` characters of `s`, if it has them.
fn byte_end(s: &str, n: usize) -> Option<usize> {
    if s.is_ascii() {
        return (n <= s.len()).then_some(n);
    }
    let mut chars = s.char_indices();
    for _ in 0..n {
        chars.next()?;
    }
    Some(chars.next().map_or(s.len(), |(i, _)| i))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_count_characters() {
        let objects = parse_objects("64140002ZH0104最佳运输", 0, None).unwrap();
        assert_eq!(objects[0].child_text(1), Some("最佳运输"));
    }

    #[test]
    fn errors_say_where() {
        assert_eq!(parse_objects("0002010", 0, None), Err(MpmError::BadId { at: 6 }));
        assert_eq!(
            parse_objects("00020159X1", 0, None),
            Err(MpmError::BadLength {
                at: 8,
                path: Path::root(59)
            })
        );
        assert_eq!(
            parse_objects("5910ABC", 0, None),
            Err(MpmError::Overrun {
                path: Path::root(59),
                declared: 10,
                available: 3
            })
        );
        // Inside a template, the path and the offset are the whole code's.
        assert_eq!(
            parse_objects("0002016205010AB", 0, None),
            Err(MpmError::BadLength {
                at: 12,
                path: Path::root(62).child(1)
            })
        );
        assert_eq!(
            parse_objects("00020162050105X", 0, None),
            Err(MpmError::Overrun {
                path: Path::root(62).child(1),
                declared: 5,
                available: 1
            })
        );
        assert!(matches!(
            parse_objects("0002016205X1234", 0, None),
            Err(MpmError::BadId { at: 10 })
        ));
    }
}
