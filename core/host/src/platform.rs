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

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::header::{ACCEPT, CONNECTION, CONTENT_TYPE, HOST, USER_AGENT};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use poskit_binding::platform::{
    Ack, ApiError, ApplicationRequest, ApplicationStatus, BindRequest, BindResponse, CardChangeRequest,
    CardChangeStatus, OtpRequest, OtpSent, PaymentMethodRequest, ReplaceRequest, ReplaceResponse,
    UnbindRequest,
};
use rustls::pki_types::ServerName;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::error::{HostError, describe_json_error};
use crate::tls;

/// The largest answer accepted from the platform.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

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
    tls: Option<(TlsConnector, ServerName<'static>)>,
    host: String,
    port: u16,
    /// `host[:port]`, for the Host header.
    authority: String,
    /// The base URL's path, without a trailing slash.
    prefix: String,
    timeout: Duration,
}

impl fmt::Debug for PlatformClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlatformClient")
            .field("authority", &self.authority)
            .field("tls", &self.tls.is_some())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl PlatformClient {
    pub fn new(config: PlatformConfig) -> Result<Self, HostError> {
        let uri: Uri = config
            .base_url
            .parse()
            .map_err(|_| HostError::Config(format!("'{}' is not a valid URL", config.base_url)))?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") if config.allow_plaintext => false,
            Some("http") => {
                return Err(HostError::Config(
                    "plain http:// is refused; use https:// (or set allow_plaintext for local development)"
                        .into(),
                ));
            }
            _ => {
                return Err(HostError::Config(
                    "the platform URL must start with https://".into(),
                ));
            }
        };
        let authority = uri
            .authority()
            .ok_or_else(|| HostError::Config("the platform URL has no host".into()))?
            .to_string();
        if authority.contains('@') {
            return Err(HostError::Config(
                "the platform URL must not carry credentials".into(),
            ));
        }
        if uri.query().is_some() {
            return Err(HostError::Config(
                "the platform URL must not carry a query".into(),
            ));
        }
        let raw_host = uri.host().unwrap_or_default();
        let host = raw_host.trim_start_matches('[').trim_end_matches(']').to_owned();
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let prefix = uri.path().trim_end_matches('/').to_owned();
        let tls = if https {
            let config_tls = tls::client_config(&config.ca_pem, config.pinned_spki_sha256)?;
            Some((TlsConnector::from(config_tls), tls::server_name(&host)?))
        } else {
            None
        };
        if config.timeout.is_zero() {
            return Err(HostError::Config("the timeout must be more than zero".into()));
        }
        Ok(Self {
            tls,
            host,
            port,
            authority,
            prefix,
            timeout: config.timeout,
        })
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
        let full_path = format!("{}{}", self.prefix, path);
        let outcome =
            tokio::time::timeout(self.timeout, self.exchange(method.clone(), &full_path, body)).await;
        let (status, bytes) = match outcome {
            Ok(result) => result?,
            Err(_) => {
                log::warn!("platform {method} {path}: no answer within {:?}", self.timeout);
                return Err(HostError::Timeout(self.timeout));
            }
        };
        log::debug!("platform {method} {path} -> {}", status.as_u16());
        if status.is_success() {
            return serde_json::from_slice(&bytes)
                .map_err(|e| HostError::BadResponse(describe_json_error(&e)));
        }
        match serde_json::from_slice::<ApiError>(&bytes) {
            Ok(api) => Err(HostError::Api {
                code: api.code,
                message: api.message,
            }),
            Err(_) => Err(HostError::Http {
                status: status.as_u16(),
            }),
        }
    }

    /// Connects, sends one request, reads the whole answer.
    async fn exchange(
        &self,
        method: Method,
        path: &str,
        body: Bytes,
    ) -> Result<(StatusCode, Bytes), HostError> {
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| HostError::Unreachable(format!("{}:{}: {}", self.host, self.port, io_reason(&e))))?;
        let _ = tcp.set_nodelay(true);
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, &self.authority)
            .header(ACCEPT, "application/json")
            .header(CONTENT_TYPE, "application/json")
            .header(USER_AGENT, concat!("poskit-host/", env!("CARGO_PKG_VERSION")))
            .header(CONNECTION, "close")
            .body(Full::new(body))
            .map_err(|_| HostError::Config(format!("'{path}' is not a valid request path")))?;
        match &self.tls {
            Some((connector, name)) => {
                let stream = connector
                    .connect(name.clone(), tcp)
                    .await
                    .map_err(|e| self.handshake_error(&e))?;
                send(stream, request).await
            }
            None => send(tcp, request).await,
        }
    }

    fn handshake_error(&self, e: &std::io::Error) -> HostError {
        if let Some(tls_error) = e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return HostError::Tls(tls::describe(tls_error, &self.host));
        }
        use std::io::ErrorKind as K;
        if matches!(
            e.kind(),
            K::ConnectionReset | K::ConnectionAborted | K::UnexpectedEof
        ) {
            return HostError::Unreachable(format!(
                "the connection to {} broke during the TLS handshake ({})",
                self.host,
                io_reason(e)
            ));
        }
        HostError::Tls(format!(
            "TLS handshake with {} failed: {}",
            self.host,
            io_reason(e)
        ))
    }
}

/// Aborts the connection task when the request is done or abandoned.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn send<S>(stream: S, request: Request<Full<Bytes>>) -> Result<(StatusCode, Bytes), HostError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| broken(&e))?;
    let _driver = AbortOnDrop(tokio::spawn(async move {
        let _ = connection.await;
    }));
    let response = sender.send_request(request).await.map_err(|e| broken(&e))?;
    let status = response.status();
    let bytes = Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
        .collect()
        .await
        .map_err(|e| {
            if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() {
                HostError::BadResponse(format!("the answer is larger than {MAX_RESPONSE_BYTES} bytes"))
            } else {
                HostError::Unreachable("the connection broke while reading the answer".into())
            }
        })?
        .to_bytes();
    Ok((status, bytes))
}

fn broken(e: &hyper::Error) -> HostError {
    if e.is_parse() {
        HostError::BadResponse("the answer is not valid HTTP".into())
    } else {
        HostError::Unreachable(format!("the connection broke before the answer ({e})"))
    }
}

pub(crate) fn io_reason(e: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::ConnectionRefused => "connection refused (is the platform running on this port?)".into(),
        K::ConnectionReset | K::ConnectionAborted => "connection reset".into(),
        K::UnexpectedEof => "connection closed".into(),
        K::TimedOut => "connection timed out".into(),
        _ => e.to_string(),
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
