//! BER-TLV for EMV: decoding that borrows from the input, encoding, data
//! object lists (PDOL, CDOL1/2, DDOL, TDOL) and the tag dictionary.
//!
//! Owns: the byte-level format of EMV data objects and what each tag means.
//! Does not own: what to do with them (core/emv). Nothing here panics on
//! any input; every parse returns a typed error with the offset.

mod decode;
pub mod dictionary;
mod dol;
mod encode;
mod error;
mod tag;

pub use decode::{MAX_DEPTH, Tlv, TlvIter, find, parse, parse_without_filler, primitives, validate};
pub use dictionary::{Format, Source, TagInfo, lookup};
pub use dol::{Dol, DolEntry};
pub use encode::{Node, encode, encode_all, write_length, write_tlv};
pub use error::{ErrorKind, TlvError};
pub use tag::{Tag, TagClass};
