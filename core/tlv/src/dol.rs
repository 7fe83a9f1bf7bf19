//! Data object lists: PDOL, CDOL1/2, DDOL, TDOL (EMV Book 3 section 5.4).

use crate::decode::read_length;
use crate::dictionary::{self, Format};
use crate::error::TlvError;
use crate::tag::Tag;

/// One DOL entry: a tag and the length the card wants for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DolEntry {
    pub tag: Tag,
    pub len: usize,
}

/// A parsed data object list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dol {
    entries: Vec<DolEntry>,
}

impl Dol {
    /// Parses a DOL: tag and length pairs with no values.
    pub fn parse(input: &[u8]) -> Result<Dol, TlvError> {
        let mut entries = Vec::new();
        let mut pos = 0;
        while pos < input.len() {
            let (tag, tag_len) = Tag::read(&input[pos..]).map_err(|e| e.shifted(pos))?;
            let (len, len_len) =
                read_length(&input[pos + tag_len..]).map_err(|e| e.shifted(pos + tag_len))?;
            entries.push(DolEntry { tag, len });
            pos += tag_len + len_len;
        }
        Ok(Dol { entries })
    }

    pub fn entries(&self) -> &[DolEntry] {
        &self.entries
    }

    /// Total length of the data the card expects.
    pub fn data_len(&self) -> usize {
        self.entries.iter().map(|e| e.len).sum()
    }

    /// Builds the DOL-related data: each entry's value fitted to its length.
    /// `value_of` supplies what the terminal knows; `format_of` the format
    /// (use [`Dol::build`] for the EMV dictionary's formats).
    pub fn build_with<'v>(
        &self,
        value_of: impl Fn(Tag) -> Option<&'v [u8]>,
        format_of: impl Fn(Tag) -> Option<Format>,
    ) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.data_len());
        for entry in &self.entries {
            let value = if entry.tag.is_constructed() {
                None
            } else {
                value_of(entry.tag)
            };
            match value {
                // Unknown, absent or constructed: zeros of the asked length.
                None => out.resize(out.len() + entry.len, 0),
                Some(v) => fit(v, entry.len, format_of(entry.tag).unwrap_or(Format::B), &mut out),
            }
        }
        out
    }

    /// [`Dol::build_with`] using the EMV tag dictionary for formats.
    pub fn build<'v>(&self, value_of: impl Fn(Tag) -> Option<&'v [u8]>) -> Vec<u8> {
        self.build_with(value_of, |t| dictionary::lookup(t).map(|i| i.format))
    }
}

/// Book 3 5.4: numeric values keep their rightmost bytes and get leading
/// zeros; compressed numeric ones keep the leftmost and are padded with
/// `FF`; everything else keeps the leftmost and is padded with zeros.
fn fit(value: &[u8], len: usize, format: Format, out: &mut Vec<u8>) {
    use std::cmp::Ordering::*;
    match (value.len().cmp(&len), format) {
        (Equal, _) => out.extend_from_slice(value),
        (Greater, Format::N) => out.extend_from_slice(&value[value.len() - len..]),
        (Greater, _) => out.extend_from_slice(&value[..len]),
        (Less, Format::N) => {
            out.resize(out.len() + len - value.len(), 0);
            out.extend_from_slice(value);
        }
        (Less, fmt) => {
            out.extend_from_slice(value);
            let fill = if fmt == Format::Cn { 0xFF } else { 0x00 };
            out.resize(out.len() + len - value.len(), fill);
        }
    }
}
