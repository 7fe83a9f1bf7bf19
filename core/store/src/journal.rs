//! The transaction journal and its state machine (DESIGN rule 4: durable
//! before visible).
//!
//! The order of calls for an online transaction, each committed before the
//! next step happens on the wire or on screen:
//!
//! 1. [`Store::record_new`]: the transaction is `pending`, with its STAN,
//!    invoice and batch numbers.
//! 2. [`Store::mark_sent`]: `sent`, and a provisional reversal is queued in
//!    the same commit, *before* the request leaves the device. A crash from
//!    here on always leaves a reversal to send.
//! 3. [`Store::record_response`]: `approved` or `declined` drops the
//!    provisional reversal; a response that must be reversed (bad MAC, card
//!    declined after host approval) makes it due: `reversal_pending`.
//! 4. Only then is the result shown to the cashier.
//!
//! On start-up, [`Store::recover_in_flight`] turns what a crash interrupted
//! into work: `pending` (never sent) becomes `aborted`, `sent` (response
//! lost) becomes `reversal_pending`.

use std::fmt;

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::Store;
use crate::card_data::{self, Pan, Scrub};
use crate::counters;
use crate::error::{Result, StoreError};

/// A journal row's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TxnId(pub i64);

impl fmt::Display for TxnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The name stored in the database.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Reads a stored name; unknown names are corrupt data.
            pub fn parse(text: &str) -> $crate::Result<Self> {
                match text {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::StoreError::Corrupt { what: $what }),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use text_enum;

text_enum! {
    /// What a transaction does (UnionPay field 60.1 types, the QR flows and
    /// the closed-loop prepaid card messages of docs/prepaid.md).
    TxnKind, "a transaction kind" {
        Sale = "sale",
        Void = "void",
        Refund = "refund",
        PreAuth = "pre_auth",
        PreAuthVoid = "pre_auth_void",
        Completion = "completion",
        CompletionVoid = "completion_void",
        BalanceInquiry = "balance_inquiry",
        QrSale = "qr_sale",
        QrRefund = "qr_refund",
        /// A closed-loop card activated with its first load.
        PrepaidIssue = "prepaid_issue",
        /// A load onto an issued closed-loop card.
        PrepaidTopUp = "prepaid_top_up",
        /// A purchase paid from a closed-loop card's stored value.
        PrepaidPay = "prepaid_pay",
        PrepaidBalance = "prepaid_balance",
    }
}

/// What an approved transaction does to the one it references.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    None,
    VoidsOriginal,
    RefundsOriginal,
}

impl TxnKind {
    /// The kinds this kind may reference as its original, empty when it
    /// stands alone.
    pub fn original_kinds(self) -> &'static [TxnKind] {
        match self {
            TxnKind::Void => &[TxnKind::Sale],
            TxnKind::Refund => &[TxnKind::Sale, TxnKind::Completion],
            TxnKind::PreAuthVoid | TxnKind::Completion => &[TxnKind::PreAuth],
            TxnKind::CompletionVoid => &[TxnKind::Completion],
            TxnKind::QrRefund => &[TxnKind::QrSale],
            TxnKind::Sale
            | TxnKind::PreAuth
            | TxnKind::BalanceInquiry
            | TxnKind::QrSale
            | TxnKind::PrepaidIssue
            | TxnKind::PrepaidTopUp
            | TxnKind::PrepaidPay
            | TxnKind::PrepaidBalance => &[],
        }
    }

    fn effect(self) -> Effect {
        match self {
            TxnKind::Void | TxnKind::PreAuthVoid | TxnKind::CompletionVoid => Effect::VoidsOriginal,
            TxnKind::Refund | TxnKind::QrRefund => Effect::RefundsOriginal,
            _ => Effect::None,
        }
    }

    /// Whether approved transactions of this kind count in settlement
    /// totals: money moves (sales, completions, refunds, purchases paid
    /// with a prepaid card). Voids cancel their original instead, which then
    /// no longer counts; pre-authorisations and inquiries move no money.
    /// Prepaid loads (issue, top up) are not card sales: the cashier took
    /// the customer's money for the card programme, which settles loads
    /// with the merchant outside the card batch (docs/prepaid.md).
    pub fn counts_in_totals(self) -> bool {
        matches!(
            self,
            TxnKind::Sale
                | TxnKind::Completion
                | TxnKind::Refund
                | TxnKind::QrSale
                | TxnKind::QrRefund
                | TxnKind::PrepaidPay
        )
    }

    /// A load of stored value onto a closed-loop card.
    pub fn is_prepaid_load(self) -> bool {
        matches!(self, TxnKind::PrepaidIssue | TxnKind::PrepaidTopUp)
    }

    fn is_qr(self) -> bool {
        matches!(self, TxnKind::QrSale | TxnKind::QrRefund)
    }
}

