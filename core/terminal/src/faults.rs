//! The fault log: every failure classified, counted, and reported as a
//! rate per 100 transactions, so support can tell a worn card reader from
//! a flaky network or an issuer that keeps declining.
//!
//! Who records what, so that nothing is counted twice:
//! - a failure a flow handles and reports as a result (a decline, a
//!   request left without an answer, a card pulled out mid-session, an
//!   unanswered reversal) is recorded by that flow where it happens;
//! - a failure a flow returns as an error is recorded by the public entry
//!   point it leaves through ([`crate::card::card_transaction`],
//!   [`crate::card::swipe_transaction`], [`crate::card::by_reference`], the
//!   acquirer's sign-in, parameter download and settlement, and
//!   [`crate::receipt::print`]);
//! - anything else (the QR flows, the binding operations, the app's own
//!   device code) is the caller's to record with [`record_error`].
//!
//! Retries of queued work (reversals, advices) are not counted again: the
//! failure that queued them already was, and the diagnostics export shows
//! the queues' lengths.
//!
//! Recording a fault never changes the outcome of what failed: if the log
//! itself cannot be written, a warning is logged and the flow goes on.
//!
//! Nothing here carries card data: fault details are scrubbed by the store,
//! and the diagnostics export holds counts, states and names only.

use poskit_binding::BindingError;
use poskit_host::gateway::ErrorCode;
use poskit_host::{GatewayError, HostError};
use poskit_store::{FaultCategory, Store, StoreError, TxnId, rate_per_100};
use serde_json::{Value, json};

use crate::error::{Result, TerminalError};
use crate::host::NoAnswer;
use crate::receipt::PrinterError;

/// The version of the diagnostics export's layout.
pub const DIAGNOSTICS_SCHEMA: u32 = 1;

/// How many of the latest faults the diagnostics export lists.
const RECENT_FAULTS: usize = 20;

const DAY: i64 = 86_400;

/// The class of a failure, `None` when it is no fault of the terminal's
/// (a cancellation, a cashier's mistake, a rule that refused the request).
pub fn classify(err: &TerminalError) -> Option<FaultCategory> {
    use TerminalError as E;
    match err {
        E::Binding(e) => binding_category(e),
        E::Platform(e) => Some(host_category(e)),
        E::Store(e) => store_category(e),
        E::Key(_) | E::NoKey(_) => Some(FaultCategory::Keys),
        E::Io(_) => Some(FaultCategory::Storage),
        E::PaymentCode(_) | E::Qr(_) => Some(FaultCategory::Qr),
        E::Gateway(e) => Some(gateway_category(e)),
        E::CardRead(_) => Some(FaultCategory::CardReader),
        E::NotReady(_) => None,
        E::Config(_) => Some(FaultCategory::Configuration),
        E::Acquirer(_) => Some(FaultCategory::HostError),
        E::BadMac(_) => Some(FaultCategory::Mac),
        E::Printer(_) => Some(FaultCategory::Printer),
        E::RiskRules(_) => Some(FaultCategory::Configuration),
        E::Cancelled | E::CardholderAction(_) | E::NoReceipt(_) | E::RiskBlocked { .. } => None,
    }
}

/// The class of a link failure to the acquirer, the platform or the
/// gateway.
pub fn host_category(err: &HostError) -> FaultCategory {
    match err {
        HostError::Config(_) => FaultCategory::Configuration,
        HostError::Unreachable(_) | HostError::Tls(_) => FaultCategory::Network,
        HostError::Timeout(_) => FaultCategory::HostTimeout,
        HostError::Http { .. } | HostError::Api { .. } | HostError::BadResponse(_) => {
            FaultCategory::HostError
        }
    }
}

fn gateway_category(err: &GatewayError) -> FaultCategory {
    match err {
        GatewayError::Config(_) => FaultCategory::Configuration,
        GatewayError::Transport(failure) => host_category(&failure.error),
        GatewayError::UnverifiedAnswer => FaultCategory::Mac,
        GatewayError::BadResponse(_) => FaultCategory::HostError,
        GatewayError::Refused { code, .. } => match code {
            ErrorCode::BadSignature => FaultCategory::Keys,
            ErrorCode::UnknownTerminal => FaultCategory::Configuration,
            ErrorCode::SystemError | ErrorCode::Unknown => FaultCategory::HostError,
            ErrorCode::BadRequest
            | ErrorCode::DuplicateOrder
            | ErrorCode::DuplicateRefund
            | ErrorCode::OrderNotFound
            | ErrorCode::OrderPaid
            | ErrorCode::OrderNotPaid
            | ErrorCode::RefundTooLarge => FaultCategory::Qr,
        },
        GatewayError::InvalidRequest(_) => FaultCategory::Qr,
    }
}

