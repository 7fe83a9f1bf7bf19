//! What a receipt prints about a card transaction that the journal row
//! does not keep: the application label, the final cryptogram, TVR and
//! TSI, how the cardholder was verified (and so whether a signature line
//! is printed), and a balance from an inquiry.
//!
//! Only receipt-safe values are accepted (DESIGN rule 5): each field has a
//! fixed shape (hex of a fixed length, a short label), the label is
//! refused when it looks like card data, and no field may carry the
//! transaction's own PAN.

use rusqlite::{OptionalExtension, params};

use crate::Store;
use crate::card_data::{self, Scrub};
use crate::error::{Result, StoreError};
use crate::journal::{TxnId, text_enum};

text_enum! {
    /// How the cardholder was verified (EMV CVM results, or the stripe's
    /// equivalent).
    #[derive(Default)]
    Verification, "a cardholder verification method" {
        OnlinePin = "online_pin",
        OfflinePin = "offline_pin",
        /// An offline PIN and a signature line.
        OfflinePinAndSignature = "offline_pin_and_signature",
        Signature = "signature",
        /// Verified on the cardholder's phone (CDCVM).
        ConsumerDevice = "consumer_device",
        NoCvm = "no_cvm",
        /// Verification failed or no rule applied.
        Failed = "failed",
        #[default]
        NotPerformed = "not_performed",
    }
}

text_enum! {
    /// The application cryptogram a card session ended with.
    CryptogramKind, "a cryptogram type" {
        /// Transaction certificate: the card approved.
        Tc = "TC",
        /// Authorisation request: the card went online (contactless
        /// online approvals end here).
        Arqc = "ARQC",
        /// Application authentication cryptogram: the card declined.
        Aac = "AAC",
    }
}

/// The receipt-only facts of one transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReceiptDetails {
    /// The application's label or preferred name (50 / 9F12).
    pub app_label: Option<String>,
    /// The application identifier, hex.
    pub aid: Option<String>,
    /// The last cryptogram and its 8 bytes as 16 hex characters.
    pub cryptogram: Option<(CryptogramKind, String)>,
    /// 10 hex characters.
    pub tvr: Option<String>,
    /// 4 hex characters.
    pub tsi: Option<String>,
    pub verification: Verification,
    /// Print a signature line on the merchant copy.
    pub signature_required: bool,
    /// A balance the host reported (inquiry, prepaid), in minor units of
    /// the transaction's currency; negative when the account is overdrawn.
    pub balance: Option<i64>,
}

/// Longest application label kept, in characters.
const MAX_LABEL: usize = 32;

fn check_hex(field: &'static str, value: &str, lengths: std::ops::RangeInclusive<usize>) -> Result<()> {
    if !lengths.contains(&value.len()) || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(StoreError::InvalidInput {
            field,
            reason: "is not hex of the expected length",
        });
    }
    Ok(())
}

fn validate(details: &ReceiptDetails, pan: Option<&str>) -> Result<()> {
    if let Some(label) = &details.app_label {
        if label.trim().is_empty() || label.chars().count() > MAX_LABEL || label.chars().any(char::is_control)
        {
            return Err(StoreError::InvalidInput {
                field: "application label",
                reason: "must be 1 to 32 printable characters",
            });
        }
        if card_data::scrub(label, Scrub::CardData) != *label {
            return Err(StoreError::CardDataRefused {
                field: "application label",
                what: "a card number",
            });
        }
    }
    if let Some(aid) = &details.aid {
        check_hex("AID", aid, 10..=32)?;
    }
    if let Some((_, value)) = &details.cryptogram {
        check_hex("cryptogram", value, 16..=16)?;
    }
    if let Some(tvr) = &details.tvr {
        check_hex("TVR", tvr, 10..=10)?;
    }
    if let Some(tsi) = &details.tsi {
        check_hex("TSI", tsi, 4..=4)?;
    }
    if let Some(pan) = pan {
        let fields = [
            details.app_label.as_deref(),
            details.aid.as_deref(),
            details.cryptogram.as_ref().map(|(_, v)| v.as_str()),
        ];
        if fields.into_iter().flatten().any(|f| f.contains(pan)) {
            return Err(StoreError::CardDataRefused {
                field: "receipt details",
                what: "the PAN",
            });
        }
    }
    Ok(())
}