text_enum! {
    /// Where a transaction is in its life.
    TxnState, "a transaction state" {
        /// Recorded; the request has not left the device.
        Pending = "pending",
        /// The request may have left the device; a provisional reversal is
        /// queued.
        Sent = "sent",
        Approved = "approved",
        Declined = "declined",
        /// Must be reversed; the reversal is queued.
        ReversalPending = "reversal_pending",
        Reversed = "reversed",
        /// Cancelled by an approved void.
        Voided = "voided",
        /// Fully refunded (partial refunds are tracked in
        /// `refunded_amount` and leave the state as it is).
        Refunded = "refunded",
        /// In a settled batch.
        Settled = "settled",
        /// Never sent (interrupted before the request left the device).
        Aborted = "aborted",
    }
}

impl TxnState {
    /// The moves the journal allows.
    pub fn can_become(self, to: TxnState) -> bool {
        use TxnState::*;
        matches!(
            (self, to),
            (Pending, Sent | Approved | Declined | Aborted)
                | (Sent, Approved | Declined | ReversalPending)
                | (Approved, ReversalPending | Voided | Refunded | Settled)
                | (ReversalPending, Reversed)
                | (Settled, Refunded)
        )
    }

    /// A request is out or may be: the outcome is not known yet.
    pub fn is_in_flight(self) -> bool {
        matches!(self, TxnState::Pending | TxnState::Sent)
    }
}

text_enum! {
    /// How the card data was read (ISO 8583 field 22 in substance).
    EntryMode, "an entry mode" {
        Contact = "contact",
        Contactless = "contactless",
        MagStripe = "magstripe",
        /// Magnetic stripe after a chip read failed.
        Fallback = "fallback",
        Manual = "manual",
        Qr = "qr",
        /// No card involved (void or refund by reference).
        NotPresent = "not_present",
    }
}

text_enum! {
    /// Why a reversal is due.
    ReversalReason, "a reversal reason" {
        /// Timeout or lost connection: the outcome is unknown.
        NoResponse = "no_response",
        /// The response MAC did not verify.
        BadMac = "bad_mac",
        /// The host approved, the card declined (second GENERATE AC gave an
        /// AAC), or the terminal could not complete the transaction.
        CardDeclinedAfterApproval = "card_declined_after_approval",
        /// The response could not be parsed or did not match the request.
        MalformedResponse = "malformed_response",
        /// The terminal cancelled after sending.
        Cancelled = "cancelled",
    }
}

/// What the host said, as the terminal judged it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseOutcome {
    Approved,
    Declined,
    /// The response cannot stand and must be reversed.
    MustReverse(ReversalReason),
}

/// A host response to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostResponse {
    pub outcome: ResponseOutcome,
    /// Field 39 (two characters).
    pub response_code: String,
    /// Field 38 (up to six characters).
    pub auth_code: Option<String>,
    /// Field 37 (up to twelve characters).
    pub rrn: Option<String>,
    /// ICC data to keep instead of the request's (e.g. after the second
    /// GENERATE AC). Checked like field 55.
    pub icc_data: Option<Vec<u8>>,
}

impl HostResponse {
    pub fn new(outcome: ResponseOutcome, response_code: &str) -> Self {
        Self {
            outcome,
            response_code: response_code.to_owned(),
            auth_code: None,
            rrn: None,
            icc_data: None,
        }
    }
}

/// A transaction about to be sent or decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTransaction {
    pub kind: TxnKind,
    /// In minor units of `currency`.
    pub amount: u64,
    /// ISO 4217 code, numeric ("156") or alphabetic ("CNY").
    pub currency: String,
    pub entry_mode: EntryMode,
    /// Stored encrypted, hashed for look-ups and masked; never in clear.
    pub pan: Option<Pan>,
    /// Application identifier, hex.
    pub aid: Option<String>,
    /// The transaction voided, refunded or completed.
    pub original_id: Option<TxnId>,
    /// The QR order's merchant order number (QR kinds only, required).
    pub merchant_order_no: Option<String>,
    /// Field 55: EMV data objects, BER-TLV. Refused if it carries a PAN,
    /// track data or PIN data.
    pub icc_data: Option<Vec<u8>>,
    pub created_at: i64,
}

