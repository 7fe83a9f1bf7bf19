//! The acquirer simulator's TLS: the same TEST ONLY server certificate as
//! the platform simulator (`core/sim/testdata`, SAN 127.0.0.1 and
//! localhost), so a client trusts [`crate::platform::test_ca_pem`] for both.

use std::io;
use std::sync::Arc;

use rustls::ServerConfig;

const SERVER_KEY_PEM: &str = include_str!("../../testdata/platform-server-key.pem");

fn bad(what: &str) -> io::Error {
    io::Error::other(format!("acquirer simulator test certificate: {what}"))
}

/// TLS 1.2 and 1.3 with the test server certificate, ring provider.
pub(crate) fn server_config() -> io::Result<Arc<ServerConfig>> {
    let cert = rustls_pemfile::certs(&mut crate::platform::server_cert_pem().as_bytes())
        .next()
        .ok_or_else(|| bad("no certificate in platform-server.pem"))??;
    let key = rustls_pemfile::private_key(&mut SERVER_KEY_PEM.as_bytes())?
        .ok_or_else(|| bad("no key in platform-server-key.pem"))?;
    let config = ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| bad(&e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .map_err(|e| bad(&e.to_string()))?;
    Ok(Arc::new(config))
}
