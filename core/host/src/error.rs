//! The host crate's errors: what went wrong talking to a remote system, in
//! words a cashier or an integrator can act on. They never carry request or
//! response bodies (which may hold card numbers), only classifications.

use std::time::Duration;

/// Why a call to a remote system (the merchant platform, the acquirer,
/// the QR gateway) failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    /// The client configuration cannot work (bad URL, unreadable CA bundle).
    #[error("host link configuration: {0}")]
    Config(String),
    /// No connection could be made or it broke before an answer came.
    #[error("cannot reach the host: {0}; check the network connection and the host address")]
    Unreachable(String),
    /// No complete answer within the configured time.
    #[error("the host did not answer within {} s; try again later", .0.as_secs_f32())]
    Timeout(Duration),
    /// The secure connection could not be established or verified.
    #[error("secure connection to the host failed: {0}")]
    Tls(String),
    /// A non-success HTTP status without a platform error body.
    #[error("the platform answered HTTP {status}; try again later or contact support")]
    Http { status: u16 },
    /// The platform refused the request; `code` is stable (see
    /// `poskit_binding::platform::error_code`), `message` is the platform's.
    #[error("the platform refused the request ({code}): {message}")]
    Api { code: String, message: String },
    /// An answer that is not what the API defines.
    #[error("the platform's answer could not be understood: {0}")]
    BadResponse(String),
}

/// A failed exchange, and whether the request had left the terminal (and
/// so may have been processed: a financial request must then be reversed
/// or its outcome queried).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error} ({})", if *.request_sent { "the request may have reached the host" } else { "the request was not sent" })]
pub struct LinkFailure {
    pub error: HostError,
    pub request_sent: bool,
}

impl HostError {
    /// The platform's stable error code, for `Api` errors.
    pub fn api_code(&self) -> Option<&str> {
        match self {
            HostError::Api { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// Describes a JSON (de)serialisation error without quoting any of the
/// values it saw (serde_json's messages can quote them, and they may be
/// card numbers or payment codes). Public for the simulators, which
/// describe what they refuse the same way.
pub fn describe_json_error(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match e.classify() {
        Category::Io => "read error",
        Category::Syntax => "not valid JSON",
        Category::Eof => "JSON ended early",
        Category::Data => {
            let text = e.to_string();
            if text.starts_with("missing field") || text.starts_with("unknown variant") {
                // "missing field `name`": the field name only, no value.
                // "unknown variant `x`, expected ...": a name where the
                // protocol expects one of its own enum names (a state, a
                // wallet), never a secret.
                return text;
            }
            "a field has the wrong type or value"
        }
    };
    format!("{what} at line {} column {}", e.line(), e.column())
}