impl NewTransaction {
    pub fn new(kind: TxnKind, amount: u64, currency: &str, entry_mode: EntryMode, created_at: i64) -> Self {
        Self {
            kind,
            amount,
            currency: currency.to_owned(),
            entry_mode,
            pan: None,
            aid: None,
            original_id: None,
            merchant_order_no: None,
            icc_data: None,
            created_at,
        }
    }
}

/// What [`Store::record_new`] allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    pub id: TxnId,
    pub stan: u32,
    pub batch_no: u32,
    pub invoice_no: u32,
}

/// A journal row as read back. The PAN appears only masked; see
/// [`Store::reveal_pan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionRecord {
    pub id: TxnId,
    pub kind: TxnKind,
    pub state: TxnState,
    pub amount: u64,
    pub currency: String,
    pub stan: u32,
    pub batch_no: u32,
    pub invoice_no: u32,
    pub rrn: Option<String>,
    pub auth_code: Option<String>,
    pub response_code: Option<String>,
    pub entry_mode: EntryMode,
    pub aid: Option<String>,
    pub pan_masked: Option<String>,
    pub original_id: Option<TxnId>,
    pub merchant_order_no: Option<String>,
    pub icc_data: Option<Vec<u8>>,
    /// Total of approved refunds against this transaction.
    pub refunded_amount: u64,
    pub fault_reason: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What [`Store::recover_in_flight`] found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Never sent: now `aborted`.
    pub aborted: Vec<TxnId>,
    /// Sent without a recorded response: now `reversal_pending`, with the
    /// reversal due.
    pub reversals_due: Vec<TxnId>,
}

const SELECT_RECORD: &str =
    "SELECT id, kind, state, amount, currency, stan, batch_no, invoice_no, rrn, auth_code,
        response_code, entry_mode, aid, pan_masked, original_id, merchant_order_no, icc_data,
        refunded_amount, fault_reason, created_at, updated_at FROM transactions";

pub(crate) fn amount_from_db(v: i64) -> Result<u64> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt { what: "an amount" })
}

fn number_from_db(v: i64, what: &'static str) -> Result<u32> {
    u32::try_from(v)
        .ok()
        .filter(|v| *v <= counters::COUNTER_MAX)
        .ok_or(StoreError::Corrupt { what })
}

pub(crate) fn amount_to_db(v: u64) -> Result<i64> {
    i64::try_from(v).map_err(|_| StoreError::InvalidInput {
        field: "amount",
        reason: "is too large",
    })
}

fn record_from_row(r: &Row<'_>) -> Result<TransactionRecord> {
    Ok(TransactionRecord {
        id: TxnId(r.get(0)?),
        kind: TxnKind::parse(&r.get::<_, String>(1)?)?,
        state: TxnState::parse(&r.get::<_, String>(2)?)?,
        amount: amount_from_db(r.get(3)?)?,
        currency: r.get(4)?,
        stan: number_from_db(r.get(5)?, "a STAN")?,
        batch_no: number_from_db(r.get(6)?, "a batch number")?,
        invoice_no: number_from_db(r.get(7)?, "an invoice number")?,
        rrn: r.get(8)?,
        auth_code: r.get(9)?,
        response_code: r.get(10)?,
        entry_mode: EntryMode::parse(&r.get::<_, String>(11)?)?,
        aid: r.get(12)?,
        pan_masked: r.get(13)?,
        original_id: r.get::<_, Option<i64>>(14)?.map(TxnId),
        merchant_order_no: r.get(15)?,
        icc_data: r.get(16)?,
        refunded_amount: amount_from_db(r.get(17)?)?,
        fault_reason: r.get(18)?,
        created_at: r.get(19)?,
        updated_at: r.get(20)?,
    })
}

pub(crate) fn load(conn: &Connection, id: TxnId) -> Result<TransactionRecord> {
    let mut stmt = conn.prepare_cached(&format!("{SELECT_RECORD} WHERE id = ?1"))?;
    let mut rows = stmt.query([id.0])?;
    match rows.next()? {
        Some(row) => record_from_row(row),
        None => Err(StoreError::NotFound {
            what: "transaction",
            id: id.to_string(),
        }),
    }
}

