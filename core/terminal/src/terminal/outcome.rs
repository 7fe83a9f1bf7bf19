//! What operations return: plain data the app shows, prints or sends on.

use std::fmt;

use poskit_store::{TxnKind, TxnState};
use serde::Serialize;

use crate::error::TerminalError;
use crate::events::PaymentMethod;

/// How the app names a transaction later (void, refund, reprint, query):
/// a journal entry, or a QR order by its merchant order number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Reference {
    Txn(i64),
    QrOrder(String),
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reference::Txn(id) => write!(f, "T{id}"),
            Reference::QrOrder(no) => f.write_str(no),
        }
    }
}

impl std::str::FromStr for Reference {
    type Err = TerminalError;

    /// `T<number>` is a journal entry; anything else an order number.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Some(n) = s.strip_prefix('T').and_then(|n| n.parse::<i64>().ok()) {
            return Ok(Reference::Txn(n));
        }
        if s.is_empty()
            || s.len() > 64
            || !s
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(TerminalError::CardholderAction(format!(
                "{s:?} is not a transaction reference: use T<number> or a QR order number"
            )));
        }
        Ok(Reference::QrOrder(s.to_owned()))
    }
}

impl Serialize for Reference {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// How an operation ended, from the cashier's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TxnStatus {
    Approved,
    /// The issuer, the card or the wallet said no.
    Declined,
    /// No usable answer came: the request was reversed (or its reversal
    /// is queued); the customer was not charged.
    Reversed,
    /// Cancelled before anything was charged.
    Cancelled,
    /// The wallet has not given its last word; the terminal keeps asking.
    Pending,
    /// The card session could not finish (card error, not accepted).
    Failed,
    /// Risk control blocked it; nothing was sent.
    Blocked,
}

/// The result of a sale, pre-authorisation, balance inquiry, void, refund
/// or completion.
#[derive(Debug, Clone, Serialize)]
pub struct TxnOutcome {
    pub reference: Option<Reference>,
    #[serde(serialize_with = "kind_name")]
    pub kind: TxnKind,
    pub method: PaymentMethod,
    pub amount: u64,
    pub status: TxnStatus,
    pub response_code: Option<String>,
    pub auth_code: Option<String>,
    pub rrn: Option<String>,
    /// First six and last four digits only.
    pub masked_pan: Option<String>,
    /// For the cashier when not approved: why, and what to do.
    pub message: Option<String>,
    /// Available balance in minor units (balance inquiry, prepaid).
    pub balance: Option<i64>,
    /// The CVM asks for the cardholder's signature on the receipt.
    pub signature_required: bool,
}

impl TxnOutcome {
    pub fn approved(&self) -> bool {
        self.status == TxnStatus::Approved
    }

    pub(crate) fn new(kind: TxnKind, method: PaymentMethod, amount: u64, status: TxnStatus) -> Self {
        Self {
            reference: None,
            kind,
            method,
            amount,
            status,
            response_code: None,
            auth_code: None,
            rrn: None,
            masked_pan: None,
            message: None,
            balance: None,
            signature_required: false,
        }
    }
}

fn kind_name<S: serde::Serializer>(kind: &TxnKind, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(kind.as_str())
}

fn state_name<S: serde::Serializer>(state: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(state)
}

/// One line of the transaction list: card transactions and QR orders.
#[derive(Debug, Clone, Serialize)]
pub struct TxnSummary {
    pub reference: Reference,
    #[serde(serialize_with = "kind_name")]
    pub kind: TxnKind,
    pub method: PaymentMethod,
    pub amount: u64,
    pub currency: String,
    /// The journal's state name (`approved`, `voided`, `paid`, ...).
    #[serde(serialize_with = "state_name")]
    pub state: String,
    pub refunded: u64,
    pub masked_pan: Option<String>,
    /// The wallet for a QR order.
    pub wallet: Option<String>,
    pub original: Option<Reference>,
    pub response_code: Option<String>,
    pub created_at: i64,
    /// Approved and still counting: money the merchant has.
    pub settled_value: bool,
}

impl TxnSummary {
    pub(crate) fn from_record(r: &poskit_store::TransactionRecord) -> Self {
        TxnSummary {
            reference: Reference::Txn(r.id.0),
            kind: r.kind,
            method: PaymentMethod::from_entry(r.entry_mode),
            amount: r.amount,
            currency: r.currency.clone(),
            state: r.state.as_str().to_owned(),
            refunded: r.refunded_amount,
            masked_pan: r.pan_masked.clone(),
            wallet: None,
            original: r.original_id.map(|o| Reference::Txn(o.0)),
            response_code: r.response_code.clone(),
            created_at: r.created_at,
            settled_value: matches!(r.state, TxnState::Approved | TxnState::Settled),
        }
    }

    pub(crate) fn from_order(o: &poskit_store::QrOrder) -> Self {
        TxnSummary {
            reference: Reference::QrOrder(o.merchant_order_no.clone()),
            kind: TxnKind::QrSale,
            method: match o.flow {
                poskit_store::QrFlow::Micropay => PaymentMethod::QrScanned,
                poskit_store::QrFlow::ShownCode => PaymentMethod::QrShown,
            },
            amount: o.amount,
            currency: o.currency.clone(),
            state: o.state.as_str().to_owned(),
            refunded: o.refunded_amount,
            masked_pan: None,
            wallet: Some(o.wallet.as_str().to_owned()),
            original: None,
            response_code: None,
            created_at: o.created_at,
            settled_value: o.state == poskit_store::QrOrderState::Paid,
        }
    }
}

/// What a settlement did.
#[derive(Debug, Clone, Serialize)]
pub struct SettlementReport {
    pub batch_no: u32,
    /// The terminal's and the acquirer's totals agreed at once.
    pub balanced: bool,
    /// Transactions uploaded one by one because the totals did not agree.
    pub uploaded: u32,
    pub debit_count: u32,
    pub debit_amount: u64,
    pub credit_count: u32,
    pub credit_amount: u64,
    /// Reversals and advices sent before the batch closed.
    pub transactions_settled: u64,
}
