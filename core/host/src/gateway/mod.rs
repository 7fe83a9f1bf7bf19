//! The QR payment gateway client (docs/qr-gateway.md): signed HTTPS JSON,
//! one request per connection, every endpoint typed.
//!
//! ```no_run
//! # async fn demo(ca_pem: String) -> Result<(), poskit_host::GatewayError> {
//! use poskit_host::gateway::{AuthCode, GatewayClient, GatewayConfig, GatewayKey, MicropayRequest};
//! let key = GatewayKey::from_hex("00112233445566778899aabbccddeeff")?;
//! let client = GatewayClient::new(GatewayConfig::new("https://127.0.0.1:7444", ca_pem, "QRDEMO01", key))?;
//! let status = client
//!     .micropay(&MicropayRequest {
//!         order_no: "20240101-0001".into(),
//!         auth_code: AuthCode::new("134567890123456789"),
//!         amount: 1999,
//!         currency: "CNY".into(),
//!         description: "Lucky Noodles".into(),
//!     })
//!     .await?;
//! # let _ = status; Ok(()) }
//! ```
//!
//! # What a caller does with an error
//!
//! - [`GatewayError::outcome_unknown`] true (no answer after the request
//!   may have arrived, an answer whose signature does not verify, a signed
//!   answer that makes no sense, `system_error`): query the order
//!   ([`GatewayClient::query`], [`GatewayClient::query_refund`]) until it
//!   says; never retry a payment under a new order number.
//! - A [`GatewayError::Refused`] with any other code: the gateway did
//!   nothing; the code says why.
//! - [`GatewayError::Config`] and [`GatewayError::InvalidRequest`]:
//!   nothing left the terminal.
//!
//! Answers are checked before they are believed: the signature, then the
//! shape, then that they speak of the order (or refund) asked about.
//! Bodies are never logged: a micropay request carries the customer's
//! payment code, a bearer token.

mod api;
mod error;
mod signing;

use std::fmt;
use std::time::Duration;

use hyper::Method;
use hyper::body::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use api::{
    ApiError, AuthCode, CreateOrderRequest, CreatedOrder, Endpoint, ErrorCode, FailReason, MicropayRequest,
    OrderRef, OrderState, OrderStatus, RefundRef, RefundRequest, RefundState, RefundStatus, SIGNATURE_HEADER,
    TERMINAL_HEADER, Wallet, is_valid_currency, is_valid_reference,
};
pub use error::GatewayError;
pub use signing::GatewayKey;

use crate::error::{HostError, describe_json_error};
use crate::https::{HttpsConfig, HttpsTarget};

/// The longest gateway message passed on in an error.
const MAX_MESSAGE_CHARS: usize = 200;

/// Where the gateway is, how to trust it, and who the terminal is.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// `https://host:port` (optionally with a path prefix).
    pub base_url: String,
    /// The CA certificates (PEM) the gateway's certificate must chain to.
    pub ca_pem: String,
    /// SHA-256 of the gateway certificate's SubjectPublicKeyInfo; when
    /// set, the certificate must also carry exactly this key.
    pub pinned_spki_sha256: Option<[u8; 32]>,
    /// The terminal id the gateway knows the terminal by: 1 to 32
    /// characters of `[A-Za-z0-9_-]`.
    pub terminal_id: String,
    /// The terminal's gateway key, issued at binding.
    pub key: GatewayKey,
    /// Connecting, and the TLS handshake, each must finish within this.
    pub connect_timeout: Duration,
    /// The whole call (connect, handshake, request, answer) must finish
    /// within this; after it the outcome is unknown if the request left.
    pub timeout: Duration,
}

impl GatewayConfig {
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);

    /// A configuration with the default timeouts and no pin.
    pub fn new(
        base_url: impl Into<String>,
        ca_pem: impl Into<String>,
        terminal_id: impl Into<String>,
        key: GatewayKey,
    ) -> Self {
        Self {
            base_url: base_url.into(),
            ca_pem: ca_pem.into(),
            pinned_spki_sha256: None,
            terminal_id: terminal_id.into(),
            key,
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            timeout: Self::DEFAULT_TIMEOUT,
        }
    }
}

/// The QR gateway client. Cheap to clone; each call opens its own
/// connection.
#[derive(Clone)]
pub struct GatewayClient {
    target: HttpsTarget,
    terminal_id: String,
    key: GatewayKey,
}

impl fmt::Debug for GatewayClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatewayClient")
            .field("target", &self.target)
            .field("terminal_id", &self.terminal_id)
            .finish_non_exhaustive()
    }
}

fn invalid(what: &str) -> GatewayError {
    GatewayError::InvalidRequest(what.to_owned())
}

fn check_reference(field: &str, value: &str) -> Result<(), GatewayError> {
    if is_valid_reference(value) {
        Ok(())
    } else {
        Err(invalid(&format!(
            "the {field} must be 6 to 32 characters of letters, digits, '_' and '-'"
        )))
    }
}

