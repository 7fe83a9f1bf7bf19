//! HTTPS with JSON bodies, one request per connection: what the merchant
//! platform client and the QR gateway client share. A connection per
//! request costs a handshake, and buys a terminal that never reuses a
//! connection a mobile network silently dropped.
//!
//! Every failure says whether the request may have reached the server
//! ([`LinkFailure::request_sent`]): a payment request that may have arrived
//! is resolved by asking again, never by paying again.

use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::header::{ACCEPT, CONNECTION, CONTENT_TYPE, HOST, HeaderMap, USER_AGENT};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;

use crate::connect::{Connector, Stream};
use crate::error::{HostError, LinkFailure};

/// The largest answer accepted.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// Where a server is, how to trust it and how long to wait.
#[derive(Clone, Copy)]
pub(crate) struct HttpsConfig<'a> {
    /// Who the server is, for messages and logs: "platform", "gateway".
    pub what: &'static str,
    /// `https://host:port` with an optional path prefix.
    pub base_url: &'a str,
    pub ca_pem: &'a str,
    pub pinned_spki_sha256: Option<[u8; 32]>,
    /// Accept an `http://` base URL (local development only).
    pub allow_plaintext: bool,
    /// Connecting and the TLS handshake, each.
    pub connect_timeout: Duration,
    /// The whole exchange: connect, handshake, request, answer.
    pub timeout: Duration,
}

/// A parsed, validated base URL with its TLS connector.
#[derive(Clone)]
pub(crate) struct HttpsTarget {
    connector: Connector,
    what: &'static str,
    /// `host[:port]`, for the Host header.
    authority: String,
    /// The base URL's path, without a trailing slash.
    prefix: String,
    connect_timeout: Duration,
    timeout: Duration,
}

/// A whole answer: status, headers and body.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl std::fmt::Debug for HttpsTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpsTarget")
            .field("authority", &self.authority)
            .field("tls", &self.connector.is_tls())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl HttpsTarget {
    pub(crate) fn new(config: HttpsConfig<'_>) -> Result<Self, HostError> {
        let what = config.what;
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
                return Err(HostError::Config(format!(
                    "the {what} URL must start with https://"
                )));
            }
        };
        let authority = uri
            .authority()
            .ok_or_else(|| HostError::Config(format!("the {what} URL has no host")))?
            .to_string();
        if authority.contains('@') {
            return Err(HostError::Config(format!(
                "the {what} URL must not carry credentials"
            )));
        }
        if uri.query().is_some() {
            return Err(HostError::Config(format!(
                "the {what} URL must not carry a query"
            )));
        }
        let raw_host = uri.host().unwrap_or_default();
        let host = raw_host.trim_start_matches('[').trim_end_matches(']');
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let trust = https.then_some((config.ca_pem, config.pinned_spki_sha256));
        let connector = Connector::new(host, port, trust)?;
        if config.timeout.is_zero() || config.connect_timeout.is_zero() {
            return Err(HostError::Config("the timeouts must be more than zero".into()));
        }
        Ok(Self {
            connector,
            what,
            authority,
            prefix: uri.path().trim_end_matches('/').to_owned(),
            connect_timeout: config.connect_timeout,
            timeout: config.timeout,
        })
    }

    /// Sends one request to `path` (below the base URL's prefix) with a
    /// JSON `body` and the `headers` given, and reads the whole answer,
    /// all within the configured timeout. Bodies are never logged.
    pub(crate) async fn request(
        &self,
        method: Method,
        path: &str,
        headers: &[(&'static str, &str)],
        body: Bytes,
    ) -> Result<Answer, LinkFailure> {
        let full_path = format!("{}{}", self.prefix, path);
        let mut sent = false;
        let outcome = tokio::time::timeout(
            self.timeout,
            self.exchange(method.clone(), &full_path, headers, body, &mut sent),
        )
        .await;
        let error = match outcome {
            Ok(Ok(answer)) => {
                log::debug!("{} {method} {path} -> {}", self.what, answer.status.as_u16());
                return Ok(answer);
            }
            Ok(Err(error)) => error,
            Err(_) => {
                log::warn!(
                    "{} {method} {path}: no answer within {:?}",
                    self.what,
                    self.timeout
                );
                HostError::Timeout(self.timeout)
            }
        };
        Err(LinkFailure {
            error,
            request_sent: sent,
        })
    }

    /// Connects, sends one request, reads the whole answer. `sent` turns
    /// true as the request starts to leave: from then on it may have
    /// arrived, whatever happens next.
    async fn exchange(
        &self,
        method: Method,
        path: &str,
        headers: &[(&'static str, &str)],
        body: Bytes,
        sent: &mut bool,
    ) -> Result<Answer, HostError> {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, &self.authority)
            .header(ACCEPT, "application/json")
            .header(CONTENT_TYPE, "application/json")
            .header(USER_AGENT, concat!("poskit-host/", env!("CARGO_PKG_VERSION")))
            .header(CONNECTION, "close");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(Full::new(body))
            .map_err(|_| HostError::Config(format!("'{path}' or a header is not valid in a request")))?;
        let stream = self.connector.connect(self.connect_timeout).await?;
        send(stream, request, sent).await
    }
}

/// Aborts the connection task when the request is done or abandoned.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn send(
    stream: Box<dyn Stream>,
    request: Request<Full<Bytes>>,
    sent: &mut bool,
) -> Result<Answer, HostError> {
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| broken(&e))?;
    let _driver = AbortOnDrop(tokio::spawn(async move {
        let _ = connection.await;
    }));
    *sent = true;
    let response = sender.send_request(request).await.map_err(|e| broken(&e))?;
    let (parts, body) = response.into_parts();
    let body = Limited::new(body, MAX_RESPONSE_BYTES)
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
    Ok(Answer {
        status: parts.status,
        headers: parts.headers,
        body,
    })
}

