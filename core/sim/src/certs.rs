//! The TEST ONLY certificates every network simulator serves (see
//! `core/sim/testdata/README.md`), embedded at build time: one CA, one
//! server certificate for 127.0.0.1 and localhost, so a client trusts
//! [`crate::platform::test_ca_pem`] for all of them.

use std::io;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::CertificateDer;

pub(crate) const CA_PEM: &str = include_str!("../testdata/platform-ca.pem");
pub(crate) const OTHER_CA_PEM: &str = include_str!("../testdata/platform-other-ca.pem");
pub(crate) const SERVER_PEM: &str = include_str!("../testdata/platform-server.pem");
const SERVER_KEY_PEM: &str = include_str!("../testdata/platform-server-key.pem");

/// Where the CA PEM lives in the source tree.
pub(crate) const CA_PEM_SOURCE_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/platform-ca.pem");

fn bad(what: &str) -> io::Error {
    io::Error::other(format!("simulator test certificate: {what}"))
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

/// The path of the test CA PEM for a person to configure: the source
/// tree's copy, or `copy_name` written to the temporary directory when
/// the source tree is not there (the binary runs elsewhere).
pub(crate) fn ca_pem_file(copy_name: &str) -> io::Result<String> {
    let source = std::path::Path::new(CA_PEM_SOURCE_PATH);
    if std::fs::read_to_string(source).is_ok_and(|text| text == CA_PEM) {
        return Ok(CA_PEM_SOURCE_PATH.to_owned());
    }
    let copy = std::env::temp_dir().join(copy_name);
    std::fs::write(&copy, CA_PEM)?;
    Ok(copy.display().to_string())
}