pub(crate) fn load_where(
    conn: &Connection,
    clause: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<TransactionRecord>> {
    let mut stmt = conn.prepare_cached(&format!("{SELECT_RECORD} {clause}"))?;
    let mut rows = stmt.query(params)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(record_from_row(row)?);
    }
    Ok(out)
}

/// Moves `id` to `to` if the state machine allows it from its current
/// state; returns the state it left.
pub(crate) fn transition(conn: &Connection, id: TxnId, to: TxnState, now: i64) -> Result<TxnState> {
    let state: Option<String> = conn
        .query_row("SELECT state FROM transactions WHERE id = ?1", [id.0], |r| {
            r.get(0)
        })
        .optional()?;
    let from = TxnState::parse(&state.ok_or_else(|| StoreError::NotFound {
        what: "transaction",
        id: id.to_string(),
    })?)?;
    if !from.can_become(to) {
        return Err(StoreError::InvalidTransition {
            what: "transaction",
            from: from.as_str(),
            to: to.as_str(),
        });
    }
    conn.execute(
        "UPDATE transactions SET state = ?2, updated_at = ?3 WHERE id = ?1",
        params![id.0, to.as_str(), now],
    )?;
    Ok(from)
}

fn check_text(field: &'static str, value: &str, max: usize) -> Result<()> {
    if value.is_empty() || value.len() > max || !value.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(StoreError::InvalidInput {
            field,
            reason: "must be short ASCII letters and digits",
        });
    }
    Ok(())
}

pub(crate) fn check_currency(value: &str) -> Result<()> {
    if value.len() != 3 || !value.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(StoreError::InvalidInput {
            field: "currency",
            reason: "must be a 3-character ISO 4217 code",
        });
    }
    Ok(())
}

pub(crate) fn check_order_no(value: &str) -> Result<()> {
    check_reference("merchant order number", value)
}

/// Order numbers, refund numbers and wallet ids: 1 to 64 printable ASCII
/// characters.
pub(crate) fn check_reference(field: &'static str, value: &str) -> Result<()> {
    if value.is_empty() || value.len() > 64 || !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(StoreError::InvalidInput {
            field,
            reason: "must be 1 to 64 printable ASCII characters",
        });
    }
    Ok(())
}

/// Sum of refunds against `original` that are in flight or approved but
/// not yet applied: what a new refund must leave room for.
fn refunds_in_flight(conn: &Connection, original: TxnId) -> Result<u64> {
    let v: i64 = conn.query_row(
        "SELECT COALESCE(SUM(amount), 0) FROM transactions
         WHERE original_id = ?1 AND kind IN ('refund', 'qr_refund') AND state IN ('pending', 'sent')",
        [original.0],
        |r| r.get(0),
    )?;
    amount_from_db(v)
}

fn check_original(conn: &Connection, txn: &NewTransaction) -> Result<()> {
    let allowed = txn.kind.original_kinds();
    let Some(original_id) = txn.original_id else {
        if allowed.is_empty() {
            return Ok(());
        }
        return Err(StoreError::InvalidInput {
            field: "original transaction",
            reason: "is required for voids, refunds and completions",
        });
    };
    if allowed.is_empty() {
        return Err(StoreError::InvalidInput {
            field: "original transaction",
            reason: "only voids, refunds and completions reference one",
        });
    }
    let original = load(conn, original_id)?;
    if !allowed.contains(&original.kind) {
        return Err(StoreError::InvalidInput {
            field: "original transaction",
            reason: "is of a kind this transaction cannot reference",
        });
    }
    match txn.kind.effect() {
        Effect::VoidsOriginal => {
            // A void cancels a transaction of the open batch, in full.
            let batch_open: bool = conn.query_row(
                "SELECT state = 'open' FROM batches WHERE batch_no = ?1",
                [original.batch_no],
                |r| r.get(0),
            )?;
            if original.state != TxnState::Approved || !batch_open {
                return Err(StoreError::InvalidTransition {
                    what: "original transaction",
                    from: original.state.as_str(),
                    to: TxnState::Voided.as_str(),
                });
            }
            if txn.amount != original.amount {
                return Err(StoreError::InvalidInput {
                    field: "amount",
                    reason: "a void is for the original amount",
                });
            }
            let competing: bool = conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM transactions WHERE original_id = ?1
                   AND kind IN ('void', 'pre_auth_void', 'completion_void')
                   AND state IN ('pending', 'sent', 'approved', 'settled'))",
                [original_id.0],
                |r| r.get(0),
            )?;
            if competing {
                return Err(StoreError::Duplicate {
                    what: "void of transaction",
                    id: original_id.to_string(),
                });
            }
        }
        Effect::RefundsOriginal => {
            if !matches!(original.state, TxnState::Approved | TxnState::Settled) {
                return Err(StoreError::InvalidTransition {
                    what: "original transaction",
                    from: original.state.as_str(),
                    to: TxnState::Refunded.as_str(),
                });
            }
            let remaining = original
                .amount
                .saturating_sub(original.refunded_amount)
                .saturating_sub(refunds_in_flight(conn, original_id)?);
            if txn.amount > remaining || txn.amount == 0 {
                return Err(StoreError::RefundTooLarge {
                    requested: txn.amount,
                    remaining,
                });
            }
        }
        Effect::None => {
            if !matches!(original.state, TxnState::Approved | TxnState::Settled) {
                return Err(StoreError::InvalidInput {
                    field: "original transaction",
                    reason: "is not approved",
                });
            }
        }
    }
    if original.currency != txn.currency {
        return Err(StoreError::InvalidInput {
            field: "currency",
            reason: "differs from the original transaction's",
        });
    }
    Ok(())
}

