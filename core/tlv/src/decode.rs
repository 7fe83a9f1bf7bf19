//! Zero-copy BER-TLV decoding (EMV Book 3 Annex B).

use crate::error::{ErrorKind, TlvError};
use crate::tag::Tag;

/// One data object, borrowing its value from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    tag: Tag,
    header_len: u8,
    depth: u8,
    raw: &'a [u8],
    offset: usize,
}

impl<'a> Tlv<'a> {
    pub fn tag(&self) -> Tag {
        self.tag
    }

    pub fn value(&self) -> &'a [u8] {
        &self.raw[self.header_len as usize..]
    }

    /// The whole encoded object: tag, length and value.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// Byte offset of the object in the outermost input it was read from.
    pub fn offset(&self) -> usize {
        self.offset
    }

    pub fn is_constructed(&self) -> bool {
        self.tag.is_constructed()
    }

    /// The objects inside a constructed one (empty for a primitive one).
    pub fn children(&self) -> TlvIter<'a> {
        if self.is_constructed() {
            TlvIter::nested(
                self.value(),
                self.offset + self.header_len as usize,
                self.depth + 1,
            )
        } else {
            TlvIter::nested(&[], 0, self.depth + 1)
        }
    }

    /// Depth-first search below this object for the first `tag`.
    pub fn find(&self, tag: Tag) -> Result<Option<Tlv<'a>>, TlvError> {
        find_in(self.children(), tag)
    }
}

/// Reads a length field; returns the length and the bytes it used.
#[inline]
pub(crate) fn read_length(input: &[u8]) -> Result<(usize, usize), TlvError> {
    match input {
        [] => Err(TlvError::at(0, ErrorKind::Truncated("length"))),
        [short, ..] if *short < 0x80 => Ok((*short as usize, 1)),
        [0x80, ..] => Err(TlvError::at(0, ErrorKind::IndefiniteLength)),
        [0x81, a, ..] => Ok((*a as usize, 2)),
        [0x82, a, b, ..] => Ok(((*a as usize) << 8 | *b as usize, 3)),
        [0x83, a, b, c, ..] => Ok(((*a as usize) << 16 | (*b as usize) << 8 | *c as usize, 4)),
        [0x81..=0x83, ..] => Err(TlvError::at(0, ErrorKind::Truncated("length"))),
        [long, ..] => Err(TlvError::at(
            0,
            ErrorKind::LengthTooLong((long & 0x7F) as usize + 1),
        )),
    }
}

/// Iterates over the objects in a byte string, skipping the `00` and `FF`
/// filler EMV allows between them (Book 3 Annex B). After the first error
/// it yields nothing more.
#[derive(Debug, Clone)]
pub struct TlvIter<'a> {
    input: &'a [u8],
    pos: usize,
    base: usize,
    depth: u8,
    failed: bool,
}

/// EMV templates nest four or five deep at most; the limit keeps a hostile
/// card response from exhausting the stack of a recursive walk.
pub const MAX_DEPTH: u8 = 16;

impl<'a> TlvIter<'a> {
    pub fn new(input: &'a [u8]) -> Self {
        Self::nested(input, 0, 0)
    }

    fn nested(input: &'a [u8], base: usize, depth: u8) -> Self {
        Self {
            input,
            pos: 0,
            base,
            depth,
            failed: false,
        }
    }

    #[inline]
    fn read_one(&mut self) -> Result<Tlv<'a>, TlvError> {
        let start = self.pos;
        let rest = &self.input[start..];
        let at = self.base + start;
        let (tag, tag_len) = Tag::read(rest).map_err(|e| e.shifted(at))?;
        let (len, len_len) = read_length(&rest[tag_len..]).map_err(|e| e.shifted(at + tag_len))?;
        let header = tag_len + len_len;
        let available = rest.len() - header;
        if len > available {
            return Err(TlvError::at(
                at,
                ErrorKind::ValueOverrun {
                    needed: len,
                    available,
                },
            ));
        }
        self.pos = start + header + len;
        Ok(Tlv {
            tag,
            // At most 4 tag bytes and 4 length bytes.
            header_len: header as u8,
            depth: self.depth,
            raw: &rest[..header + len],
            offset: at,
        })
    }
}

impl<'a> Iterator for TlvIter<'a> {
    type Item = Result<Tlv<'a>, TlvError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        while let Some(&b) = self.input.get(self.pos) {
            if b == 0x00 || b == 0xFF {
                self.pos += 1;
            } else {
                break;
            }
        }
        if self.pos >= self.input.len() {
            return None;
        }
        if self.depth > MAX_DEPTH {
            self.failed = true;
            return Some(Err(TlvError::at(self.base, ErrorKind::TooDeep(MAX_DEPTH))));
        }
        let item = self.read_one();
        self.failed = item.is_err();
        Some(item)
    }
}

/// The top-level objects of `input`.
pub fn parse(input: &[u8]) -> Result<Vec<Tlv<'_>>, TlvError> {
    TlvIter::new(input).collect()
}

/// Checks the whole tree (every constructed object's contents too).
pub fn validate(input: &[u8]) -> Result<(), TlvError> {
    fn walk(iter: TlvIter<'_>) -> Result<(), TlvError> {
        for tlv in iter {
            walk(tlv?.children())?;
        }
        Ok(())
    }
    walk(TlvIter::new(input))
}

fn find_in<'a>(iter: TlvIter<'a>, tag: Tag) -> Result<Option<Tlv<'a>>, TlvError> {
    for tlv in iter {
        let tlv = tlv?;
        if tlv.tag == tag {
            return Ok(Some(tlv));
        }
        if let Some(found) = find_in(tlv.children(), tag)? {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

/// Depth-first search of `input` for the first object with `tag`.
pub fn find(input: &[u8], tag: Tag) -> Result<Option<Tlv<'_>>, TlvError> {
    find_in(TlvIter::new(input), tag)
}

/// Every primitive object in the tree, in order: the usual way to collect a
/// card's data elements from a READ RECORD or GPO response.
pub fn primitives(input: &[u8]) -> Result<Vec<Tlv<'_>>, TlvError> {
    fn walk<'a>(iter: TlvIter<'a>, out: &mut Vec<Tlv<'a>>) -> Result<(), TlvError> {
        for tlv in iter {
            let tlv = tlv?;
            if tlv.is_constructed() {
                walk(tlv.children(), out)?;
            } else {
                out.push(tlv);
            }
        }
        Ok(())
    }
    // A data object takes at least two bytes; most in a record take five.
    let mut out = Vec::with_capacity(input.len() / 5);
    walk(TlvIter::new(input), &mut out)?;
    Ok(out)
}
