//! PosKit: the Terminal, one API over the EMV kernel, the host link, the
//! store and the binding lifecycle. This is where I/O meets the sans-IO
//! cores: it reads the clock, talks to the network and the disk, and hands
//! the cores what they need.
//!
//! It holds the binding lifecycle ([`binding::BindingService`]), the
//! acquirer link and card flows ([`host::HostLink`], [`card`]), the QR
//! flows ([`qr::QrLink`]), receipts and the printer ([`receipt`]) and the
//! fault log ([`faults`]).

pub mod binding;
mod cancel;
pub mod card;
mod error;
pub mod faults;
pub mod host;
pub mod params;
pub mod qr;
pub mod receipt;

pub use binding::{BindingService, Report};
pub use cancel::Cancel;
pub use error::{Result, TerminalError};
pub use host::{Answer, HostLink, NoAnswer, Request, Settlement};

/// Unix seconds from the system clock.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
