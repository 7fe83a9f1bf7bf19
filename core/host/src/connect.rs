//! Opening a connection to a remote system: TCP, then TLS unless the
//! configuration explicitly says plain TCP. Shared by every client here, so
//! that connect and handshake failures read the same whoever the peer is.

use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::error::HostError;
use crate::tls;

/// A connected byte stream, TLS or plain.
pub(crate) trait Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static {}

impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> Stream for S {}

/// Where to connect and how to secure the connection.
#[derive(Clone)]
pub(crate) struct Connector {
    tls: Option<(TlsConnector, ServerName<'static>)>,
    host: String,
    port: u16,
}

/// What the connection must be secured with: the CA bundle (PEM) and an
/// optional SPKI pin, or nothing for plain TCP.
pub(crate) type TlsTrust<'a> = Option<(&'a str, Option<[u8; 32]>)>;

impl Connector {
    pub(crate) fn new(host: &str, port: u16, trust: TlsTrust<'_>) -> Result<Self, HostError> {
        let tls = match trust {
            Some((ca_pem, pin)) => {
                let config = tls::client_config(ca_pem, pin)?;
                Some((TlsConnector::from(config), tls::server_name(host)?))
            }
            None => None,
        };
        Ok(Self {
            tls,
            host: host.to_owned(),
            port,
        })
    }

    pub(crate) fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Connects and completes the TLS handshake, each step within
    /// `timeout`. Nothing of a request has left when this fails.
    pub(crate) async fn connect(&self, timeout: Duration) -> Result<Box<dyn Stream>, HostError> {
        let tcp =
            match tokio::time::timeout(timeout, TcpStream::connect((self.host.as_str(), self.port))).await {
                Err(_) => {
                    return Err(HostError::Unreachable(format!(
                        "{}:{}: no connection within {timeout:?}",
                        self.host, self.port
                    )));
                }
                Ok(Err(e)) => {
                    return Err(HostError::Unreachable(format!(
                        "{}:{}: {}",
                        self.host,
                        self.port,
                        io_reason(&e)
                    )));
                }
                Ok(Ok(tcp)) => tcp,
            };
        let _ = tcp.set_nodelay(true);
        let Some((connector, name)) = &self.tls else {
            return Ok(Box::new(tcp));
        };
        match tokio::time::timeout(timeout, connector.connect(name.clone(), tcp)).await {
            Err(_) => Err(HostError::Timeout(timeout)),
            Ok(Err(e)) => Err(self.handshake_error(&e)),
            Ok(Ok(stream)) => Ok(Box::new(stream)),
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

/// An I/O error in words an integrator can act on.
pub(crate) fn io_reason(e: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::ConnectionRefused => "connection refused (is the server running on this port?)".into(),
        K::ConnectionReset | K::ConnectionAborted => "connection reset".into(),
        K::UnexpectedEof => "connection closed".into(),
        K::TimedOut => "connection timed out".into(),
        _ => e.to_string(),
    }
}