fn binding_category(err: &BindingError) -> Option<FaultCategory> {
    match err {
        BindingError::Refused { .. } | BindingError::UnexpectedReply(_) => Some(FaultCategory::HostError),
        // The merchant's input, or a rule doing its job.
        BindingError::Invalid { .. }
        | BindingError::WrongState { .. }
        | BindingError::WrongPassword { .. }
        | BindingError::PasswordLocked { .. }
        | BindingError::WrongMerchant
        | BindingError::Unsettled(_)
        | BindingError::TooManyCardChanges { .. }
        | BindingError::Busy(_) => None,
    }
}

fn store_category(err: &StoreError) -> Option<FaultCategory> {
    match err {
        StoreError::WrongKey | StoreError::Keystore(_) | StoreError::Crypto(_) => Some(FaultCategory::Keys),
        StoreError::SchemaTooNew { .. } => Some(FaultCategory::Configuration),
        StoreError::Tampered(_)
        | StoreError::AuditBroken { .. }
        | StoreError::Corrupt { .. }
        | StoreError::Busy
        | StoreError::Io(_)
        | StoreError::Database(_)
        | StoreError::StansExhausted { .. } => Some(FaultCategory::Storage),
        // Refused by design: card data kept out, or a request that does
        // not fit the journal's state. What to do is in the message.
        StoreError::CardDataRefused { .. }
        | StoreError::InvalidTransition { .. }
        | StoreError::NotFound { .. }
        | StoreError::Duplicate { .. }
        | StoreError::InvalidInput { .. }
        | StoreError::RefundTooLarge { .. }
        | StoreError::BatchBusy { .. } => None,
        // Variants added to the store later are storage faults until
        // classified here.
        _ => Some(FaultCategory::Storage),
    }
}

/// The class of a host decline by its response code (field 39); `None`
/// for an approval.
pub fn decline_category(response_code: &str) -> Option<FaultCategory> {
    Some(match response_code.trim() {
        "00" => return None,
        "51" => FaultCategory::DeclineFunds,
        "55" | "75" | "38" => FaultCategory::DeclinePin,
        "91" | "92" | "96" => FaultCategory::DeclineIssuerUnavailable,
        "01" | "02" => FaultCategory::DeclineRefer,
        "04" | "07" | "14" | "33" | "41" | "43" | "54" | "62" => FaultCategory::DeclineCard,
        "A0" => FaultCategory::Mac,
        _ => FaultCategory::DeclineOther,
    })
}

/// The class of a request that ended without a usable answer.
pub fn no_answer_category(no_answer: &NoAnswer) -> FaultCategory {
    match no_answer {
        NoAnswer::Timeout => FaultCategory::HostTimeout,
        NoAnswer::BadMac => FaultCategory::Mac,
        NoAnswer::Unreachable(_) => FaultCategory::Network,
    }
}

/// Records `err` if it is a fault; returns the fault's id.
pub fn record_error(
    store: &mut Store,
    err: &TerminalError,
    txn: Option<TxnId>,
    now: i64,
) -> Result<Option<i64>> {
    let Some(category) = classify(err) else {
        return Ok(None);
    };
    Ok(Some(store.record_fault(category, &err.to_string(), txn, now)?))
}

/// Records a host decline under its response-code group; nothing for an
/// approval.
pub fn record_decline(
    store: &mut Store,
    response_code: &str,
    txn: Option<TxnId>,
    now: i64,
) -> Result<Option<i64>> {
    let Some(category) = decline_category(response_code) else {
        return Ok(None);
    };
    let code: String = response_code
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(2)
        .collect();
    Ok(Some(store.record_fault(
        category,
        &format!("declined by the host, response code {code}"),
        txn,
        now,
    )?))
}

/// Records a printer failure (for the receipt of `txn`, when known).
pub fn record_printer_failure(
    store: &mut Store,
    err: &PrinterError,
    txn: Option<TxnId>,
    now: i64,
) -> Result<i64> {
    Ok(store.record_fault(FaultCategory::Printer, &err.to_string(), txn, now)?)
}

/// Records a fault from inside a flow: the flow's own outcome matters
/// more than its log entry, so a log that cannot be written only warns.
pub(crate) fn note(store: &mut Store, category: FaultCategory, detail: &str, txn: Option<TxnId>, now: u64) {
    if let Err(e) = store.record_fault(category, detail, txn, now as i64) {
        log::warn!("fault log: a {category} fault could not be recorded ({e})");
    }
}

/// [`note`] for a host decline.
pub(crate) fn note_decline(store: &mut Store, response_code: &str, txn: Option<TxnId>, now: u64) {
    if let Err(e) = record_decline(store, response_code, txn, now as i64) {
        log::warn!("fault log: a decline could not be recorded ({e})");
    }
}

/// Records the error a public entry point is about to return, and returns
/// the result unchanged.
pub(crate) fn on_exit<T>(store: &mut Store, result: Result<T>, now: u64) -> Result<T> {
    if let Err(e) = &result {
        if let Some(category) = classify(e) {
            note(store, category, &e.to_string(), None, now);
        }
    }
    result
}