fn validate_new(txn: &NewTransaction) -> Result<()> {
    amount_to_db(txn.amount)?;
    check_currency(&txn.currency)?;
    if let Some(aid) = &txn.aid {
        if !(10..=32).contains(&aid.len()) || !aid.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(StoreError::InvalidInput {
                field: "AID",
                reason: "must be 5 to 16 bytes in hex",
            });
        }
    }
    match (&txn.merchant_order_no, txn.kind.is_qr()) {
        (Some(no), true) => check_order_no(no)?,
        (None, true) => {
            return Err(StoreError::InvalidInput {
                field: "merchant order number",
                reason: "is required for QR transactions",
            });
        }
        (Some(_), false) => {
            return Err(StoreError::InvalidInput {
                field: "merchant order number",
                reason: "belongs to QR transactions only",
            });
        }
        (None, false) => {}
    }
    if let Some(icc) = &txn.icc_data {
        card_data::check_icc_data("ICC data (field 55)", icc, txn.pan.as_ref())?;
    }
    Ok(())
}

fn check_response(response: &HostResponse) -> Result<()> {
    check_text("response code", &response.response_code, 2)?;
    if let Some(code) = &response.auth_code {
        check_text("authorisation code", code, 6)?;
    }
    if let Some(rrn) = &response.rrn {
        check_text("RRN", rrn, 12)?;
    }
    Ok(())
}

/// Applies an approved void or refund to its original.
fn apply_effect(conn: &Connection, record: &TransactionRecord, now: i64) -> Result<()> {
    let Some(original_id) = record.original_id else {
        return Ok(());
    };
    match record.kind.effect() {
        Effect::None => Ok(()),
        Effect::VoidsOriginal => {
            transition(conn, original_id, TxnState::Voided, now)?;
            Ok(())
        }
        Effect::RefundsOriginal => {
            let original = load(conn, original_id)?;
            // The amount was checked against what was left when the refund
            // was recorded; capping keeps the total sane whatever happened
            // in between.
            let refunded = original
                .refunded_amount
                .saturating_add(record.amount)
                .min(original.amount);
            conn.execute(
                "UPDATE transactions SET refunded_amount = ?2, updated_at = ?3 WHERE id = ?1",
                params![original_id.0, amount_to_db(refunded)?, now],
            )?;
            if refunded == original.amount && original.state.can_become(TxnState::Refunded) {
                transition(conn, original_id, TxnState::Refunded, now)?;
            }
            Ok(())
        }
    }
}

fn set_reversal(conn: &Connection, id: TxnId, reason: ReversalReason, now: i64) -> Result<()> {
    conn.execute(
        "INSERT INTO reversals (txn_id, status, reason, created_at, updated_at)
         VALUES (?1, 'pending', ?2, ?3, ?3)
         ON CONFLICT(txn_id) DO UPDATE SET status = 'pending', reason = excluded.reason,
                                           updated_at = excluded.updated_at",
        params![id.0, reason.as_str(), now],
    )?;
    Ok(())
}

