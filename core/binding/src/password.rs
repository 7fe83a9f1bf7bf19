//! The admin password: a slow salted hash (PBKDF2-HMAC-SHA256), five wrong
//! tries lock it for thirty minutes. Time and salt come in from the caller.

use std::num::NonZeroU32;

use serde::{Deserialize, Serialize};

use crate::error::{BindingError, invalid};

/// Enough to make guessing a 6-digit password slow on a terminal, short
/// enough for a cashier to wait.
const ITERATIONS: u32 = 100_000;
const MAX_TRIES: u8 = 5;
const LOCK_SECONDS: u64 = 30 * 60;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminPassword {
    salt: Vec<u8>,
    hash: Vec<u8>,
    iterations: u32,
    failures: u8,
    locked_until: u64,
}

fn derive(password: &str, salt: &[u8], iterations: u32) -> [u8; 32] {
    let mut out = [0u8; 32];
    let rounds = NonZeroU32::new(iterations).unwrap_or(NonZeroU32::MIN);
    ring::pbkdf2::derive(
        ring::pbkdf2::PBKDF2_HMAC_SHA256,
        rounds,
        salt,
        password.as_bytes(),
        &mut out,
    );
    out
}

impl AdminPassword {
    /// A new password: 6 to 32 characters, not all the same digit.
    pub fn new(password: &str, salt: [u8; 16]) -> Result<Self, BindingError> {
        let n = password.chars().count();
        if !(6..=32).contains(&n) {
            return Err(invalid("admin password", "must be 6 to 32 characters"));
        }
        if password.chars().all(|c| password.starts_with(c)) {
            return Err(invalid("admin password", "must not repeat one character"));
        }
        Ok(Self {
            hash: derive(password, &salt, ITERATIONS).to_vec(),
            salt: salt.to_vec(),
            iterations: ITERATIONS,
            failures: 0,
            locked_until: 0,
        })
    }

    /// Checks a password at time `now` (unix seconds), counting failures.
    pub fn verify(&mut self, password: &str, now: u64) -> Result<(), BindingError> {
        if now < self.locked_until {
            return Err(BindingError::PasswordLocked {
                minutes: (self.locked_until - now).div_ceil(60),
            });
        }
        let candidate = derive(password, &self.salt, self.iterations);
        if poskit_crypto::constant_time_eq(&candidate, &self.hash) {
            self.failures = 0;
            return Ok(());
        }
        self.failures += 1;
        if self.failures >= MAX_TRIES {
            self.failures = 0;
            self.locked_until = now + LOCK_SECONDS;
            return Err(BindingError::PasswordLocked {
                minutes: LOCK_SECONDS / 60,
            });
        }
        Err(BindingError::WrongPassword {
            tries_left: MAX_TRIES - self.failures,
        })
    }

    pub fn change(&mut self, old: &str, new: &str, salt: [u8; 16], now: u64) -> Result<(), BindingError> {
        self.verify(old, now)?;
        *self = AdminPassword::new(new, salt)?;
        Ok(())
    }

    pub fn is_locked(&self, now: u64) -> bool {
        now < self.locked_until
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockout_after_five_wrong_tries() {
        let mut p = AdminPassword::new("246810", [1; 16]).unwrap();
        assert!(p.verify("246810", 0).is_ok());
        for left in [4, 3, 2, 1] {
            assert_eq!(
                p.verify("000000", 10).unwrap_err(),
                BindingError::WrongPassword { tries_left: left }
            );
        }
        assert_eq!(
            p.verify("000000", 10).unwrap_err(),
            BindingError::PasswordLocked { minutes: 30 }
        );
        // Even the right password is refused while locked.
        assert!(matches!(
            p.verify("246810", 100),
            Err(BindingError::PasswordLocked { .. })
        ));
        assert!(p.verify("246810", 10 + 30 * 60).is_ok());
        let text = format!("{p:?}");
        assert!(!text.contains("246810"));
    }

    #[test]
    fn rules_and_change() {
        assert!(AdminPassword::new("12345", [0; 16]).is_err());
        assert!(AdminPassword::new("111111", [0; 16]).is_err());
        let mut p = AdminPassword::new("246810", [1; 16]).unwrap();
        assert!(p.change("wrong!", "135790", [2; 16], 0).is_err());
        p.change("246810", "135790", [2; 16], 0).unwrap();
        assert!(p.verify("135790", 0).is_ok());
    }
}