fn check_amount(amount: u64, currency: &str) -> Result<(), GatewayError> {
    if amount == 0 {
        return Err(invalid("the amount must be more than zero"));
    }
    if !is_valid_currency(currency) {
        return Err(invalid("the currency must be an ISO 4217 code such as CNY"));
    }
    Ok(())
}

impl GatewayClient {
    pub fn new(config: GatewayConfig) -> Result<Self, GatewayError> {
        let id = &config.terminal_id;
        if id.is_empty()
            || id.len() > 32
            || !id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(GatewayError::Config(
                "the terminal id must be 1 to 32 characters of letters, digits, '_' and '-'".into(),
            ));
        }
        let target = HttpsTarget::new(HttpsConfig {
            what: "gateway",
            base_url: &config.base_url,
            ca_pem: &config.ca_pem,
            pinned_spki_sha256: config.pinned_spki_sha256,
            // The signature protects the body, TLS the code in it from
            // being read: no plaintext mode.
            allow_plaintext: false,
            connect_timeout: config.connect_timeout,
            timeout: config.timeout,
        })
        .map_err(|e| match e {
            HostError::Config(reason) => GatewayError::Config(reason),
            other => GatewayError::Config(other.to_string()),
        })?;
        Ok(Self {
            target,
            terminal_id: config.terminal_id,
            key: config.key,
        })
    }

    pub fn terminal_id(&self) -> &str {
        &self.terminal_id
    }

    /// `POST /v1/micropay`: charges the payment code the customer shows.
    /// `paid`, `user_paying` (query until it changes, then cancel at the
    /// deadline) or `failed` with a reason. `duplicate_order` means the
    /// number was used: query it.
    pub async fn micropay(&self, request: &MicropayRequest) -> Result<OrderStatus, GatewayError> {
        check_reference("order number", &request.order_no)?;
        check_amount(request.amount, &request.currency)?;
        let code = request.auth_code.reveal();
        if code.is_empty() || code.len() > 64 || !code.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(invalid(
                "the payment code must be 1 to 64 letters or digits; scan it again",
            ));
        }
        let status: OrderStatus = self.call(Endpoint::Micropay, request).await?;
        same_order(&status.order_no, &request.order_no)?;
        Ok(status)
    }

    /// `POST /v1/orders`: creates an order whose code the terminal shows.
    pub async fn create_order(&self, request: &CreateOrderRequest) -> Result<CreatedOrder, GatewayError> {
        check_reference("order number", &request.order_no)?;
        check_amount(request.amount, &request.currency)?;
        if request.expires_in == 0 {
            return Err(invalid("the code must stay valid for at least a second"));
        }
        let created: CreatedOrder = self.call(Endpoint::CreateOrder, request).await?;
        same_order(&created.order_no, &request.order_no)?;
        Ok(created)
    }

    /// `POST /v1/orders/query`: where an order stands; `not_found` when the
    /// gateway never saw it (an answer, not an error).
    pub async fn query(&self, order_no: &str) -> Result<OrderStatus, GatewayError> {
        self.order_call(Endpoint::Query, order_no).await
    }

    /// `POST /v1/orders/cancel`: reverses a micropay (stops a payment
    /// waiting for the customer; refunds a charge in full). Idempotent.
    pub async fn cancel(&self, order_no: &str) -> Result<OrderStatus, GatewayError> {
        self.order_call(Endpoint::Cancel, order_no).await
    }

    /// `POST /v1/orders/close`: closes an unpaid shown-code order.
    /// `order_paid` means the customer paid meanwhile: the order is paid.
    pub async fn close(&self, order_no: &str) -> Result<OrderStatus, GatewayError> {
        self.order_call(Endpoint::Close, order_no).await
    }

    /// `POST /v1/refunds`: refunds part or all of a paid order. Idempotent
    /// by refund number: resend the same request after an unknown outcome.
    pub async fn refund(&self, request: &RefundRequest) -> Result<RefundStatus, GatewayError> {
        check_reference("order number", &request.order_no)?;
        check_reference("refund number", &request.refund_no)?;
        if request.amount == 0 {
            return Err(invalid("the refund amount must be more than zero"));
        }
        let status: RefundStatus = self.call(Endpoint::Refund, request).await?;
        same_refund(&status, &request.refund_no)?;
        if status.order_no.as_deref().is_some_and(|o| o != request.order_no) {
            return Err(GatewayError::BadResponse(
                "the answer speaks of another order".into(),
            ));
        }
        Ok(status)
    }

    /// `POST /v1/refunds/query`: where a refund stands; `not_found` when
    /// the gateway never saw it.
    pub async fn query_refund(&self, refund_no: &str) -> Result<RefundStatus, GatewayError> {
        check_reference("refund number", refund_no)?;
        let status: RefundStatus = self
            .call(
                Endpoint::RefundQuery,
                &RefundRef {
                    refund_no: refund_no.to_owned(),
                },
            )
            .await?;
        same_refund(&status, refund_no)?;
        Ok(status)
    }

    async fn order_call(&self, endpoint: Endpoint, order_no: &str) -> Result<OrderStatus, GatewayError> {
        check_reference("order number", order_no)?;
        let request = OrderRef {
            order_no: order_no.to_owned(),
        };
        let status: OrderStatus = self.call(endpoint, &request).await?;
        same_order(&status.order_no, order_no)?;
        Ok(status)
    }

    /// Signs and sends one request; verifies and decodes the answer.
    async fn call<Q: Serialize, R: DeserializeOwned>(
        &self,
        endpoint: Endpoint,
        request: &Q,
    ) -> Result<R, GatewayError> {
        let body = serde_json::to_vec(request).map_err(|e| {
            GatewayError::InvalidRequest(format!("cannot encode it: {}", describe_json_error(&e)))
        })?;
        let path = endpoint.path();
        let signature = self.key.sign_request(path, &body);
        let headers = [
            (TERMINAL_HEADER, self.terminal_id.as_str()),
            (SIGNATURE_HEADER, signature.as_str()),
        ];
        let answer = self
            .target
            .request(Method::POST, path, &headers, Bytes::from(body))
            .await?;
        let status = answer.status.as_u16();
        let verified = answer
            .headers
            .get(SIGNATURE_HEADER)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|signature| self.key.verify_answer(status, &answer.body, signature));
        if answer.status.is_success() {
            if !verified {
                log::warn!("gateway {path}: answer {status} with no valid signature; outcome unknown");
                return Err(GatewayError::UnverifiedAnswer);
            }
            return serde_json::from_slice(&answer.body)
                .map_err(|e| GatewayError::BadResponse(describe_json_error(&e)));
        }
        let refusal = serde_json::from_slice::<ApiError>(&answer.body).ok();
        match refusal {
            Some(api)
                if verified || (api.code.is_authentication_failure() && api.code.http_status() == status) =>
            {
                Err(GatewayError::Refused {
                    code: api.code,
                    message: api.message.chars().take(MAX_MESSAGE_CHARS).collect(),
                })
            }
            _ if !verified => {
                log::warn!("gateway {path}: answer {status} with no valid signature; outcome unknown");
                Err(GatewayError::UnverifiedAnswer)
            }
            _ => Err(GatewayError::BadResponse(format!(
                "HTTP {status} without an error body"
            ))),
        }
    }
}