impl Store {
    /// Commits a new `pending` transaction with its STAN, invoice number and
    /// batch number. Call before anything about it leaves the device.
    pub fn record_new(&mut self, txn: &NewTransaction) -> Result<Recorded> {
        validate_new(txn)?;
        self.points.hit("record_new: begin");
        let tx = Store::write_tx(&mut self.conn)?;
        check_original(&tx, txn)?;
        let batch_no = counters::open_batch(&tx, txn.created_at)?;
        let invoice_no = counters::next_invoice(&tx)?;
        tx.execute(
            "INSERT INTO transactions (kind, state, amount, currency, stan, batch_no, invoice_no, entry_mode,
                 aid, original_id, merchant_order_no, icc_data, created_at, updated_at)
             VALUES (?1, 'pending', ?2, ?3, 1, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)",
            params![
                txn.kind.as_str(),
                amount_to_db(txn.amount)?,
                txn.currency,
                batch_no,
                invoice_no,
                txn.entry_mode.as_str(),
                txn.aid.as_ref().map(|a| a.to_ascii_uppercase()),
                txn.original_id.map(|o| o.0),
                txn.merchant_order_no,
                txn.icc_data,
                txn.created_at,
            ],
        )?;
        let id = TxnId(tx.last_insert_rowid());
        self.points.hit("record_new: row inserted");
        let stan = counters::allocate_stan(&tx, batch_no, txn.kind.as_str(), Some(id.0))?;
        tx.execute(
            "UPDATE transactions SET stan = ?2 WHERE id = ?1",
            params![id.0, stan],
        )?;
        if let Some(pan) = &txn.pan {
            // The id is the associated data, so the row must exist first;
            // both writes share one commit.
            let sealed = self.pan_keys.encrypt(pan, id.0, &self.rng)?;
            tx.execute(
                "UPDATE transactions SET pan_masked = ?2, pan_encrypted = ?3, pan_hash = ?4 WHERE id = ?1",
                params![
                    id.0,
                    pan.masked(),
                    sealed,
                    self.pan_keys.lookup_hash(pan).as_slice()
                ],
            )?;
        }
        self.points.hit("record_new: before commit");
        tx.commit()?;
        self.points.hit("record_new: committed");
        Ok(Recorded {
            id,
            stan,
            batch_no,
            invoice_no,
        })
    }

    /// `pending` -> `sent`, queueing a provisional reversal in the same
    /// commit. Call just before the request goes out.
    pub fn mark_sent(&mut self, id: TxnId, now: i64) -> Result<()> {
        self.points.hit("mark_sent: begin");
        let tx = Store::write_tx(&mut self.conn)?;
        transition(&tx, id, TxnState::Sent, now)?;
        self.points.hit("mark_sent: state updated");
        tx.execute(
            "INSERT INTO reversals (txn_id, status, created_at, updated_at) VALUES (?1, 'provisional', ?2, ?2)",
            params![id.0, now],
        )?;
        self.points.hit("mark_sent: before commit");
        tx.commit()?;
        self.points.hit("mark_sent: committed");
        Ok(())
    }

    /// Records the host's answer to a `sent` transaction and returns the new
    /// state. Approved or declined drops the provisional reversal; an
    /// answer that must be reversed makes the reversal due. An approved void
    /// or refund updates its original in the same commit.
    pub fn record_response(&mut self, id: TxnId, response: &HostResponse, now: i64) -> Result<TxnState> {
        check_response(response)?;
        self.points.hit("record_response: begin");
        let tx = Store::write_tx(&mut self.conn)?;
        let record = load(&tx, id)?;
        if let Some(icc) = &response.icc_data {
            let pan = match tx.query_row(
                "SELECT pan_encrypted FROM transactions WHERE id = ?1",
                [id.0],
                |r| r.get::<_, Option<Vec<u8>>>(0),
            )? {
                Some(sealed) => Some(self.pan_keys.decrypt(&sealed, id.0)?),
                None => None,
            };
            card_data::check_icc_data("ICC data (field 55)", icc, pan.as_ref())?;
        }
        let to = match response.outcome {
            ResponseOutcome::Approved => TxnState::Approved,
            ResponseOutcome::Declined => TxnState::Declined,
            ResponseOutcome::MustReverse(_) => TxnState::ReversalPending,
        };
        if record.state != TxnState::Sent {
            return Err(StoreError::InvalidTransition {
                what: "transaction",
                from: record.state.as_str(),
                to: to.as_str(),
            });
        }
        transition(&tx, id, to, now)?;
        tx.execute(
            "UPDATE transactions SET response_code = ?2, auth_code = ?3, rrn = ?4,
                 icc_data = COALESCE(?5, icc_data) WHERE id = ?1",
            params![
                id.0,
                response.response_code,
                response.auth_code,
                response.rrn,
                response.icc_data
            ],
        )?;
        self.points.hit("record_response: state updated");
        match response.outcome {
            ResponseOutcome::MustReverse(reason) => set_reversal(&tx, id, reason, now)?,
            ResponseOutcome::Approved | ResponseOutcome::Declined => {
                tx.execute("DELETE FROM reversals WHERE txn_id = ?1", [id.0])?;
            }
        }
        if response.outcome == ResponseOutcome::Approved {
            apply_effect(&tx, &record, now)?;
        }
        self.points.hit("record_response: before commit");
        tx.commit()?;
        self.points.hit("record_response: committed");
        Ok(to)
    }

    /// Records an offline decision of the card (no host involved):
    /// `pending` -> `approved` queues an offline-approval advice carrying
    /// `icc_data` in the store-and-forward queue in the same commit;
    /// `pending` -> `declined` queues nothing.
    pub fn record_offline(
        &mut self,
        id: TxnId,
        approved: bool,
        auth_code: Option<&str>,
        icc_data: &[u8],
        now: i64,
    ) -> Result<Option<crate::SafId>> {
        if let Some(code) = auth_code {
            check_text("authorisation code", code, 6)?;
        }
        card_data::check_icc_data("ICC data (field 55)", icc_data, None)?;
        let tx = Store::write_tx(&mut self.conn)?;
        let record = load(&tx, id)?;
        if !matches!(record.kind, TxnKind::Sale | TxnKind::PreAuth) {
            return Err(StoreError::InvalidInput {
                field: "transaction kind",
                reason: "only sales and pre-authorisations are decided offline",
            });
        }
        let to = if approved {
            TxnState::Approved
        } else {
            TxnState::Declined
        };
        transition(&tx, id, to, now)?;
        tx.execute(
            "UPDATE transactions SET auth_code = ?2, icc_data = ?3 WHERE id = ?1",
            params![id.0, auth_code, icc_data],
        )?;
        let saf = if approved {
            Some(crate::queues::enqueue_saf(
                &tx,
                id,
                crate::SafKind::OfflineApproval,
                icc_data,
                now,
            )?)
        } else {
            None
        };
        tx.commit()?;
        Ok(saf)
    }

    /// Makes a reversal due for `id`: from `sent` (timeout, lost response,
    /// cancelled after sending), or from `approved` when the card declined
    /// after host approval. A void or refund cannot be reversed from
    /// `approved`: its effect on the original is already applied.
    pub fn mark_reversal_needed(&mut self, id: TxnId, reason: ReversalReason, now: i64) -> Result<()> {
        let tx = Store::write_tx(&mut self.conn)?;
        let record = load(&tx, id)?;
        if record.state == TxnState::Approved && record.kind.effect() != Effect::None {
            return Err(StoreError::InvalidTransition {
                what: "transaction",
                from: record.state.as_str(),
                to: TxnState::ReversalPending.as_str(),
            });
        }
        transition(&tx, id, TxnState::ReversalPending, now)?;
        set_reversal(&tx, id, reason, now)?;
        tx.commit()?;
        Ok(())
    }

    /// `pending` -> `aborted`: the request never left the device.
    pub fn abort(&mut self, id: TxnId, reason: &str, now: i64) -> Result<()> {
        let tx = Store::write_tx(&mut self.conn)?;
        transition(&tx, id, TxnState::Aborted, now)?;
        tx.execute(
            "UPDATE transactions SET fault_reason = ?2 WHERE id = ?1",
            params![id.0, card_data::scrub(reason, Scrub::Strict)],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Notes why a transaction failed (shown in transaction queries).
    /// Anything that looks like card data is removed first.
    pub fn note_fault_reason(&mut self, id: TxnId, reason: &str, now: i64) -> Result<()> {
        let n = self.conn.execute(
            "UPDATE transactions SET fault_reason = ?2, updated_at = ?3 WHERE id = ?1",
            params![id.0, card_data::scrub(reason, Scrub::Strict), now],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound {
                what: "transaction",
                id: id.to_string(),
            });
        }
        Ok(())
    }

    /// Turns what a crash interrupted into work (DESIGN rule 4: on restart,
    /// pending work is resumed). Call once at start-up, before any new
    /// transaction: `pending` rows were never sent and become `aborted`;
    /// `sent` rows lost their response and become `reversal_pending`, their
    /// provisional reversal due.
    pub fn recover_in_flight(&mut self, now: i64) -> Result<Recovery> {
        let tx = Store::write_tx(&mut self.conn)?;
        let mut recovery = Recovery::default();
        for record in load_where(&tx, "WHERE state IN ('pending', 'sent') ORDER BY id", [])? {
            if record.state == TxnState::Pending {
                transition(&tx, record.id, TxnState::Aborted, now)?;
                tx.execute(
                    "UPDATE transactions SET fault_reason = 'interrupted before sending' WHERE id = ?1",
                    [record.id.0],
                )?;
                recovery.aborted.push(record.id);
            } else {
                transition(&tx, record.id, TxnState::ReversalPending, now)?;
                set_reversal(&tx, record.id, ReversalReason::NoResponse, now)?;
                recovery.reversals_due.push(record.id);
            }
        }
        tx.commit()?;
        Ok(recovery)
    }

    pub fn transaction(&self, id: TxnId) -> Result<TransactionRecord> {
        load(&self.conn, id)
    }

    /// The transactions of a batch, oldest first.
    pub fn transactions_in_batch(&self, batch_no: u32) -> Result<Vec<TransactionRecord>> {
        load_where(&self.conn, "WHERE batch_no = ?1 ORDER BY id", [batch_no])
    }

    /// Transactions created in `[from, to)` (unix seconds), oldest first.
    pub fn transactions_between(&self, from: i64, to: i64) -> Result<Vec<TransactionRecord>> {
        load_where(
            &self.conn,
            "WHERE created_at >= ?1 AND created_at < ?2 ORDER BY id",
            [from, to],
        )
    }

    /// How many transactions created since `since` (unix seconds) are in
    /// each state, for diagnostics; states without any are left out.
    pub fn transaction_state_counts(&self, since: i64) -> Result<Vec<(TxnState, u64)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT state, COUNT(*) FROM transactions WHERE created_at >= ?1 GROUP BY state ORDER BY state",
        )?;
        let mut rows = stmt.query([since])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let n: i64 = r.get(1)?;
            out.push((
                TxnState::parse(&r.get::<_, String>(0)?)?,
                u64::try_from(n).map_err(|_| StoreError::Corrupt { what: "a count" })?,
            ));
        }
        Ok(out)
    }

    /// Transactions paid with `pan`, found through the keyed hash (the PAN
    /// itself is never searched in clear), oldest first.
    pub fn find_by_card(&self, pan: &Pan) -> Result<Vec<TransactionRecord>> {
        let hash = self.pan_keys.lookup_hash(pan);
        load_where(&self.conn, "WHERE pan_hash = ?1 ORDER BY id", [hash.as_slice()])
    }

    /// The clear PAN of a transaction, for a message that must carry it
    /// (refund or void by reference). Keep it in memory only.
    pub fn reveal_pan(&self, id: TxnId) -> Result<Option<Pan>> {
        let sealed: Option<Option<Vec<u8>>> = self
            .conn
            .query_row(
                "SELECT pan_encrypted FROM transactions WHERE id = ?1",
                [id.0],
                |r| r.get(0),
            )
            .optional()?;
        match sealed {
            None => Err(StoreError::NotFound {
                what: "transaction",
                id: id.to_string(),
            }),
            Some(None) => Ok(None),
            Some(Some(sealed)) => Ok(Some(self.pan_keys.decrypt(&sealed, id.0)?)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_machine_allows_only_the_documented_moves() {
        use TxnState::*;
        let allowed = [
            (Pending, Sent),
            (Pending, Approved),
            (Pending, Declined),
            (Pending, Aborted),
            (Sent, Approved),
            (Sent, Declined),
            (Sent, ReversalPending),
            (Approved, ReversalPending),
            (Approved, Voided),
            (Approved, Refunded),
            (Approved, Settled),
            (ReversalPending, Reversed),
            (Settled, Refunded),
        ];
        for &from in TxnState::ALL {
            for &to in TxnState::ALL {
                assert_eq!(
                    from.can_become(to),
                    allowed.contains(&(from, to)),
                    "{from} -> {to}"
                );
            }
        }
    }

    #[test]
    fn names_round_trip_and_unknown_names_are_corrupt() {
        for &k in TxnKind::ALL {
            assert_eq!(TxnKind::parse(k.as_str()).unwrap(), k);
        }
        for &s in TxnState::ALL {
            assert_eq!(TxnState::parse(s.as_str()).unwrap(), s);
        }
        assert!(matches!(TxnState::parse("paid"), Err(StoreError::Corrupt { .. })));
    }
}
