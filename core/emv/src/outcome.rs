//! What a card session ends with: the decision, the data the host message
//! needs (field 55) and what a receipt shows.

use std::fmt;

use poskit_tlv::{Tag, write_tlv};
use zeroize::Zeroizing;

use crate::data::DataStore;
use crate::tvr::{Tsi, Tvr};

/// How the transaction ended at the card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The card produced a TC: offline approval, or approval after the host approved.
    Approved,
    /// The card produced an AAC, or the host declined.
    Declined,
    /// The host approved but the card declined at the second GENERATE AC:
    /// the terminal must reverse the authorisation.
    DeclinedAfterHostApproval,
    /// Contactless: the card asked to go online and the online result is final
    /// (no second GENERATE AC on contactless); `approved` is the host's answer.
    OnlineCompleted { approved: bool },
    /// Contactless: present the card again.
    TryAgain,
    /// Contactless: the transaction cannot be done contactless; insert or swipe.
    TryAnotherInterface,
    /// Contactless: the cardholder must act on the phone, then tap again.
    SeePhone,
    /// Chip reading failed: the terminal may fall back to the magnetic stripe.
    Fallback,
    /// No application on the card that the terminal supports.
    NotAccepted,
    /// The cardholder or cashier cancelled.
    Cancelled,
    /// The card session ended abnormally (card error, removed card).
    Terminated,
    /// A card read without a transaction ([`Kernel::start_card_read`]) is complete.
    ///
    /// [`Kernel::start_card_read`]: crate::Kernel::start_card_read
    CardRead,
}

/// The application cryptogram type (9F27 bits 8-7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CryptogramType {
    Aac,
    Tc,
    Arqc,
}

impl CryptogramType {
    pub fn from_cid(cid: u8) -> Option<Self> {
        match cid & 0xC0 {
            0x00 => Some(Self::Aac),
            0x40 => Some(Self::Tc),
            0x80 => Some(Self::Arqc),
            _ => None,
        }
    }

    /// GENERATE AC reference control parameter bits.
    pub fn p1(self) -> u8 {
        match self {
            Self::Aac => 0x00,
            Self::Tc => 0x40,
            Self::Arqc => 0x80,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Aac => "AAC",
            Self::Tc => "TC",
            Self::Arqc => "ARQC",
        }
    }
}

/// The cardholder verification that was performed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cvm {
    NoCvm,
    Signature,
    OnlinePin,
    OfflinePlaintextPin,
    OfflineEncipheredPin,
    /// Offline PIN and a signature line.
    OfflinePinAndSignature,
    /// Verified on the cardholder's phone (contactless).
    ConsumerDevice,
    /// Verification failed or no rule applied.
    Failed,
    /// Cardholder verification not performed (not supported by the card).
    NotPerformed,
}

impl Cvm {
    pub fn name(self) -> &'static str {
        match self {
            Cvm::NoCvm => "no CVM",
            Cvm::Signature => "signature",
            Cvm::OnlinePin => "online PIN",
            Cvm::OfflinePlaintextPin => "offline plaintext PIN",
            Cvm::OfflineEncipheredPin => "offline enciphered PIN",
            Cvm::OfflinePinAndSignature => "offline PIN and signature",
            Cvm::ConsumerDevice => "consumer device CVM",
            Cvm::Failed => "failed",
            Cvm::NotPerformed => "not performed",
        }
    }

    pub fn needs_signature(self) -> bool {
        matches!(self, Cvm::Signature | Cvm::OfflinePinAndSignature)
    }
}

/// Card data the host message needs. Held in zeroizing buffers and never
/// shown by `Debug`; callers must not log or persist it (DESIGN rule 5).
#[derive(Clone, Default)]
pub struct CardholderData {
    /// PAN digits.
    pub pan: Zeroizing<String>,
    /// Track 2 equivalent data (57), as the card gave it.
    pub track2: Zeroizing<Vec<u8>>,
    /// YYMM.
    pub expiry: String,
    /// 5F34, two digits.
    pub psn: Option<String>,
}

impl CardholderData {
    /// First 6 and last 4 digits, the rest as `*`.
    pub fn masked_pan(&self) -> String {
        mask_pan(&self.pan)
    }
}

impl fmt::Debug for CardholderData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CardholderData")
            .field("pan", &self.masked_pan())
            .finish_non_exhaustive()
    }
}

/// The PCI display form of a PAN: first six and last four digits.
pub fn mask_pan(pan: &str) -> String {
    let n = pan.len();
    if n < 10 {
        return "*".repeat(n);
    }
    pan.char_indices()
        .map(|(i, c)| if i < 6 || i >= n - 4 { c } else { '*' })
        .collect()
}

/// What a receipt needs from the card session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReceiptData {
    pub aid: String,
    pub label: String,
    pub masked_pan: String,
    pub expiry: String,
    pub cryptogram_name: String,
    pub cryptogram: String,
    pub tvr: String,
    pub tsi: String,
    pub atc: String,
    pub signature_required: bool,
}

/// The end of a card session.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub decision: Decision,
    /// Why, in words a cashier can act on (for declines and errors).
    pub reason: Option<String>,
    pub cryptogram: Option<(CryptogramType, [u8; 8])>,
    pub tvr: Tvr,
    pub tsi: Tsi,
    /// 9F34.
    pub cvm_results: [u8; 3],
    pub cvm: Cvm,
    /// The card asked for, and the terminal ran, an online authorisation.
    pub went_online: bool,
    /// ICC data for ISO 8583 field 55.
    pub field55: Vec<u8>,
    /// 9F5B issuer script results.
    pub script_results: Vec<u8>,
    pub card: Option<CardholderData>,
    pub receipt: ReceiptData,
    /// The applications the card offered that the terminal supports.
    pub applications: Vec<crate::select::Candidate>,
    /// Why offline data authentication failed, when it did.
    pub oda_failure: Option<String>,
}

/// The tags of UnionPay field 55, in the order the host expects them.
pub const FIELD55_TAGS: [u32; 22] = [
    0x9F26, 0x9F27, 0x9F10, 0x9F37, 0x9F36, 0x95, 0x9A, 0x9C, 0x9F02, 0x5F2A, 0x82, 0x9F1A, 0x9F03, 0x9F33,
    0x9F34, 0x9F35, 0x9F1E, 0x84, 0x9F09, 0x9F41, 0x9F63, 0x5F34,
];

/// Field 55 from the data store: every listed tag that is present.
pub fn field55(data: &DataStore) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    for tag in FIELD55_TAGS {
        if let Some(v) = data.get(Tag(tag)) {
            write_tlv(Tag(tag), v, &mut out);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking() {
        assert_eq!(mask_pan("4761739001010010"), "476173******0010");
        assert_eq!(mask_pan("123"), "***");
        let c = CardholderData {
            pan: Zeroizing::new("4761739001010010".into()),
            ..Default::default()
        };
        assert!(!format!("{c:?}").contains("4761739001010010"));
    }
}