impl Store {
    /// Records (or replaces) the receipt details of `txn_id`. Refused when
    /// a field has the wrong shape or carries card data.
    pub fn record_receipt_details(
        &mut self,
        txn_id: TxnId,
        details: &ReceiptDetails,
        now: i64,
    ) -> Result<()> {
        let pan = self.reveal_pan(txn_id)?;
        validate(details, pan.as_ref().map(|p| p.expose_digits()))?;
        let upper = |v: &Option<String>| v.as_ref().map(|s| s.to_ascii_uppercase());
        self.conn.execute(
            "INSERT INTO receipt_details (txn_id, app_label, aid, cryptogram_type, cryptogram, tvr, tsi, cvm,
                 signature_required, balance, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
             ON CONFLICT(txn_id) DO UPDATE SET app_label = excluded.app_label, aid = excluded.aid,
                 cryptogram_type = excluded.cryptogram_type, cryptogram = excluded.cryptogram,
                 tvr = excluded.tvr, tsi = excluded.tsi, cvm = excluded.cvm,
                 signature_required = excluded.signature_required, balance = excluded.balance",
            params![
                txn_id.0,
                details.app_label.as_deref().map(str::trim),
                upper(&details.aid),
                details.cryptogram.as_ref().map(|(k, _)| k.as_str()),
                details.cryptogram.as_ref().map(|(_, v)| v.to_ascii_uppercase()),
                upper(&details.tvr),
                upper(&details.tsi),
                details.verification.as_str(),
                details.signature_required,
                details.balance,
                now,
            ],
        )?;
        Ok(())
    }

    /// The receipt details of `txn_id`, if any were recorded.
    pub fn receipt_details(&self, txn_id: TxnId) -> Result<Option<ReceiptDetails>> {
        type Row = (
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            String,
            bool,
            Option<i64>,
        );
        let row: Option<Row> = self
            .conn
            .query_row(
                "SELECT app_label, aid, cryptogram_type, cryptogram, tvr, tsi, cvm, signature_required, balance
                 FROM receipt_details WHERE txn_id = ?1",
                [txn_id.0],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                        r.get(7)?,
                        r.get(8)?,
                    ))
                },
            )
            .optional()?;
        let Some((app_label, aid, kind, cryptogram, tvr, tsi, cvm, signature_required, balance)) = row else {
            return Ok(None);
        };
        let cryptogram = match (kind, cryptogram) {
            (Some(kind), Some(value)) => Some((CryptogramKind::parse(&kind)?, value)),
            (None, None) => None,
            _ => return Err(StoreError::Corrupt { what: "a cryptogram" }),
        };
        Ok(Some(ReceiptDetails {
            app_label,
            aid,
            cryptogram,
            tvr,
            tsi,
            verification: Verification::parse(&cvm)?,
            signature_required,
            balance,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_are_checked() {
        let ok = ReceiptDetails {
            app_label: Some("VISA CREDIT".into()),
            aid: Some("A0000000031010".into()),
            cryptogram: Some((CryptogramKind::Tc, "A1B2C3D4E5F60708".into())),
            tvr: Some("0000008000".into()),
            tsi: Some("E800".into()),
            verification: Verification::OnlinePin,
            signature_required: false,
            balance: None,
        };
        validate(&ok, Some("4761739001010010")).unwrap();
        for bad in [
            ReceiptDetails {
                tvr: Some("00000080".into()),
                ..ok.clone()
            },
            ReceiptDetails {
                tsi: Some("E8Z0".into()),
                ..ok.clone()
            },
            ReceiptDetails {
                aid: Some("A0".into()),
                ..ok.clone()
            },
            ReceiptDetails {
                app_label: Some("   ".into()),
                ..ok.clone()
            },
            ReceiptDetails {
                app_label: Some("LINE\nBREAK".into()),
                ..ok.clone()
            },
        ] {
            assert!(
                matches!(validate(&bad, None), Err(StoreError::InvalidInput { .. })),
                "{bad:?}"
            );
        }
        let label_pan = ReceiptDetails {
            app_label: Some("4761739001010010".into()),
            ..ok.clone()
        };
        assert!(matches!(
            validate(&label_pan, None),
            Err(StoreError::CardDataRefused { .. })
        ));
        let cryptogram_pan = ReceiptDetails {
            cryptogram: Some((CryptogramKind::Tc, "4761739001010010".into())),
            ..ok
        };
        assert!(matches!(
            validate(&cryptogram_pan, Some("4761739001010010")),
            Err(StoreError::CardDataRefused { .. })
        ));
    }
}
