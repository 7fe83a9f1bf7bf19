//! The TEST ONLY certificates of the platform simulator (see
//! `core/sim/testdata/README.md`), embedded at build time.

use std::io;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::CertificateDer;

pub(crate) const CA_PEM: &str = include_str!("../../testdata/platform-ca.pem");
pub(crate) const OTHER_CA_PEM: &str = include_str!("../../testdata/platform-other-ca.pem");
pub(crate) const SERVER_PEM: &str = include_str!("../../testdata/platform-server.pem");
const SERVER_KEY_PEM: &str = include_str!("../../testdata/platform-server-key.pem");

/// Where the CA PEM lives in the source tree.
pub(crate) const CA_PEM_SOURCE_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/platform-ca.pem");

fn bad(what: &str) -> io::Error {
    io::Error::other(format!("platform simulator test certificate: {what}"))
}

/// The server certificate (DER).
pub(crate) fn server_cert_der() -> io::Result<CertificateDer<'static>> {
    rustls_pemfile::certs(&mut SERVER_PEM.as_bytes())
        .next()
        .ok_or_else(|| bad("no certificate in platform-server.pem"))?
}

/// TLS 1.2 and 1.3 with the test server certificate, ring provider.
pub(crate) fn server_config() -> io::Result<Arc<ServerConfig>> {
    let key = rustls_pemfile::private_key(&mut SERVER_KEY_PEM.as_bytes())?
        .ok_or_else(|| bad("no key in platform-server-key.pem"))?;
    let config = ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| bad(&e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(vec![server_cert_der()?], key)
        .map_err(|e| bad(&e.to_string()))?;
    Ok(Arc::new(config))
}

/// SHA-256 of the server certificate's SubjectPublicKeyInfo.
pub(crate) fn server_spki_sha256() -> io::Result<[u8; 32]> {
    let der = server_cert_der()?;
    let parsed = rustls::server::ParsedCertificate::try_from(&der).map_err(|e| bad(&e.to_string()))?;
    Ok(poskit_crypto::hash::sha256(
        parsed.subject_public_key_info().as_ref(),
    ))
}
