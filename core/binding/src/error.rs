//! Why a binding operation was refused. Messages say what to do and never
//! carry a card number, a password or a key.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BindingError {
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("not possible now: the terminal is {state}; {hint}")]
    WrongState { state: &'static str, hint: &'static str },
    #[error("admin password is wrong ({tries_left} tries left before a 30-minute lock)")]
    WrongPassword { tries_left: u8 },
    #[error("admin password is locked for {minutes} more minutes after too many wrong tries")]
    PasswordLocked { minutes: u64 },
    #[error("the merchant number does not match this terminal")]
    WrongMerchant,
    #[error("unbinding refused: {0}; settle and clear pending reversals first")]
    Unsettled(&'static str),
    #[error("settlement card changed {count} times in the last {days} days; the limit is {limit}")]
    TooManyCardChanges { count: usize, limit: usize, days: u64 },
    #[error("a {0} is already waiting for the platform")]
    Busy(&'static str),
    #[error("the platform refused: {message} ({code})")]
    Refused { code: String, message: String },
    #[error("the platform's answer does not fit the request: {0}")]
    UnexpectedReply(&'static str),
}

pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> BindingError {
    BindingError::Invalid {
        field,
        reason: reason.into(),
    }
}
