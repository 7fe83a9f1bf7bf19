//! The merchant platform client: HTTPS + JSON over one connection per
//! request, with the API of `poskit_binding::platform` (see the endpoint
//! table there).
//!
//! ```no_run
//! # async fn demo(ca_pem: String) -> Result<(), poskit_host::HostError> {
//! use poskit_host::{PlatformClient, PlatformConfig};
//! let client = PlatformClient::new(PlatformConfig::new("https://127.0.0.1:8443", ca_pem))?;
//! let status = client.application_status("A0000000001").await?;
//! # let _ = status; Ok(()) }
//! ```
//!
//! Bodies are never logged: an application and a settlement card change
//! carry a bank card number.

use std::fmt;
use std::time::Duration;

use hyper::Method;
use hyper::body::Bytes;
use poskit_binding::platform::{
    Ack, ApiError, ApplicationRequest, ApplicationStatus, BindRequest, BindResponse, CardChangeRequest,
    CardChangeStatus, OtpRequest, OtpSent, PaymentMethodRequest, ReplaceRequest, ReplaceResponse,
    UnbindRequest,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{HostError, describe_json_error};
use crate::https::{HttpsConfig, HttpsTarget};

/// Where the platform is and how to trust it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformConfig {
    /// `https://host:port` (optionally with a path prefix such as `/api`).
    pub base_url: String,
    /// The CA certificates (PEM) the platform's certificate must chain to.
    pub ca_pem: String,
    /// SHA-256 of the platform certificate's SubjectPublicKeyInfo; when set,
    /// the certificate must also carry exactly this key.
    pub pinned_spki_sha256: Option<[u8; 32]>,
    /// The whole request (connect, handshake, request, answer) must finish
    /// within this time.
    pub timeout: Duration,
    /// Allow an `http://` base URL (no TLS). Only for local development.
    pub allow_plaintext: bool,
}

impl PlatformConfig {
    /// The default timeout: 15 s.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

    /// A configuration with the default timeout, no pin, TLS required.
    pub fn new(base_url: impl Into<String>, ca_pem: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            ca_pem: ca_pem.into(),
            pinned_spki_sha256: None,
            timeout: Self::DEFAULT_TIMEOUT,
            allow_plaintext: false,
        }
    }
}

/// The merchant platform client. Cheap to clone; each call opens its own
/// connection.
#[derive(Clone)]
pub struct PlatformClient {
    target: HttpsTarget,
}

impl fmt::Debug for PlatformClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlatformClient")
            .field("target", &self.target)
            .finish()
    }
}

impl PlatformClient {
    pub fn new(config: PlatformConfig) -> Result<Self, HostError> {
        let target = HttpsTarget::new(HttpsConfig {
            what: "platform",
            base_url: &config.base_url,
            ca_pem: &config.ca_pem,
            pinned_spki_sha256: config.pinned_spki_sha256,
            allow_plaintext: config.allow_plaintext,
            // One deadline for the whole request, as documented.
            connect_timeout: config.timeout,
            timeout: config.timeout,
        })?;
        Ok(Self { target })
    }

    /// POST /v1/applications: submits an onboarding application.
    pub async fn submit_application(
        &self,
        request: &ApplicationRequest,
    ) -> Result<ApplicationStatus, HostError> {
        self.call(Method::POST, "/v1/applications".into(), Some(request))
            .await
    }

    /// GET /v1/applications/{id}: the review state of an application.
    pub async fn application_status(&self, application_id: &str) -> Result<ApplicationStatus, HostError> {
        let path = format!("/v1/applications/{}", encode_segment(application_id));
        self.call::<(), _>(Method::GET, path, None).await
    }

    /// POST /v1/devices/bind: binds a device to an approved merchant.
    pub async fn bind(&self, request: &BindRequest) -> Result<BindResponse, HostError> {
        self.call(Method::POST, "/v1/devices/bind".into(), Some(request))
            .await
    }

