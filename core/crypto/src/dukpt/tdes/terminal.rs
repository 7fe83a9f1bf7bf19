//! The terminal (originating device) side of TDES DUKPT, X9.24-1:2009 A.2.
//!
//! The device keeps one future key per counter bit. The key for the current
//! counter sits in the register of its lowest one-bit; after use, the
//! device derives from it the keys for the counter values just below the
//! next carry, then erases it. So the device never holds a key from which
//! an earlier transaction key could be recomputed.

use std::fmt;

use zeroize::Zeroizing;

use super::{
    COUNTER_BITS, KSN_LEN, KeyVariant, MAX_COUNTER_ONES, check_double_length, counter_of, ksn_register,
    non_reversible_step, parse_ksn, variant_key,
};
use crate::error::{CryptoError, Result};
use crate::key::SymmetricKey;

/// The registers of a TDES DUKPT PIN pad, loaded with an IPEK. Future keys
/// are zeroized when used and on drop, and never shown by `Debug`.
pub struct Terminal {
    /// The KSN with the counter the next transaction will use.
    ksn: [u8; KSN_LEN],
    /// The counter as a number; may run past 21 bits when exhausted.
    counter: u32,
    /// Future key registers, index = counter bit position.
    future: [Option<Zeroizing<[u8; 16]>>; COUNTER_BITS as usize],
}

/// One transaction's key and the KSN to send with it.
#[derive(Debug)]
pub struct TransactionKey {
    pub ksn: [u8; KSN_LEN],
    pub key: SymmetricKey,
}

impl TransactionKey {
    /// A working key of this transaction (PIN, MAC or data).
    pub fn variant(&self, variant: KeyVariant) -> Result<SymmetricKey> {
        variant_key(&self.key, variant)
    }
}

impl Terminal {
    /// Loads the IPEK with its initial KSN ("Load Initial Key", A.2). The
    /// KSN's counter must be zero: a device starts at the beginning.
    pub fn new(ipek: &SymmetricKey, initial_ksn: &[u8]) -> Result<Self> {
        let ipek = check_double_length(ipek, "TDES DUKPT")?;
        let ksn = parse_ksn(initial_ksn)?;
        if counter_of(&ksn) != 0 {
            return Err(CryptoError::Ksn(
                "an initial KSN has a zero transaction counter; give the KSN the IPEK was loaded with",
            ));
        }
        let mut terminal = Self {
            ksn,
            counter: 0,
            future: Default::default(),
        };
        terminal.fill_future_keys(&ipek, COUNTER_BITS)?;
        terminal.set_counter(1);
        Ok(terminal)
    }

    /// The KSN the next transaction will carry.
    pub fn ksn(&self) -> [u8; KSN_LEN] {
        self.ksn
    }

    /// The key for the next transaction, and the registers advanced past it
    /// ("Request PIN Entry" then "New Key", A.2). Fails once the counter
    /// has run out; the device then needs a new initial key.
    pub fn next_transaction(&mut self) -> Result<TransactionKey> {
        let (bit, key) = loop {
            if self.counter == 0 || self.counter >> COUNTER_BITS != 0 {
                return Err(CryptoError::KeysExhausted);
            }
            let bit = self.counter.trailing_zeros();
            match self.future[bit as usize].take() {
                Some(key) => break (bit, key),
                // An erased or damaged register: skip its counter values.
                None => self.set_counter(self.counter + (1 << bit)),
            }
        };
        let used = TransactionKey {
            ksn: self.ksn,
            key: SymmetricKey::tdes(&key[..])?,
        };
        if self.counter.count_ones() < MAX_COUNTER_ONES {
            self.fill_future_keys(&key, bit)?;
            self.set_counter(self.counter + 1);
        } else {
            // Any smaller step would give a counter with too many one-bits.
            self.set_counter(self.counter + (1 << bit));
        }
        Ok(used)
    }

    /// Derives the future keys for the counter bits below `top` from `key`,
    /// each for the current KSN register with that bit added.
    fn fill_future_keys(&mut self, key: &[u8; 16], top: u32) -> Result<()> {
        let register = ksn_register(&self.ksn) | u64::from(self.counter);
        for bit in (0..top).rev() {
            let derived = non_reversible_step(key, register | (1u64 << bit))?;
            self.future[bit as usize] = Some(derived);
        }
        Ok(())
    }

    pub(super) fn set_counter(&mut self, counter: u32) {
        self.counter = counter;
        let field = (counter & ((1 << COUNTER_BITS) - 1)).to_be_bytes();
        self.ksn[7] = (self.ksn[7] & 0xE0) | field[1];
        self.ksn[8] = field[2];
        self.ksn[9] = field[3];
    }
}

impl fmt::Debug for Terminal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let loaded = self.future.iter().filter(|k| k.is_some()).count();
        f.debug_struct("Terminal")
            .field("ksn", &self.ksn)
            .field("future_keys", &format_args!("{loaded} loaded, redacted"))
            .finish()
    }
}
