//! HMAC-SHA256 signatures of gateway requests and answers
//! (docs/qr-gateway.md, "Transport and authentication"): a request is
//! signed over `path + "\n" + body`, an answer over `status + "\n" +
//! body`, both with the terminal's gateway key, as lowercase hex.

use std::fmt;

use ring::hmac;
use zeroize::Zeroizing;

use super::GatewayError;

/// A terminal's gateway key, issued at binding. A secret: it is wiped
/// from memory on drop and never shown by Debug.
#[derive(Clone)]
pub struct GatewayKey(Zeroizing<Vec<u8>>);

impl fmt::Debug for GatewayKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GatewayKey(redacted)")
    }
}

impl GatewayKey {
    /// The shortest key accepted (128 bits).
    pub const MIN_LEN: usize = 16;

    pub fn new(bytes: &[u8]) -> Result<Self, GatewayError> {
        if bytes.len() < Self::MIN_LEN || bytes.len() > 64 {
            return Err(GatewayError::Config(format!(
                "a gateway key is {} to 64 bytes; check the key issued at binding",
                Self::MIN_LEN
            )));
        }
        Ok(Self(Zeroizing::new(bytes.to_vec())))
    }

    /// A key given as hex (how it is configured and how the simulator
    /// prints it).
    pub fn from_hex(text: &str) -> Result<Self, GatewayError> {
        let bytes = Zeroizing::new(hex::decode(text.trim()).map_err(|_| {
            GatewayError::Config("the gateway key is not hex; check the key issued at binding".into())
        })?);
        Self::new(&bytes)
    }

    /// The key as hex, for a person who must copy it into a configuration
    /// (the simulator's demo terminal). Never log it.
    pub fn reveal_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(&*self.0))
    }

    fn mac(&self, head: &[u8], body: &[u8]) -> hmac::Tag {
        // ring keeps the derived HMAC state only for this call.
        let key = hmac::Key::new(hmac::HMAC_SHA256, &self.0);
        let mut context = hmac::Context::with_key(&key);
        context.update(head);
        context.update(b"\n");
        context.update(body);
        context.sign()
    }

    fn verify(&self, head: &[u8], body: &[u8], signature: &str) -> bool {
        let Ok(tag) = hex::decode(signature.trim()) else {
            return false;
        };
        let key = hmac::Key::new(hmac::HMAC_SHA256, &self.0);
        let mut message = Vec::with_capacity(head.len() + 1 + body.len());
        message.extend_from_slice(head);
        message.push(b'\n');
        message.extend_from_slice(body);
        // Constant time: a forger learns nothing from how long it took.
        hmac::verify(&key, &message, &tag).is_ok()
    }

    /// The signature of a request to `path` (the endpoint path, e.g.
    /// `/v1/micropay`, without the base URL's prefix).
    pub fn sign_request(&self, path: &str, body: &[u8]) -> String {
        hex::encode(self.mac(path.as_bytes(), body).as_ref())
    }

    pub fn verify_request(&self, path: &str, body: &[u8], signature: &str) -> bool {
        self.verify(path.as_bytes(), body, signature)
    }

    /// The signature of an answer with HTTP `status`.
    pub fn sign_answer(&self, status: u16, body: &[u8]) -> String {
        hex::encode(self.mac(status.to_string().as_bytes(), body).as_ref())
    }

    pub fn verify_answer(&self, status: u16, body: &[u8], signature: &str) -> bool {
        self.verify(status.to_string().as_bytes(), body, signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_rfc_2104_hmac_sha256_over_the_documented_message() {
        // RFC 4231 test case 2 has a 4-byte key, shorter than we accept;
        // check against ring's one-shot HMAC over the documented message.
        let key = GatewayKey::new(&[0x0b; 20]).unwrap();
        let expected = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, &[0x0b; 20]),
            b"/v1/micropay\n{\"a\":1}",
        );
        let signature = key.sign_request("/v1/micropay", b"{\"a\":1}");
        assert_eq!(signature, hex::encode(expected.as_ref()));
        assert!(key.verify_request("/v1/micropay", b"{\"a\":1}", &signature));
        assert!(key.verify_request("/v1/micropay", b"{\"a\":1}", &signature.to_uppercase()));
        assert!(!key.verify_request("/v1/refunds", b"{\"a\":1}", &signature));
        assert!(!key.verify_request("/v1/micropay", b"{\"a\":2}", &signature));
        assert!(!key.verify_request("/v1/micropay", b"{\"a\":1}", "zz"));

        let answer = key.sign_answer(200, b"{}");
        assert!(key.verify_answer(200, b"{}", &answer));
        assert!(!key.verify_answer(409, b"{}", &answer));
        let other = GatewayKey::new(&[0x0c; 20]).unwrap();
        assert!(!other.verify_answer(200, b"{}", &answer));
    }

    #[test]
    fn keys_are_checked_and_never_shown() {
        assert!(GatewayKey::new(&[1; 15]).is_err());
        assert!(GatewayKey::from_hex("not hex").is_err());
        let key = GatewayKey::from_hex("00112233445566778899aabbccddeeff").unwrap();
        assert_eq!(format!("{key:?}"), "GatewayKey(redacted)");
        assert_eq!(&*key.reveal_hex(), "00112233445566778899aabbccddeeff");
    }
}
