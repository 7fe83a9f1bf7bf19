//! Zero-copy BER-TLV decoding (EMV Book 3 Annex B).

use std::ops::ControlFlow;

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
        if !self.is_constructed() {
            return Ok(None);
        }
        find_below(
            self.value(),
            self.offset + self.header_len as usize,
            self.depth + 1,
            tag,
        )
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
    skip_filler: bool,
}

/// EMV templates nest four or five deep at most; the limit keeps a hostile
/// card response from exhausting the stack of a recursive walk.
pub const MAX_DEPTH: u8 = 16;

impl<'a> TlvIter<'a> {
    pub fn new(input: &'a [u8]) -> Self {
        Self::nested(input, 0, 0)
    }

    /// For data that is not card data: no `00`/`FF` filler between objects,
    /// so tags of the private class such as `FF21` read as tags.
    pub fn without_filler(input: &'a [u8]) -> Self {
        Self {
            skip_filler: false,
            ..Self::new(input)
        }
    }

    fn nested(input: &'a [u8], base: usize, depth: u8) -> Self {
        Self {
            input,
            pos: 0,
            base,
            depth,
            failed: false,
            skip_filler: true,
        }
    }
}

/// Reads the object that starts at `pos` (not a filler byte) in `input`,
/// which itself starts at `base` in the outermost input.
#[inline(always)]
fn read_at(input: &[u8], pos: usize, base: usize, depth: u8) -> Result<Tlv<'_>, TlvError> {
    let rest = &input[pos..];
    let at = base + pos;
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
    Ok(Tlv {
        tag,
        // At most 4 tag bytes and 4 length bytes.
        header_len: header as u8,
        depth,
        raw: &rest[..header + len],
        offset: at,
    })
}

/// Visits every object depth-first, a template before its contents, until
/// `f` breaks. The recursive walks of this module all go through here: one
/// tight loop, no iterator state.
fn visit<'a>(
    input: &'a [u8],
    base: usize,
    depth: u8,
    f: &mut impl FnMut(Tlv<'a>) -> ControlFlow<()>,
) -> Result<ControlFlow<()>, TlvError> {
    let mut pos = 0;
    while let Some(&b) = input.get(pos) {
        if b == 0x00 || b == 0xFF {
            pos += 1;
            continue;
        }
        if depth > MAX_DEPTH {
            return Err(TlvError::at(base, ErrorKind::TooDeep(MAX_DEPTH)));
        }
        let tlv = read_at(input, pos, base, depth)?;
        pos += tlv.raw.len();
        if f(tlv).is_break() {
            return Ok(ControlFlow::Break(()));
        }
        if tlv.is_constructed() {
            let inner = visit(tlv.value(), tlv.offset + tlv.header_len as usize, depth + 1, f)?;
            if inner.is_break() {
                return Ok(inner);
            }
        }
    }
    Ok(ControlFlow::Continue(()))
}

impl<'a> Iterator for TlvIter<'a> {
    type Item = Result<Tlv<'a>, TlvError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        while let Some(&b) = self.input.get(self.pos).filter(|_| self.skip_filler) {
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
        let item = read_at(self.input, self.pos, self.base, self.depth);
        match &item {
            Ok(tlv) => self.pos += tlv.raw.len(),
            Err(_) => self.failed = true,
        }
        Some(item)
    }
}

/// The top-level objects of `input`.
pub fn parse(input: &[u8]) -> Result<Vec<Tlv<'_>>, TlvError> {
    TlvIter::new(input).collect()
}

/// The top-level objects of `input`, which has no filler (see
/// [`TlvIter::without_filler`]).
pub fn parse_without_filler(input: &[u8]) -> Result<Vec<Tlv<'_>>, TlvError> {
    TlvIter::without_filler(input).collect()
}

/// Checks the whole tree (every constructed object's contents too).
pub fn validate(input: &[u8]) -> Result<(), TlvError> {
    let _ = visit(input, 0, 0, &mut |_| ControlFlow::Continue(()))?;
    Ok(())
}

/// Depth-first search of `input` for the first object with `tag`.
pub fn find(input: &[u8], tag: Tag) -> Result<Option<Tlv<'_>>, TlvError> {
    find_below(input, 0, 0, tag)
}

fn find_below(input: &[u8], base: usize, depth: u8, tag: Tag) -> Result<Option<Tlv<'_>>, TlvError> {
    let mut found = None;
    let _ = visit(input, base, depth, &mut |tlv| {
        if tlv.tag == tag {
            found = Some(tlv);
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    })?;
    Ok(found)
}

/// Every primitive object in the tree, in order: the usual way to collect a
/// card's data elements from a READ RECORD or GPO response.
pub fn primitives(input: &[u8]) -> Result<Vec<Tlv<'_>>, TlvError> {
    // A data object takes at least two bytes; most in a record take five.
    let mut out = Vec::with_capacity(input.len() / 5);
    let _ = visit(input, 0, 0, &mut |tlv| {
        if !tlv.is_constructed() {
            out.push(tlv);
        }
        ControlFlow::Continue(())
    })?;
    Ok(out)
}
