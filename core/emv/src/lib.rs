//! The PosKit EMV kernel: contact (EMV Books 3 and 4) and contactless (Book
//! A/B entry point with Visa, Mastercard and UnionPay QuickPass kernels),
//! as a sans-IO state machine.
//!
//! Owns: application selection, card data, offline data authentication,
//! cardholder verification, risk management, action analysis, the
//! cryptogram exchanges and the outcome. Does not own: talking to the card
//! or the host (the caller carries APDUs and host answers), clocks or
//! randomness (they come in with the transaction).

pub mod afl;
pub mod apdu;
mod authentication;
pub mod checks;
pub mod config;
mod contact;
mod contactless;
pub mod cvm;
pub mod data;
pub mod ec_balance;
mod error;
mod flow;
mod hexser;
mod kernel;
pub mod magstripe;
pub mod oda;
pub mod outcome;
mod read;
pub mod select;
pub mod transaction;
pub mod tvr;

pub use config::{
    AidParams, CaPublicKey, Config, ConfigError, ContactlessLimits, RevokedCertificate, TerminalParams,
};
pub use contactless::kernel_id;
pub use error::KernelError;
pub use kernel::Kernel;
pub use outcome::{CardholderData, CryptogramType, Cvm, Decision, Outcome, ReceiptData, mask_pan};
pub use select::Candidate;
pub use transaction::{
    Action, Input, Interface, Message, OnlineRequest, OnlineResponse, PinEntry, PinKind, PinRequest,
    TransactionParams, transaction_type,
};
pub use tvr::{Tsi, Tvr, TvrBit};
