//! TLS for the host clients: rustls with the ring provider, TLS 1.2 and
//! 1.3, a configured CA bundle and optional public-key pinning.

use std::fmt;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, OtherError, RootCertStore, SignatureScheme,
};

use crate::error::HostError;

/// The crypto provider every PosKit TLS connection uses.
pub(crate) fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Reads a PEM bundle of CA certificates.
pub fn parse_ca_bundle(ca_pem: &str) -> Result<RootCertStore, HostError> {
    let mut roots = RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut ca_pem.as_bytes()) {
        let cert = cert.map_err(|_| HostError::Config("the CA bundle is not valid PEM".into()))?;
        roots
            .add(cert)
            .map_err(|e| HostError::Config(format!("a CA certificate in the bundle is unusable: {e}")))?;
    }
    if roots.is_empty() {
        return Err(HostError::Config(
            "the CA bundle holds no certificate; configure the platform's CA (PEM)".into(),
        ));
    }
    Ok(roots)
}

/// SHA-256 of a certificate's SubjectPublicKeyInfo (DER, whole SEQUENCE):
/// the value to pin (the same as `openssl x509 -pubkey | openssl pkey
/// -pubin -outform DER | sha256sum`).
pub fn spki_sha256(cert_der: &[u8]) -> Result<[u8; 32], HostError> {
    let cert = CertificateDer::from(cert_der);
    let parsed = rustls::server::ParsedCertificate::try_from(&cert)
        .map_err(|e| HostError::Config(format!("not a usable certificate: {e}")))?;
    Ok(sha256(parsed.subject_public_key_info().as_ref()))
}

fn sha256(data: &[u8]) -> [u8; 32] {
    let digest = ring::digest::digest(&ring::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// The client configuration: TLS 1.2/1.3, the given roots, and the pin.
pub(crate) fn client_config(ca_pem: &str, pin: Option<[u8; 32]>) -> Result<Arc<ClientConfig>, HostError> {
    let provider = provider();
    let roots = Arc::new(parse_ca_bundle(ca_pem)?);
    let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
        .build()
        .map_err(|e| HostError::Config(format!("cannot build the certificate verifier: {e}")))?;
    let builder = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| HostError::Config(format!("TLS versions: {e}")))?;
    let config = match pin {
        None => builder.with_webpki_verifier(webpki).with_no_client_auth(),
        Some(pin) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(PinnedVerifier { inner: webpki, pin }))
            .with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// The name the server certificate must carry, from the URL's host.
pub(crate) fn server_name(host: &str) -> Result<ServerName<'static>, HostError> {
    ServerName::try_from(host.to_owned())
        .map_err(|_| HostError::Config(format!("'{host}' is not a valid server name or IP address")))
}

/// The normal web PKI checks (chain to a configured CA, validity, name),
/// then the end-entity certificate's public key against the pin.
struct PinnedVerifier {
    inner: Arc<WebPkiServerVerifier>,
    pin: [u8; 32],
}

impl fmt::Debug for PinnedVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PinnedVerifier").finish_non_exhaustive()
    }
}

/// The server's public key is not the pinned one.
#[derive(Debug)]
struct PinMismatch;

impl fmt::Display for PinMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the server's public key does not match the pinned key")
    }
}

impl std::error::Error for PinMismatch {}

impl ServerCertVerifier for PinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)?;
        let parsed = rustls::server::ParsedCertificate::try_from(end_entity)?;
        let actual = sha256(parsed.subject_public_key_info().as_ref());
        // The pin is public (a hash of a public key): a plain comparison is fine.
        if actual != self.pin {
            return Err(rustls::Error::InvalidCertificate(CertificateError::Other(
                OtherError(Arc::new(PinMismatch)),
            )));
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// A TLS failure in words an integrator can act on.
pub(crate) fn describe(err: &rustls::Error, host: &str) -> String {
    use rustls::Error as E;
    match err {
        E::InvalidCertificate(cert) => match cert {
            CertificateError::UnknownIssuer => format!(
                "the certificate of {host} is not signed by a trusted CA; check the platform CA bundle in the configuration"
            ),
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                format!("the certificate presented is not valid for {host}; check the platform address")
            }
            CertificateError::Expired
            | CertificateError::ExpiredContext { .. }
            | CertificateError::NotValidYet
            | CertificateError::NotValidYetContext { .. } => format!(
                "the certificate of {host} is expired or not yet valid; check the device's date and time"
            ),
            CertificateError::Other(other) if other.0.downcast_ref::<PinMismatch>().is_some() => format!(
                "the public key of {host} does not match the pinned key; the connection may be intercepted, or the pin is out of date"
            ),
            other => format!("the certificate of {host} was refused: {other}"),
        },
        E::AlertReceived(alert) => format!("{host} refused the secure connection (alert {alert:?})"),
        E::InvalidMessage(_) => format!("{host} does not speak TLS here; check the address and port"),
        other => format!("{other}"),
    }
}
