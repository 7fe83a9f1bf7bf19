//! The PosKit EMV kernel: contact (EMV Books 3 and 4) and contactless (Book
//! A/B entry point with Visa, Mastercard and UnionPay QuickPass kernels),
//! as a sans-IO state machine.
//!
//! Owns: application selection, card data, offline data authentication,
//! cardholder verification, risk management, action analysis, the
//! cryptogram exchanges and the outcome. Does not own: talking to the card
//! or the host (the caller carries APDUs and host answers), clocks or
//! randomness (they come in with the transaction).

pub mod config;
mod hexser;
pub mod oda;

pub use config::{
    AidParams, CaPublicKey, Config, ConfigError, ContactlessLimits, RevokedCertificate, TerminalParams,
};