    /// POST /v1/devices/replace: moves a terminal to a new device.
    pub async fn replace(&self, request: &ReplaceRequest) -> Result<ReplaceResponse, HostError> {
        self.call(Method::POST, "/v1/devices/replace".into(), Some(request))
            .await
    }

    /// POST /v1/otp: asks the platform to send a one-time code to the
    /// merchant's phone.
    pub async fn request_otp(&self, request: &OtpRequest) -> Result<OtpSent, HostError> {
        self.call(Method::POST, "/v1/otp".into(), Some(request)).await
    }

    /// POST /v1/devices/unbind: deregisters a device (needs a one-time code).
    pub async fn unbind(&self, request: &UnbindRequest) -> Result<Ack, HostError> {
        self.call(Method::POST, "/v1/devices/unbind".into(), Some(request))
            .await
    }

    /// POST /v1/settlement-cards: asks to change the settlement card.
    pub async fn change_settlement_card(
        &self,
        request: &CardChangeRequest,
    ) -> Result<CardChangeStatus, HostError> {
        self.call(Method::POST, "/v1/settlement-cards".into(), Some(request))
            .await
    }

    /// GET /v1/settlement-cards/{id}: the state of a card change.
    pub async fn settlement_card_status(&self, request_id: &str) -> Result<CardChangeStatus, HostError> {
        let path = format!("/v1/settlement-cards/{}", encode_segment(request_id));
        self.call::<(), _>(Method::GET, path, None).await
    }

    /// POST /v1/payment-methods: enables or disables a payment method.
    pub async fn set_payment_method(&self, request: &PaymentMethodRequest) -> Result<Ack, HostError> {
        self.call(Method::POST, "/v1/payment-methods".into(), Some(request))
            .await
    }

    async fn call<Q: Serialize, R: DeserializeOwned>(
        &self,
        method: Method,
        path: String,
        body: Option<&Q>,
    ) -> Result<R, HostError> {
        let body = match body {
            Some(body) => Bytes::from(serde_json::to_vec(body).map_err(|e| {
                HostError::Config(format!("cannot encode the request: {}", describe_json_error(&e)))
            })?),
            None => Bytes::new(),
        };
        // Platform calls are not payments: whether the request left does
        // not change what the caller does.
        let answer = self
            .target
            .request(method, &path, &[], body)
            .await
            .map_err(|failure| failure.error)?;
        if answer.status.is_success() {
            return serde_json::from_slice(&answer.body)
                .map_err(|e| HostError::BadResponse(describe_json_error(&e)));
        }
        match serde_json::from_slice::<ApiError>(&answer.body) {
            Ok(api) => Err(HostError::Api {
                code: api.code,
                message: api.message,
            }),
            Err(_) => Err(HostError::Http {
                status: answer.status.as_u16(),
            }),
        }
    }
}

/// Percent-encodes one path segment (ids are normally plain alphanumerics).
fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_plain_http_unless_allowed() {
        let err = PlatformClient::new(PlatformConfig::new("http://127.0.0.1:1", "")).unwrap_err();
        assert!(matches!(err, HostError::Config(_)));
        let mut config = PlatformConfig::new("http://127.0.0.1:1", "");
        config.allow_plaintext = true;
        assert!(PlatformClient::new(config).is_ok());
    }

    #[test]
    fn refuses_an_empty_ca_bundle() {
        let err = PlatformClient::new(PlatformConfig::new("https://127.0.0.1:1", "")).unwrap_err();
        assert!(matches!(err, HostError::Config(m) if m.contains("no certificate")));
    }

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(encode_segment("A0001"), "A0001");
        assert_eq!(encode_segment("a/b c"), "a%2Fb%20c");
    }

    #[test]
    fn json_errors_do_not_quote_values() {
        let e = serde_json::from_str::<u32>("\"6222020200112233445\"").unwrap_err();
        assert!(!describe_json_error(&e).contains("6222"));
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct S {
            card_number: String,
        }
        let e = serde_json::from_str::<S>("{}").unwrap_err();
        assert!(describe_json_error(&e).contains("card_number"));
    }
}
