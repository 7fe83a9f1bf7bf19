//! What can go wrong talking to the QR gateway, sorted by what the
//! terminal must do next. Never carries a payment code or a body.

use super::api::ErrorCode;
use crate::error::LinkFailure;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// The client configuration cannot work (bad URL, CA bundle, key,
    /// terminal id). Nothing was sent.
    #[error("QR gateway configuration: {0}")]
    Config(String),
    /// The request itself breaks the protocol's rules (an order number of
    /// the wrong shape, a zero amount). Nothing was sent.
    #[error("the QR gateway request is invalid: {0}; nothing was sent")]
    InvalidRequest(String),
    /// The gateway refused the request in a signed answer (or, for
    /// `bad_signature` and `unknown_terminal`, in an answer it could not
    /// sign for this terminal).
    #[error("the QR gateway refused the request ({code}): {message}")]
    Refused { code: ErrorCode, message: String },
    /// No answer: the connection failed, broke or timed out.
    /// [`LinkFailure::request_sent`] tells whether the request may have
    /// reached the gateway (then query before anything else).
    #[error("no answer from the QR gateway: {0}")]
    Transport(LinkFailure),
    /// An answer whose signature does not verify (or is missing): it may
    /// not come from the gateway, so it counts as no answer. The outcome is
    /// unknown: query the order.
    #[error("the QR gateway's answer carries no valid signature; the outcome is unknown: query the order")]
    UnverifiedAnswer,
    /// A signed answer that is not what the protocol defines. The outcome
    /// is unknown: query the order.
    #[error("the QR gateway's answer could not be understood ({0}); the outcome is unknown: query the order")]
    BadResponse(String),
}

impl GatewayError {
    /// The gateway's error code, for refusals.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            GatewayError::Refused { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// Whether the request may have been carried out although no usable
    /// answer says so: resolve it by query (and for a payment, never by
    /// paying again under a new order number).
    pub fn outcome_unknown(&self) -> bool {
        match self {
            GatewayError::Config(_) | GatewayError::InvalidRequest(_) => false,
            GatewayError::Refused { code, .. } => matches!(code, ErrorCode::SystemError | ErrorCode::Unknown),
            GatewayError::Transport(failure) => failure.request_sent,
            GatewayError::UnverifiedAnswer | GatewayError::BadResponse(_) => true,
        }
    }

    /// Whether the request may have reached the gateway.
    pub fn request_sent(&self) -> bool {
        match self {
            GatewayError::Config(_) | GatewayError::InvalidRequest(_) => false,
            GatewayError::Transport(failure) => failure.request_sent,
            GatewayError::Refused { .. } | GatewayError::UnverifiedAnswer | GatewayError::BadResponse(_) => {
                true
            }
        }
    }
}

impl From<LinkFailure> for GatewayError {
    fn from(failure: LinkFailure) -> Self {
        GatewayError::Transport(failure)
    }
}
