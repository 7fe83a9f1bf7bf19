//! Derived Unique Key Per Transaction (DUKPT): every transaction of a PIN
//! pad gets its own key, which the host re-derives from the base
//! derivation key (BDK) and the key serial number (KSN) sent with it.
//!
//! - [`tdes`]: ANSI X9.24-1:2009, TDES DUKPT with a 10-byte KSN; host side
//!   (any KSN's keys from the BDK) and terminal side (the future-key
//!   registers that step through the counter).
//! - [`aes`]: ANSI X9.24-3:2017, AES DUKPT with a 12-byte KSN; host side.

pub mod aes;
pub mod tdes;

use crate::error::{CryptoError, Result};

/// Checks a KSN's length and returns it as a fixed array.
fn fixed_ksn<const N: usize>(ksn: &[u8], wrong_length: &'static str) -> Result<[u8; N]> {
    ksn.try_into().map_err(|_| CryptoError::Ksn(wrong_length))
}

/// The transaction counter rules both standards share: zero is the
/// initial-key state (no transaction uses it) and a counter with more
/// one-bits than the device has registers is one the device skips.
fn check_counter(counter: u32, max_ones: u32, too_many_ones: &'static str) -> Result<()> {
    if counter == 0 {
        return Err(CryptoError::Ksn(
            "transaction counter is zero: that is the initial KSN, not one a transaction uses",
        ));
    }
    if counter.count_ones() > max_ones {
        return Err(CryptoError::Ksn(too_many_ones));
    }
    Ok(())
}