fn broken(e: &hyper::Error) -> HostError {
    if e.is_parse() {
        HostError::BadResponse("the answer is not valid HTTP".into())
    } else {
        HostError::Unreachable(format!("the connection broke before the answer ({e})"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(base_url: &str) -> HttpsConfig<'_> {
        HttpsConfig {
            what: "test",
            base_url,
            ca_pem: "",
            pinned_spki_sha256: None,
            allow_plaintext: false,
            connect_timeout: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
        }
    }

    fn refusal(base_url: &str) -> String {
        match HttpsTarget::new(HttpsConfig {
            allow_plaintext: true,
            ..config(base_url)
        }) {
            Err(HostError::Config(reason)) => reason,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn urls_outside_the_rules_are_refused() {
        assert!(refusal("ftp://example.invalid").contains("https://"));
        assert!(refusal("http://user:pw@127.0.0.1:1").contains("credentials"));
        assert!(refusal("http://127.0.0.1:1/?a=b").contains("query"));
        assert!(refusal("not a url").contains("not a valid URL"));
        let plain = HttpsTarget::new(config("http://127.0.0.1:1")).unwrap_err();
        assert!(matches!(plain, HostError::Config(m) if m.contains("plain http")));
    }

    #[test]
    fn the_prefix_loses_its_trailing_slash() {
        let target = HttpsTarget::new(HttpsConfig {
            allow_plaintext: true,
            ..config("http://127.0.0.1:1/api/")
        })
        .unwrap();
        assert_eq!(target.prefix, "/api");
        assert_eq!(target.authority, "127.0.0.1:1");
    }

    #[test]
    fn zero_timeouts_are_refused() {
        let zero = HttpsTarget::new(HttpsConfig {
            allow_plaintext: true,
            timeout: Duration::ZERO,
            ..config("http://127.0.0.1:1")
        });
        assert!(matches!(zero, Err(HostError::Config(_))));
    }

    #[tokio::test]
    async fn a_refused_connection_never_sent_the_request() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let url = format!("http://{addr}");
        let target = HttpsTarget::new(HttpsConfig {
            allow_plaintext: true,
            ..config(&url)
        })
        .unwrap();
        let failure = target
            .request(Method::POST, "/x", &[], Bytes::new())
            .await
            .unwrap_err();
        assert!(!failure.request_sent);
        assert!(matches!(failure.error, HostError::Unreachable(_)));
    }
}
