//! PosKit: the Terminal, one API over the EMV kernel, the host link, the
//! store and the binding lifecycle. This is where I/O meets the sans-IO
//! cores: it reads the clock, talks to the network and the disk, and hands
//! the cores what they need.
//!
//! It holds the binding lifecycle ([`binding::BindingService`]), the
//! acquirer link and card flows ([`host::HostLink`], [`card`]), the
//! closed-loop prepaid cards and the PBOC electronic cash balance
//! ([`prepaid`]), the QR flows ([`qr::QrLink`]), the risk rules checked
//! before a request goes out ([`risk::RiskEngine`]), receipts and the
//! printer ([`receipt`]), the fault log ([`faults`]), and the [`Terminal`]
//! over all of them with the app's devices ([`devices`]) and screen events
//! ([`events`]).

pub mod binding;
mod cancel;
pub mod card;
pub mod devices;
mod error;
pub mod events;
pub mod faults;
pub mod host;
pub mod params;
pub mod prepaid;
pub mod qr;
pub mod receipt;
pub mod risk;
#[cfg(feature = "sim")]
pub mod sim;
mod terminal;

pub use binding::{BindingService, Report};
pub use cancel::Cancel;
pub use error::{Result, TerminalError};
pub use events::{PaymentMethod, TerminalEvent};
pub use host::{Answer, HostLink, NoAnswer, Request, Settlement};
pub use terminal::{
    Devices, PrepaidCardInput, PrepaidOp, Reference, SaleMethod, SettlementReport, SignIn, Terminal,
    TerminalConfig, TxnOutcome, TxnStatus, TxnSummary,
};

/// Unix seconds from the system clock.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
