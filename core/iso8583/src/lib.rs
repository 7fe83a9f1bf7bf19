//! ISO 8583 for PosKit: messages, table-driven dialects (UnionPay POS
//! first, see `shared/specs/cup-pos-8583.md`), the transport frame, the
//! MAC block and the UnionPay sub-fields.
//!
//! Owns: the bytes of a host message and of its frame. Does not own:
//! sockets, timeouts and reversals (core/host), the MAC computation and
//! key handling (core/crypto), what the ICC data means (core/emv).
//!
//! Pure: no I/O, no clock. Nothing here panics on any input; every error
//! is a [`CodecError`] naming the field and the reason, and never quoting
//! field contents, which may be card data.
//!
//! ```
//! use poskit_iso8583::{Message, cup};
//!
//! let mut msg = Message::new(200);
//! msg.set_digits(3, "000000").set_digits(4, "000000001000").set_digits(11, "000123");
//! let bytes = cup().pack(&msg).unwrap();
//! assert_eq!(cup().unpack(&bytes).unwrap(), msg);
//! ```

mod bcd;
mod codec;
pub mod cup;
mod dialect;
mod error;
pub mod frame;
pub mod mac;
mod message;
pub mod sub;

pub use dialect::{Align, Dialect, FieldSpec, Format, Length, cup};
pub use error::CodecError;
pub use message::{Message, Mti, Value};