/// One class's count and rate in a [`FaultReport`].
#[derive(Debug, Clone, PartialEq)]
pub struct FaultLine {
    pub category: FaultCategory,
    pub count: u64,
    /// Faults per 100 transactions; `None` without transactions.
    pub per_100: Option<f64>,
}

/// Faults by class since a point in time, against the transactions the
/// journal recorded over the same window.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultReport {
    /// Unix seconds; the window runs from here to now.
    pub since: i64,
    /// Transactions created in the window (every kind and outcome).
    pub transactions: u64,
    /// Faults in the window.
    pub total: u64,
    /// Classes with at least one fault, most frequent first.
    pub by_class: Vec<FaultLine>,
}

impl FaultReport {
    pub fn build(store: &Store, since: i64) -> Result<Self> {
        let transactions = store.transaction_count_since(since)?;
        let by_class: Vec<FaultLine> = store
            .fault_counts(since)?
            .into_iter()
            .map(|(category, count)| FaultLine {
                category,
                count,
                per_100: rate_per_100(count, transactions),
            })
            .collect();
        Ok(Self {
            since,
            transactions,
            total: by_class.iter().map(|l| l.count).sum(),
            by_class,
        })
    }

    /// How many faults of `category` the window holds.
    pub fn count(&self, category: FaultCategory) -> u64 {
        self.by_class
            .iter()
            .find(|l| l.category == category)
            .map_or(0, |l| l.count)
    }

    /// Faults of `category` per 100 transactions; `None` without
    /// transactions.
    pub fn rate(&self, category: FaultCategory) -> Option<f64> {
        rate_per_100(self.count(category), self.transactions)
    }

    /// All faults per 100 transactions.
    pub fn total_rate(&self) -> Option<f64> {
        rate_per_100(self.total, self.transactions)
    }

    pub fn to_json(&self) -> Value {
        let round = |r: Option<f64>| r.map(|r| (r * 100.0).round() / 100.0);
        json!({
            "since": self.since,
            "transactions": self.transactions,
            "faults": self.total,
            "per_100": round(self.total_rate()),
            "by_class": self.by_class.iter().map(|l| json!({
                "class": l.category.as_str(),
                "label": l.category.label(),
                "count": l.count,
                "per_100": round(l.per_100),
            })).collect::<Vec<_>>(),
        })
    }
}

/// What support needs to see of a terminal, without a single card number,
/// masked or not, and without key material: the fault reports of the last
/// day and the last 30 days, the latest faults (class and time only: the
/// free-text details stay on the device), transaction counts by state,
/// queue lengths, batch and counters, the binding state and the names of
/// the keys in the vault.
pub fn diagnostics_export(store: &Store, now: i64) -> Result<Value> {
    let unsettled = store.unsettled()?;
    let counters = store.counters()?;
    let day = FaultReport::build(store, now - DAY)?;
    let month = FaultReport::build(store, now - 30 * DAY)?;
    let by_state: serde_json::Map<String, Value> = store
        .transaction_state_counts(now - 30 * DAY)?
        .into_iter()
        .map(|(state, n)| (state.as_str().to_owned(), json!(n)))
        .collect();
    let recent: Vec<Value> = store
        .faults_since(i64::MIN, RECENT_FAULTS)?
        .into_iter()
        .map(|f| json!({ "class": f.category.as_str(), "at": f.at, "txn_id": f.txn_id.map(|t| t.0) }))
        .collect();
    let binding = match crate::binding::stored_lifecycle(store) {
        Ok(state) => json!(state),
        Err(e) => json!(format!(
            "unreadable: {}",
            e.to_string().chars().take(80).collect::<String>()
        )),
    };
    let keys: Vec<String> = store.vault_entries()?.into_iter().map(|(name, _)| name).collect();
    Ok(json!({
        "schema": DIAGNOSTICS_SCHEMA,
        "generated_at": now,
        "store_schema_version": store.schema_version()?,
        "faults": {
            "last_day": day.to_json(),
            "last_30_days": month.to_json(),
            "recent": recent,
        },
        "transactions_last_30_days": by_state,
        "queues": {
            "in_flight": unsettled.in_flight,
            "reversals_pending": unsettled.reversals_pending,
            "store_and_forward_pending": unsettled.saf_pending,
            "approved_unsettled": unsettled.approved_unsettled,
            "batches_unsettled": unsettled.batches_unsettled,
            "qr_orders_open": unsettled.qr_orders_open,
            "qr_refunds_pending": unsettled.qr_refunds_pending,
        },
        "batch": {
            "open": store.open_batch()?.map(|b| b.batch_no),
            "last": counters.last_batch,
            "last_stan": counters.last_stan,
            "last_invoice": counters.last_invoice,
        },
        "binding": binding,
        "vault_keys": keys,
    }))
}
