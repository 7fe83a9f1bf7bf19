//! Simulators for integrators and tests: virtual cards that behave like
//! real ones, a recorder and replayer of card sessions, and the remote
//! systems a terminal talks to, on loopback.
//!
//! Owns: [`virtual_card`] (EMV card applications answering APDUs, with the
//! issuer-side conventions a host simulator needs), [`ca`] (test CA keys
//! and a kernel configuration that trusts them), [`rsa_key`] (the private
//! RSA operation only simulators need), the network simulators
//! [`platform`] (merchant platform), [`acquirer`] (card host, with the
//! closed-loop prepaid accounts of docs/prepaid.md) and
//! [`gateway`] (QR payment gateway and its wallets), which share one TEST
//! ONLY certificate and one server plumbing. Does not own: the kernel, the
//! terminal-side checks (core/emv), or the clients (`poskit-host`, whose
//! gateway wire types the gateway simulator uses).
//!
//! Test certification-authority keys live here and in test configuration
//! only; nothing in the kernel trusts them unless configured to.

pub mod acquirer;
pub mod ca;
pub mod card;
mod certs;
pub mod driver;
pub mod gateway;
pub mod issuer;
mod net;
pub mod platform;
pub mod rsa_key;
pub mod transcript;
pub mod virtual_card;

pub use card::{Card, CardError};
pub use rsa_key::RsaKeyPair;
pub use virtual_card::{Profile, VirtualCard};
