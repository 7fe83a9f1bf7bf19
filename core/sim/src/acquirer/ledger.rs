//! The host's record of what it approved: one entry per approved financial
//! transaction, and the settlement totals computed from it the way the
//! terminal's journal computes them (`poskit_store`, `compute_totals`).

use poskit_iso8583::sub::{Totals, TypeCode};

/// Where an approved transaction is in its life at the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryState {
    Approved,
    /// Cancelled by a reversal (0400).
    Reversed,
    /// Cancelled by a void (23), pre-auth void (11) or completion void (21).
    Voided,
    /// At least part of it was refunded (25); see `refunded_amount`.
    Refunded,
    /// A pre-authorisation that a completion (20) used.
    Completed,
}

/// How the host learnt of the transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntrySource {
    /// A request it authorised online.
    Online,
    /// A TC / offline advice (0320, 60.3 203) of an offline approval.
    OfflineAdvice,
    /// A batch upload line (0320, 60.3 201) it had no record of.
    BatchUpload,
}

/// A card account as the host keys its balances: SHA-256 over a random
/// per-simulator salt and the PAN, so neither the ledger nor a debug print
/// holds a card number or an unsalted (guessable) hash of one.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct AccountKey(pub(crate) [u8; 32]);

impl std::fmt::Debug for AccountKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccountKey(..)")
    }
}

/// The original a void, completion or refund refers to: batch and STAN.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EntryRef {
    pub batch: u32,
    pub stan: String,
}

/// One approved financial transaction. Card data only masked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    pub terminal_id: String,
    pub merchant_id: String,
    /// 60.2 of the request.
    pub batch: u32,
    /// Field 11, six digits.
    pub stan: String,
    /// MMDD: field 13 of the request, or the host's date when it had none.
    pub date: String,
    pub kind: TypeCode,
    /// Minor units (0 for a balance inquiry).
    pub amount: u64,
    /// First 6 and last 4 digits.
    pub masked_pan: String,
    /// Field 37 the host gave (or the advice carried).
    pub rrn: String,
    /// Field 38 the host gave; empty for advices and uploads.
    pub auth_code: String,
    pub state: EntryState,
    pub source: EntrySource,
    /// For a void, completion or refund: the transaction it acted on.
    pub original: Option<EntryRef>,
    /// For a sale or completion: how much has been refunded so far.
    pub refunded_amount: u64,
    /// Whether a TC advice (0320 203) came for it.
    pub tc_advised: bool,
    /// Whether the request carried an ARQC that verified.
    pub arqc_verified: bool,
    /// The card account, for the balance effects of voids, refunds and
    /// reversals; never the card number itself.
    pub(crate) account: Option<AccountKey>,
    /// For a void: the state its original had before the void, restored
    /// when the void itself is reversed.
    pub(crate) original_state_before: Option<EntryState>,
}

impl LedgerEntry {
    /// Whether it counts in settlement totals, exactly as the terminal's
    /// store counts: sales, completions and prepaid purchases as debits,
    /// refunds as credits, in the states approved and refunded (a refunded
    /// sale still counts as a sale; the refund is its own line); voided and
    /// reversed ones not at all; pre-authorisations, inquiries and voids
    /// move no money, and prepaid loads are not card sales.
    pub fn counts_in_totals(&self) -> bool {
        matches!(
            self.kind,
            TypeCode::Sale | TypeCode::Completion | TypeCode::Refund | TypeCode::PrepaidPay
        ) && matches!(self.state, EntryState::Approved | EntryState::Refunded)
    }
}

/// The domestic totals of `entries` (all test cards are domestic), in the
/// layout of field 48; the result digit is left 0.
pub fn totals<'a>(entries: impl IntoIterator<Item = &'a LedgerEntry>) -> Totals {
    let mut t = Totals::default();
    for e in entries.into_iter().filter(|e| e.counts_in_totals()) {
        if e.kind == TypeCode::Refund {
            t.credit_amount = t.credit_amount.saturating_add(e.amount);
            t.credit_count = t.credit_count.saturating_add(1);
        } else {
            t.debit_amount = t.debit_amount.saturating_add(e.amount);
            t.debit_count = t.debit_count.saturating_add(1);
        }
    }
    t
}

/// One line of a batch upload (0320, 60.3 201) as the host received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadLine {
    pub terminal_id: String,
    pub batch: u32,
    /// The STAN of the upload message itself.
    pub stan: String,
    /// The STAN of the transaction uploaded.
    pub original_stan: String,
    pub kind: Option<TypeCode>,
    pub amount: u64,
    pub masked_pan: String,
    pub rrn: String,
}

/// A script result advice (0620) as the host received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptResult {
    pub terminal_id: String,
    pub stan: String,
    /// Field 55 of the advice (issuer script results, DF31, and the rest).
    pub field55: Vec<u8>,
}
