//! The facade's error: what went wrong and what to do, from every layer.

use poskit_binding::BindingError;
use poskit_host::HostError;
use poskit_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum TerminalError {
    #[error(transparent)]
    Binding(#[from] BindingError),
    #[error("merchant platform: {0}")]
    Platform(#[from] HostError),
    #[error("terminal storage: {0}")]
    Store(#[from] StoreError),
    #[error("key loading failed: {0}; ask the platform to resend the key")]
    Key(#[from] poskit_crypto::CryptoError),
    /// A file could not be read or written.
    #[error("{0}")]
    Io(String),
    /// The card could not be read (an unreadable stripe, a failing
    /// reader): read it again.
    #[error("{0}")]
    CardRead(String),
    /// The terminal must be bound or signed in first.
    #[error("{0}")]
    NotReady(String),
    /// The card needs another way in (insert the chip, enter the PIN).
    /// Nothing is wrong; nothing was sent.
    #[error("{0}")]
    CardholderAction(String),
    /// A working key the operation needs is not in the vault.
    #[error("{0}")]
    NoKey(String),
    /// A setting or downloaded parameter the terminal cannot work with.
    #[error("{0}")]
    Config(String),
    /// The acquirer refused an administrative request or answered with a
    /// message the terminal cannot use.
    #[error("{0}")]
    Acquirer(String),
    /// An answer's MAC did not verify.
    #[error("{0}")]
    BadMac(String),
    #[error("printer: {0}")]
    Printer(#[from] crate::receipt::PrinterError),
    /// There is nothing to print for this transaction or order.
    #[error("no receipt: {0}")]
    NoReceipt(String),
    /// A scanned code no wallet issues; nothing was sent.
    #[error("{0}")]
    PaymentCode(#[from] poskit_qr::CodeError),
    #[error("QR gateway: {0}")]
    Gateway(#[from] poskit_host::GatewayError),
    #[error("QR code: {0}")]
    Qr(String),
    #[error("cancelled by the cashier; nothing was sent")]
    Cancelled,
    /// A risk rule refused the request before it was journaled or sent;
    /// the risk decision is its record.
    #[error("declined by risk control ({rule}): {reason}; ask for another payment method")]
    RiskBlocked { rule: String, reason: String },
    /// The risk configuration cannot be used as it is.
    #[error("risk rules: {0}; correct the risk configuration")]
    RiskRules(String),
}

impl From<poskit_host::LinkFailure> for TerminalError {
    fn from(f: poskit_host::LinkFailure) -> Self {
        TerminalError::Platform(f.error)
    }
}

pub type Result<T> = std::result::Result<T, TerminalError>;
