//! The acquirer link: ISO 8583 frames (2-byte length prefix) over TLS, or
//! plain TCP when the configuration says so (lab hosts). Connect and
//! response timeouts; answers that do not belong to the request (late or
//! duplicate) are skipped by the caller's matcher.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::connect::{Connector, io_reason};
use crate::error::HostError;
pub use crate::error::LinkFailure;

/// A frame longer than this is not an ISO 8583 POS message.
const MAX_FRAME: usize = 8 * 1024;

#[derive(Debug, Clone)]
pub struct AcquirerConfig {
    pub host: String,
    pub port: u16,
    /// The acquirer's CA bundle (PEM); required unless `plaintext`.
    pub ca_pem: Option<String>,
    pub pinned_spki_sha256: Option<[u8; 32]>,
    /// Plain TCP: only for lab hosts, and only when set explicitly.
    pub plaintext: bool,
    pub connect_timeout: Duration,
    pub response_timeout: Duration,
}

impl AcquirerConfig {
    pub fn tls(host: impl Into<String>, port: u16, ca_pem: impl Into<String>) -> Self {
        Self {
            host: host.into(),
            port,
            ca_pem: Some(ca_pem.into()),
            pinned_spki_sha256: None,
            plaintext: false,
            connect_timeout: Duration::from_secs(10),
            response_timeout: Duration::from_secs(30),
        }
    }
}

/// Decides whether a received message answers the request.
pub trait Matcher: Send {
    fn accepts(&mut self, body: &[u8]) -> bool;
}

impl<F: FnMut(&[u8]) -> bool + Send> Matcher for F {
    fn accepts(&mut self, body: &[u8]) -> bool {
        self(body)
    }
}

fn before(error: HostError) -> LinkFailure {
    LinkFailure {
        error,
        request_sent: false,
    }
}

fn after(error: HostError) -> LinkFailure {
    LinkFailure {
        error,
        request_sent: true,
    }
}

pub struct AcquirerLink {
    config: AcquirerConfig,
    connector: Connector,
}

impl AcquirerLink {
    pub fn new(config: AcquirerConfig) -> Result<Self, HostError> {
        let trust = if config.plaintext {
            None
        } else {
            let ca = config.ca_pem.as_deref().ok_or_else(|| {
                HostError::Config(
                    "the acquirer link needs the acquirer's CA bundle (or plaintext for a lab host)".into(),
                )
            })?;
            Some((ca, config.pinned_spki_sha256))
        };
        let connector = Connector::new(&config.host, config.port, trust)?;
        if config.response_timeout.is_zero() || config.connect_timeout.is_zero() {
            return Err(HostError::Config(
                "the acquirer timeouts must be more than zero".into(),
            ));
        }
        Ok(Self { config, connector })
    }

    pub fn config(&self) -> &AcquirerConfig {
        &self.config
    }

    /// Sends `body` (TPDU, header and message, without the length) and
    /// returns the first received body `matcher` accepts.
    pub async fn exchange(&self, body: &[u8], matcher: &mut dyn Matcher) -> Result<Vec<u8>, LinkFailure> {
        let stream = self
            .connector
            .connect(self.config.connect_timeout)
            .await
            .map_err(before)?;
        self.talk(stream, body, matcher).await
    }

    async fn talk<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        mut stream: S,
        body: &[u8],
        matcher: &mut dyn Matcher,
    ) -> Result<Vec<u8>, LinkFailure> {
        if body.len() > u16::MAX as usize {
            return Err(before(HostError::Config(
                "message too long for the 2-byte length prefix".into(),
            )));
        }
        let mut frame = (body.len() as u16).to_be_bytes().to_vec();
        frame.extend_from_slice(body);
        let broken =
            |e: std::io::Error| HostError::Unreachable(format!("the connection broke: {}", io_reason(&e)));
        // A write that fails part-way may still have reached the host.
        stream.write_all(&frame).await.map_err(|e| after(broken(e)))?;
        stream.flush().await.map_err(|e| after(broken(e)))?;
        let timeout = self.config.response_timeout;
        tokio::time::timeout(timeout, async {
            loop {
                let mut len = [0u8; 2];
                stream.read_exact(&mut len).await.map_err(broken)?;
                let len = u16::from_be_bytes(len) as usize;
                if len == 0 || len > MAX_FRAME {
                    return Err(HostError::BadResponse(format!("a frame of {len} bytes")));
                }
                let mut answer = vec![0u8; len];
                stream.read_exact(&mut answer).await.map_err(broken)?;
                if matcher.accepts(&answer) {
                    return Ok(answer);
                }
                log::info!("acquirer: skipped a message that does not answer this request");
            }
        })
        .await
        .map_err(|_| HostError::Timeout(timeout))
        .and_then(|r| r)
        .map_err(after)
    }
}
