//! The plain data that crosses: what the reader found, what the PIN pad
//! returned, screen events, outcomes, lists and reports. Card numbers only
//! ever cross masked.

use poskit::events::PaymentMethod;
use poskit::{SettlementReport, TxnOutcome, TxnStatus, TxnSummary};

/// What the reader found.
#[derive(Clone, PartialEq, Eq, uniffi::Enum)]
pub enum DetectedCard {
    /// Inserted, chip powered.
    Chip,
    /// Tapped, contactless card activated.
    Contactless,
    /// Swiped: track 2 as read (the core never stores it).
    Swiped { track2: String },
}

/// Track data never reaches a log through `Debug`.
impl std::fmt::Debug for DetectedCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DetectedCard::Chip => f.write_str("Chip"),
            DetectedCard::Contactless => f.write_str("Contactless"),
            DetectedCard::Swiped { .. } => f.write_str("Swiped { track2: <redacted> }"),
        }
    }
}

/// What the PIN pad returned.
#[derive(Clone, PartialEq, Eq, uniffi::Enum)]
pub enum PinEntryResult {
    /// PIN on glass: the digits (the core builds the block or gives the
    /// PIN to the card, and wipes it).
    Digits {
        pin: String,
    },
    /// A secure PIN pad's encrypted ISO format 0 block (8 bytes).
    Block {
        block: Vec<u8>,
    },
    Bypassed,
    Cancelled,
    Unavailable,
}

impl std::fmt::Debug for PinEntryResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PinEntryResult::Digits { .. } => "Digits(..)",
            PinEntryResult::Block { .. } => "Block(..)",
            PinEntryResult::Bypassed => "Bypassed",
            PinEntryResult::Cancelled => "Cancelled",
            PinEntryResult::Unavailable => "Unavailable",
        })
    }
}

/// How the customer paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Method {
    Contact,
    Contactless,
    Magstripe,
    Fallback,
    Manual,
    QrScanned,
    QrShown,
    Reference,
}

impl From<PaymentMethod> for Method {
    fn from(m: PaymentMethod) -> Self {
        match m {
            PaymentMethod::Contact => Method::Contact,
            PaymentMethod::Contactless => Method::Contactless,
            PaymentMethod::Magstripe => Method::Magstripe,
            PaymentMethod::Fallback => Method::Fallback,
            PaymentMethod::Manual => Method::Manual,
            PaymentMethod::QrScanned => Method::QrScanned,
            PaymentMethod::QrShown => Method::QrShown,
            PaymentMethod::Reference => Method::Reference,
        }
    }
}

/// What the cashier's screen shows.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum TerminalEvent {
    PresentCard {
        amount: u64,
        prompt: String,
    },
    CardDetected {
        method: Method,
    },
    UseMagstripe,
    InsertCard {
        reason: String,
    },
    SelectApplication {
        labels: Vec<String>,
    },
    EnterPin {
        online: bool,
        last_try: bool,
    },
    Processing,
    RemoveCard,
    Approved {
        reference: String,
        amount: u64,
        auth_code: Option<String>,
    },
    Declined {
        reference: Option<String>,
        reason: String,
    },
    QrShown {
        order_no: String,
        content: String,
        expires_at: i64,
    },
    WaitingForPassword {
        order_no: String,
    },
    WaitingForScan {
        order_no: String,
    },
    Cancelling {
        order_no: String,
    },
    Reversing {
        reason: String,
    },
    Printing {
        copy: String,
    },
    RiskAlert {
        rule: String,
        verdict: String,
        reason: String,
    },
    Message {
        text: String,
    },
}

impl From<poskit::TerminalEvent> for TerminalEvent {
    fn from(e: poskit::TerminalEvent) -> Self {
        use TerminalEvent as R;
        use poskit::TerminalEvent as E;
        match e {
            E::PresentCard { amount, prompt } => R::PresentCard { amount, prompt },
            E::CardDetected { method } => R::CardDetected {
                method: method.into(),
            },
            E::UseMagstripe => R::UseMagstripe,
            E::InsertCard { reason } => R::InsertCard { reason },
            E::SelectApplication { labels } => R::SelectApplication { labels },
            E::EnterPin { online, last_try } => R::EnterPin { online, last_try },
            E::Processing => R::Processing,
            E::RemoveCard => R::RemoveCard,
            E::Approved {
                reference,
                amount,
                auth_code,
            } => R::Approved {
                reference,
                amount,
                auth_code,
            },
            E::Declined { reference, reason } => R::Declined { reference, reason },
            E::QrShown {
                order_no,
                content,
                expires_at,
            } => R::QrShown {
                order_no,
                content,
                expires_at,
            },
            E::WaitingForPassword { order_no } => R::WaitingForPassword { order_no },
            E::WaitingForScan { order_no } => R::WaitingForScan { order_no },
            E::Cancelling { order_no } => R::Cancelling { order_no },
            E::Reversing { reason } => R::Reversing { reason },
            E::Printing { copy } => R::Printing { copy },
            E::RiskAlert {
                rule,
                verdict,
                reason,
            } => R::RiskAlert {
                rule,
                verdict,
                reason,
            },
            E::Message { text } => R::Message { text },
        }
    }
}

/// How an operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Status {
    Approved,
    Declined,
    /// No usable answer: reversed, the customer was not charged.
    Reversed,
    Cancelled,
    /// The wallet has not given its last word yet.
    Pending,
    Failed,
    /// Risk control refused it; nothing was sent.
    Blocked,
}

