//! Offline data authentication: the RSA certificate chain and signatures
//! of EMV Book 2 sections 5 (SDA) and 6 (DDA, CDA), and the contactless fDDA
//! of Visa qVSDC (Book C-3) and UnionPay qPBOC.
//!
//! Owns: recovering the issuer and ICC public keys from their certificates,
//! verifying signed static and dynamic data, and building the inputs those
//! checks hash (static data to be authenticated, the CDA transaction data).
//! Does not own: choosing the method (AIP against terminal capabilities),
//! setting TVR and TSI bits, or sending INTERNAL AUTHENTICATE and GENERATE
//! AC; the kernel does that with what these functions return.
//!
//! Everything here is pure: the transaction date (9A) comes in as an
//! argument, and every byte from the card is checked before use. Errors say
//! which step failed, never the PAN.

mod date;
mod dda;
mod frame;
mod icc;
mod issuer;
mod pan;
mod sda;
mod static_data;

#[cfg(test)]
mod testkit;
#[cfg(test)]
mod tests;

pub use dda::{CdaData, cda_hash_input, verify_cda, verify_dda, verify_fdda};
pub use icc::{IccPublicKey, recover_icc_key};
pub use issuer::{IssuerPublicKey, recover_issuer_key};
pub use sda::verify_sda;
pub use static_data::static_data_to_authenticate;

use poskit_tlv::Tag;

use crate::config::{CaPublicKey, Config};

/// Tags this module names in its errors and checks.
pub(crate) mod tags {
    use poskit_tlv::Tag;

    pub const PAN: Tag = Tag(0x5A);
    pub const RECORD_TEMPLATE: Tag = Tag(0x70);
    pub const CA_KEY_INDEX: Tag = Tag(0x8F);
    pub const ISSUER_CERTIFICATE: Tag = Tag(0x90);
    pub const ISSUER_REMAINDER: Tag = Tag(0x92);
    pub const SSAD: Tag = Tag(0x93);
    pub const ISSUER_EXPONENT: Tag = Tag(0x9F32);
    pub const ICC_CERTIFICATE: Tag = Tag(0x9F46);
    pub const ICC_EXPONENT: Tag = Tag(0x9F47);
    pub const ICC_REMAINDER: Tag = Tag(0x9F48);
    pub const SDA_TAG_LIST: Tag = Tag(0x9F4A);
    pub const SDAD: Tag = Tag(0x9F4B);
    pub const GENAC_RESPONSE: Tag = Tag(0x77);
    pub const CARD_AUTH_RELATED_DATA: Tag = Tag(0x9F69);
    pub const TRANSACTION_DATE: Tag = Tag(0x9A);
}

/// Why offline data authentication failed. Each variant is one step of
/// Book 2 sections 5 and 6, so the kernel can set the TVR bits: any error
/// means "SDA/DDA/CDA failed" for the method in use;
/// [`is_icc_data_missing`](OdaError::is_icc_data_missing) adds "ICC data
/// missing" (Book 3 10.3), and
/// [`is_ca_key_missing`](OdaError::is_ca_key_missing) tells the kernel the
/// terminal lacks a key rather than the card being at fault.
///
/// No variant carries card data: the PAN never appears in the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OdaError {
    /// Book 2 5.2 / 6.2: the terminal has no CA key for the card's RID and
    /// index.
    #[error("no CA public key for RID {} index {index:02X}", hex(.rid))]
    CaKeyMissing { rid: [u8; 5], index: u8 },
    /// The CA key is past its expiry date; the terminal must not use it.
    #[error("the CA public key has expired; load the current CA keys")]
    CaKeyExpired,
    /// A Book 2 5.3 check on the issuer public key certificate (90) failed.
    #[error("issuer public key certificate: {0}")]
    IssuerCertificate(&'static str),
    /// Book 2 5.3 step 9.
    #[error("issuer public key certificate has expired")]
    IssuerCertificateExpired,
    /// Book 2 5.3 step 10: RID, CA index and serial number are on the
    /// revocation list.
    #[error("issuer public key certificate is revoked")]
    IssuerCertificateRevoked,
    /// Book 2 5.3 step 8: the issuer identifier in the certificate is not
    /// the leading digits of the card's PAN.
    #[error("issuer identifier in the issuer certificate does not match the card's PAN")]
    IssuerIdentifierMismatch,
    /// Book 2 6.4 step 8: the PAN in the ICC certificate is not the card's.
    #[error("PAN in the ICC public key certificate does not match the card's PAN")]
    PanMismatch,
    /// A Book 2 6.4 check on the ICC public key certificate (9F46) failed.
    #[error("ICC public key certificate: {0}")]
    IccCertificate(&'static str),
    /// Book 2 6.4 step 9.
    #[error("ICC public key certificate has expired")]
    IccCertificateExpired,
    /// Signed static (93) or dynamic (9F4B) application data failed a
    /// Book 2 5.4, 6.5.2 or 6.6.2 check.
    #[error("signed application data: {0}")]
    Signature(&'static str),
    /// Book 2 6.6.2: the Cryptogram Information Data signed by the card is
    /// not the one it returned in the GENERATE AC response.
    #[error("CDA: the signed cryptogram information data differs from the returned one")]
    CidMismatch,
    /// A data object needed for the method is absent or empty (TVR "ICC
    /// data missing").
    #[error("data object {0} needed for offline data authentication is missing")]
    MissingData(Tag),
    /// A data object is present but not in the format EMV defines.
    #[error("data object {tag} is not valid: {reason}")]
    InvalidData { tag: Tag, reason: &'static str },
}

impl OdaError {
    /// True when a mandatory data object was absent: the kernel sets the TVR
    /// bit "ICC data missing" besides the method's "failed" bit.
    pub fn is_icc_data_missing(&self) -> bool {
        matches!(self, OdaError::MissingData(_))
    }

    /// True when the terminal has no CA key for the card: the kernel may
    /// want to report a configuration gap rather than a bad card.
    pub fn is_ca_key_missing(&self) -> bool {
        matches!(self, OdaError::CaKeyMissing { .. })
    }
}

/// The CA public key a card names: the RID of its AID and the CA Public Key
/// Index (8F) it returned (Book 2 5.2 and 6.2). The index is checked here
/// because a missing one is "ICC data missing", not a missing key.
pub fn find_ca_key<'a>(
    config: &'a Config,
    rid: &[u8; 5],
    ca_index: Option<&[u8]>,
) -> Result<&'a CaPublicKey, OdaError> {
    let index = match ca_index {
        None | Some([]) => return Err(OdaError::MissingData(tags::CA_KEY_INDEX)),
        Some([index]) => *index,
        Some(_) => {
            return Err(OdaError::InvalidData {
                tag: tags::CA_KEY_INDEX,
                reason: "the CA public key index is one byte",
            });
        }
    };
    config
        .ca_key(rid, index)
        .ok_or(OdaError::CaKeyMissing { rid: *rid, index })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}
