//! Randomness comes in from the caller, like time does (DESIGN rule 1), so
//! tests and simulators can make PIN blocks and challenges reproducible.

use crate::error::{CryptoError, Result};

/// A source of random bytes.
pub trait RandomSource {
    fn fill(&mut self, buf: &mut [u8]) -> Result<()>;
}

/// The operating system's generator, through ring.
#[derive(Debug)]
pub struct SystemRandom(ring::rand::SystemRandom);

impl SystemRandom {
    pub fn new() -> Self {
        Self(ring::rand::SystemRandom::new())
    }
}

impl Default for SystemRandom {
    fn default() -> Self {
        Self::new()
    }
}

impl RandomSource for SystemRandom {
    fn fill(&mut self, buf: &mut [u8]) -> Result<()> {
        use ring::rand::SecureRandom;
        self.0.fill(buf).map_err(|_| CryptoError::Input {
            field: "random source",
            reason: "the operating system random generator failed; retry",
        })
    }
}

/// A fixed byte pattern, for tests and reproducible simulator runs only.
#[derive(Debug, Clone)]
pub struct FixedRandom(pub Vec<u8>);

impl RandomSource for FixedRandom {
    fn fill(&mut self, buf: &mut [u8]) -> Result<()> {
        if self.0.is_empty() {
            buf.fill(0);
        } else {
            buf.iter_mut()
                .zip(self.0.iter().cycle())
                .for_each(|(b, v)| *b = *v);
        }
        Ok(())
    }
}
