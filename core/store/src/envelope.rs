//! Authenticated encryption for everything the store keeps secret: AES-256-GCM
//! (NIST SP 800-38D) with a fresh random 96-bit nonce per message, and
//! HMAC-SHA256 key derivation so one data key never serves two purposes.
//!
//! Sealed form: `nonce (12) || ciphertext || tag (16)`. Random nonces are
//! safe here: a terminal seals far fewer than the 2^32 messages per key that
//! SP 800-38D section 8.3 allows for random 96-bit nonces.

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

use crate::error::{Result, StoreError};

pub(crate) const KEY_LEN: usize = 32;
pub(crate) const TAG_LEN: usize = 16;
/// Bytes a sealed message adds to its plaintext.
pub(crate) const OVERHEAD: usize = NONCE_LEN + TAG_LEN;

/// A 256-bit secret that is wiped on drop.
pub(crate) type Secret32 = Zeroizing<[u8; KEY_LEN]>;

pub(crate) fn random<const N: usize>(rng: &SystemRandom) -> Result<[u8; N]> {
    let mut out = [0u8; N];
    rng.fill(&mut out)
        .map_err(|_| StoreError::Crypto("the system random generator failed"))?;
    Ok(out)
}

pub(crate) fn random_secret(rng: &SystemRandom) -> Result<Secret32> {
    let mut out = Zeroizing::new([0u8; KEY_LEN]);
    rng.fill(out.as_mut())
        .map_err(|_| StoreError::Crypto("the system random generator failed"))?;
    Ok(out)
}

fn aead_key(key: &[u8; KEY_LEN]) -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).expect("a 32-byte key suits AES-256-GCM"))
}

/// Encrypts `plaintext` bound to `aad`.
pub(crate) fn seal(key: &[u8; KEY_LEN], aad: &[u8], plaintext: &[u8], rng: &SystemRandom) -> Result<Vec<u8>> {
    let nonce: [u8; NONCE_LEN] = random(rng)?;
    let mut out = Vec::with_capacity(plaintext.len() + OVERHEAD);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plaintext);
    let tag = aead_key(key)
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut out[NONCE_LEN..],
        )
        .map_err(|_| StoreError::Crypto("AES-GCM encryption failed"))?;
    out.extend_from_slice(tag.as_ref());
    Ok(out)
}

/// Decrypts a sealed message; `None` when the key, the AAD or any byte is
/// wrong (GCM cannot tell these apart; callers say which it means).
pub(crate) fn open(key: &[u8; KEY_LEN], aad: &[u8], sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    if sealed.len() < OVERHEAD {
        return None;
    }
    let (nonce, body) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
    let mut buf = Zeroizing::new(body.to_vec());
    let len = aead_key(key)
        .open_in_place(nonce, Aad::from(aad), buf.as_mut_slice())
        .ok()?
        .len();
    buf.truncate(len);
    Some(buf)
}

/// HMAC-SHA256(key, label): a purpose-bound subkey (the HKDF-Expand idea of
/// RFC 5869 with a single block), so the PAN lookup hash, the key vault and
/// backups never share a key.
pub(crate) fn derive(key: &[u8], label: &[u8]) -> Secret32 {
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), label);
    let mut out = Zeroizing::new([0u8; KEY_LEN]);
    out.copy_from_slice(tag.as_ref());
    out
}

/// HMAC-SHA256 of `data` under `key`.
pub(crate) fn mac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data);
    let mut out = [0u8; 32];
    out.copy_from_slice(tag.as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_messages_open_only_with_their_key_and_aad() {
        let rng = SystemRandom::new();
        let key = [7u8; 32];
        let sealed = seal(&key, b"row 1", b"secret", &rng).unwrap();
        assert_eq!(sealed.len(), 6 + OVERHEAD);
        assert_eq!(open(&key, b"row 1", &sealed).unwrap().as_slice(), b"secret");
        assert!(open(&key, b"row 2", &sealed).is_none());
        assert!(open(&[8u8; 32], b"row 1", &sealed).is_none());
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            assert!(open(&key, b"row 1", &bad).is_none(), "byte {i}");
        }
        assert!(open(&key, b"row 1", &sealed[..OVERHEAD - 1]).is_none());
    }

    #[test]
    fn nonces_differ_between_seals() {
        let rng = SystemRandom::new();
        let a = seal(&[1; 32], b"", b"x", &rng).unwrap();
        let b = seal(&[1; 32], b"", b"x", &rng).unwrap();
        assert_ne!(a[..NONCE_LEN], b[..NONCE_LEN]);
    }
}
