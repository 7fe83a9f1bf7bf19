//! Payment cryptography for PosKit.
//!
//! Owns: block ciphers (DES/TDES, AES, SM4) in ECB and CBC, MACs (ISO 9797-1
//! algorithms 1 and 3, CMAC, UnionPay ECB), ISO 9564 PIN blocks, key check
//! values and MK/SK key loading, DUKPT, EMV key derivation and cryptograms,
//! RSA recovery for offline data authentication, and the hashes EMV uses.
//!
//! Does not own: key storage (core/store) or any I/O. Randomness is passed
//! in as a [`RandomSource`]. Keys are zeroized on drop and redacted in
//! `Debug`; errors never carry key, PIN or PAN material.

mod cipher;
mod des;
pub mod dukpt;
pub mod emv;
mod error;
pub mod hash;
pub mod kcv;
mod key;
pub mod mac;
pub mod pin;
mod random;
pub mod rsa;

pub use cipher::{constant_time_eq, xor, xor_in_place};
pub use error::{CryptoError, Result};
pub use key::{Algorithm, SymmetricKey};
pub use random::{FixedRandom, RandomSource, SystemRandom};
