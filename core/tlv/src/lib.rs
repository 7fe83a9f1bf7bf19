//! BER-TLV for EMV: decoding that borrows from the input, encoding, data
//! object lists (PDOL, CDOL1/2, DDOL, TDOL) and the tag dictionary.
//!
//! Owns: the byte-level format of EMV data objects and what each tag means.
//! Does not own: what to do with them (core/emv). Nothing here panics on
//! any input; every parse returns a typed error with the offset.

pub mod dictionary;
mod error;
mod tag;

pub use dictionary::{Format, Source, TagInfo, lookup};
pub use error::{ErrorKind, TlvError};
pub use tag::{Tag, TagClass};
