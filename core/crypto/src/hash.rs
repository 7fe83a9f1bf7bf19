//! The hashes payment cryptography needs: SHA-1 (EMV offline data
//! authentication, EMV option B key derivation), SHA-256 and SM3 (the
//! Chinese national hash, GB/T 32905, used with SM2 certificates).
//!
//! SHA-1 and SHA-256 come from ring; ring has no SM3, so that one comes from
//! the RustCrypto `sm3` crate.

use ring::digest;
use sm3::Digest as _;

/// A hash function, for callers that pick one from card or host data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashAlgorithm {
    Sha1,
    Sha256,
    Sm3,
}

impl HashAlgorithm {
    /// Output length in bytes.
    pub const fn output_len(self) -> usize {
        match self {
            HashAlgorithm::Sha1 => 20,
            HashAlgorithm::Sha256 | HashAlgorithm::Sm3 => 32,
        }
    }

    /// The hash of the concatenation of `parts`. EMV hashes several
    /// recovered and card-supplied fields in a row; this avoids copying them
    /// into one buffer first.
    pub fn digest_parts(self, parts: &[&[u8]]) -> Vec<u8> {
        match self {
            HashAlgorithm::Sha1 => ring_parts(&digest::SHA1_FOR_LEGACY_USE_ONLY, parts),
            HashAlgorithm::Sha256 => ring_parts(&digest::SHA256, parts),
            HashAlgorithm::Sm3 => {
                let mut h = sm3::Sm3::new();
                parts.iter().for_each(|p| h.update(p));
                h.finalize().to_vec()
            }
        }
    }

    /// The hash of `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        self.digest_parts(&[data])
    }
}

fn ring_parts(algorithm: &'static digest::Algorithm, parts: &[&[u8]]) -> Vec<u8> {
    let mut ctx = digest::Context::new(algorithm);
    parts.iter().for_each(|p| ctx.update(p));
    ctx.finish().as_ref().to_vec()
}

fn fixed<const N: usize>(bytes: Vec<u8>) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&bytes);
    out
}

/// SHA-1 (FIPS 180-4). Broken for collision resistance; EMV still uses it
/// for certificates and signed data, so it stays, for that only.
pub fn sha1(data: &[u8]) -> [u8; 20] {
    fixed(HashAlgorithm::Sha1.digest(data))
}

/// SHA-256 (FIPS 180-4).
pub fn sha256(data: &[u8]) -> [u8; 32] {
    fixed(HashAlgorithm::Sha256.digest(data))
}

/// SM3 (GB/T 32905-2016).
pub fn sm3(data: &[u8]) -> [u8; 32] {
    fixed(HashAlgorithm::Sm3.digest(data))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hex(bytes: &[u8]) -> String {
        hex::encode_upper(bytes)
    }

    #[test]
    fn sha1_fips180_abc() {
        // FIPS 180-2 Appendix A.1, one-block message "abc".
        assert_eq!(hex(&sha1(b"abc")), "A9993E364706816ABA3E25717850C26C9CD0D89D");
    }

    #[test]
    fn sha1_fips180_two_blocks() {
        // FIPS 180-2 Appendix A.2, multi-block message.
        let msg = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
        assert_eq!(hex(&sha1(msg)), "84983E441C3BD26EBAAE4AA1F95129E5E54670F1");
    }

    #[test]
    fn sha256_fips180_abc() {
        // FIPS 180-2 Appendix B.1.
        assert_eq!(
            hex(&sha256(b"abc")),
            "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"
        );
    }

    #[test]
    fn sm3_gbt32905_examples() {
        // GB/T 32905-2016 Appendix A, example 1 ("abc") and example 2
        // ("abcd" repeated 16 times, 512 bits).
        assert_eq!(
            hex(&sm3(b"abc")),
            "66C7F0F462EEEDD9D1F2D46BDC10E4E24167C4875CF2F7A2297DA02B8F4BA8E0"
        );
        assert_eq!(
            hex(&sm3(&b"abcd".repeat(16))),
            "DEBE9FF92275B8A138604889C18E5A4D6FDB70E5387E5765293DCBA39C0C5732"
        );
    }

    #[test]
    fn parts_hash_like_the_concatenation() {
        for alg in [HashAlgorithm::Sha1, HashAlgorithm::Sha256, HashAlgorithm::Sm3] {
            assert_eq!(alg.digest_parts(&[b"a", b"", b"bc"]), alg.digest(b"abc"));
            assert_eq!(alg.digest(b"abc").len(), alg.output_len());
        }
    }

    proptest! {
        #[test]
        fn any_input_hashes_without_panicking(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            prop_assert_eq!(sha1(&data).len(), 20);
            prop_assert_eq!(sha256(&data).len(), 32);
            prop_assert_eq!(sm3(&data).len(), 32);
        }
    }
}