fn same_order(answered: &str, asked: &str) -> Result<(), GatewayError> {
    if answered == asked {
        Ok(())
    } else {
        Err(GatewayError::BadResponse(
            "the answer speaks of another order".into(),
        ))
    }
}

fn same_refund(status: &RefundStatus, asked: &str) -> Result<(), GatewayError> {
    if status.refund_no == asked {
        Ok(())
    } else {
        Err(GatewayError::BadResponse(
            "the answer speaks of another refund".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> GatewayKey {
        GatewayKey::new(&[7; 32]).unwrap()
    }

    #[test]
    fn configuration_is_checked() {
        let bad_id = GatewayClient::new(GatewayConfig::new(
            "https://127.0.0.1:1",
            "",
            "id with space",
            key(),
        ));
        assert!(matches!(bad_id, Err(GatewayError::Config(m)) if m.contains("terminal id")));
        let plain = GatewayClient::new(GatewayConfig::new("http://127.0.0.1:1", "", "T1", key()));
        assert!(matches!(plain, Err(GatewayError::Config(m)) if m.contains("http")));
        let no_ca = GatewayClient::new(GatewayConfig::new("https://127.0.0.1:1", "", "T1", key()));
        assert!(matches!(no_ca, Err(GatewayError::Config(m)) if m.contains("no certificate")));
    }

    #[test]
    fn the_key_stays_out_of_debug() {
        let config = GatewayConfig::new("https://127.0.0.1:1", "", "T1", key());
        assert!(!format!("{config:?}").contains("7, 7"));
        assert!(format!("{config:?}").contains("redacted"));
    }

    #[test]
    fn what_to_do_follows_from_the_error() {
        let refused = |code| GatewayError::Refused {
            code,
            message: String::new(),
        };
        assert!(!refused(ErrorCode::DuplicateOrder).outcome_unknown());
        assert!(refused(ErrorCode::SystemError).outcome_unknown());
        assert!(refused(ErrorCode::Unknown).outcome_unknown());
        assert!(GatewayError::UnverifiedAnswer.outcome_unknown());
        let lost = |request_sent| {
            GatewayError::Transport(crate::LinkFailure {
                error: HostError::Timeout(Duration::from_secs(1)),
                request_sent,
            })
        };
        assert!(lost(true).outcome_unknown() && lost(true).request_sent());
        assert!(!lost(false).outcome_unknown() && !lost(false).request_sent());
        assert!(!invalid("x").request_sent());
    }
}