impl From<TxnStatus> for Status {
    fn from(s: TxnStatus) -> Self {
        match s {
            TxnStatus::Approved => Status::Approved,
            TxnStatus::Declined => Status::Declined,
            TxnStatus::Reversed => Status::Reversed,
            TxnStatus::Cancelled => Status::Cancelled,
            TxnStatus::Pending => Status::Pending,
            TxnStatus::Failed => Status::Failed,
            TxnStatus::Blocked => Status::Blocked,
        }
    }
}

/// The result of a payment or an operation by reference.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Outcome {
    /// `T<n>` for a journal entry, the order number for a QR order; use it
    /// for void, refund, completion, receipts and queries.
    pub reference: Option<String>,
    /// `sale`, `void`, `refund`, `pre_auth`, `completion`, `qr_sale`, ...
    pub kind: String,
    pub method: Method,
    /// Minor units.
    pub amount: u64,
    pub status: Status,
    pub response_code: Option<String>,
    pub auth_code: Option<String>,
    pub rrn: Option<String>,
    /// First six and last four digits only.
    pub masked_pan: Option<String>,
    /// For the cashier when not approved: why, and what to do.
    pub message: Option<String>,
    pub balance: Option<i64>,
    pub signature_required: bool,
}

impl From<TxnOutcome> for Outcome {
    fn from(o: TxnOutcome) -> Self {
        Outcome {
            reference: o.reference.map(|r| r.to_string()),
            kind: o.kind.as_str().to_owned(),
            method: o.method.into(),
            amount: o.amount,
            status: o.status.into(),
            response_code: o.response_code,
            auth_code: o.auth_code,
            rrn: o.rrn,
            masked_pan: o.masked_pan,
            message: o.message,
            balance: o.balance,
            signature_required: o.signature_required,
        }
    }
}

/// One line of the transaction list.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct TransactionLine {
    pub reference: String,
    pub kind: String,
    pub method: Method,
    pub amount: u64,
    pub currency: String,
    pub state: String,
    pub refunded: u64,
    pub masked_pan: Option<String>,
    pub wallet: Option<String>,
    pub original: Option<String>,
    pub response_code: Option<String>,
    pub created_at: i64,
}

impl From<TxnSummary> for TransactionLine {
    fn from(t: TxnSummary) -> Self {
        TransactionLine {
            reference: t.reference.to_string(),
            kind: t.kind.as_str().to_owned(),
            method: t.method.into(),
            amount: t.amount,
            currency: t.currency,
            state: t.state,
            refunded: t.refunded,
            masked_pan: t.masked_pan,
            wallet: t.wallet,
            original: t.original.map(|r| r.to_string()),
            response_code: t.response_code,
            created_at: t.created_at,
        }
    }
}

/// What a settlement did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SettlementResult {
    pub batch_no: u32,
    pub balanced: bool,
    pub uploaded: u32,
    pub debit_count: u32,
    pub debit_amount: u64,
    pub credit_count: u32,
    pub credit_amount: u64,
}

impl From<SettlementReport> for SettlementResult {
    fn from(s: SettlementReport) -> Self {
        SettlementResult {
            batch_no: s.batch_no,
            balanced: s.balanced,
            uploaded: s.uploaded,
            debit_count: s.debit_count,
            debit_amount: s.debit_amount,
            credit_count: s.credit_count,
            credit_amount: s.credit_amount,
        }
    }
}

/// Where the terminal is in its lifecycle.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct LifecycleState {
    /// `unprovisioned`, `under review`, `rejected`, `approved`, `bound`,
    /// `active`.
    pub state: String,
    pub merchant_id: Option<String>,
    pub terminal_id: Option<String>,
}

impl From<poskit_binding::Lifecycle> for LifecycleState {
    fn from(l: poskit_binding::Lifecycle) -> Self {
        let device = l.device().cloned();
        LifecycleState {
            state: l.name().to_owned(),
            merchant_id: device.as_ref().map(|d| d.merchant_id.clone()),
            terminal_id: device.map(|d| d.terminal_id),
        }
    }
}

/// The merchant's application to the platform.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct MerchantApplication {
    pub merchant_name: String,
    pub business_licence: String,
    /// The full id number: only its masked form is kept or sent.
    pub legal_representative_id: String,
    pub settlement_card: String,
    pub settlement_holder: String,
    pub bank_code: String,
    pub contact_phone: String,
    pub documents: Vec<String>,
    pub admin_password: String,
}

impl std::fmt::Debug for MerchantApplication {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MerchantApplication")
            .field("merchant_name", &self.merchant_name)
            .finish_non_exhaustive()
    }
}

impl From<MerchantApplication> for poskit_binding::ApplicationForm {
    fn from(a: MerchantApplication) -> Self {
        poskit_binding::ApplicationForm {
            merchant_name: a.merchant_name,
            business_licence: a.business_licence,
            legal_representative_id: a.legal_representative_id,
            settlement_card: a.settlement_card,
            settlement_holder: a.settlement_holder,
            bank_code: a.bank_code,
            contact_phone: a.contact_phone,
            documents: a.documents,
            admin_password: a.admin_password,
        }
    }
}

/// Failures by class since a time, per 100 transactions.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct FaultSummary {
    pub transactions: u64,
    pub total: u64,
    pub per_100: Option<f64>,
    pub by_class: Vec<FaultCount>,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct FaultCount {
    pub class: String,
    pub count: u64,
    pub per_100: Option<f64>,
}

impl From<&poskit::faults::FaultReport> for FaultSummary {
    fn from(r: &poskit::faults::FaultReport) -> Self {
        FaultSummary {
            transactions: r.transactions,
            total: r.total,
            per_100: r.total_rate(),
            by_class: r
                .by_class
                .iter()
                .map(|l| FaultCount {
                    class: l.category.as_str().to_owned(),
                    count: l.count,
                    per_100: l.per_100,
                })
                .collect(),
        }
    }
}
