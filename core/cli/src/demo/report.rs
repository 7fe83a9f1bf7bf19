//! The day report: what happened, by method, and whether the books agree.

use std::collections::BTreeMap;
use std::fmt::Write;

use poskit::faults::FaultReport;
use poskit::sim::Reconciliation;
use poskit::{PaymentMethod, Reference, SettlementReport, TxnOutcome, TxnStatus, TxnSummary};
use poskit_store::TxnKind;
use serde::Serialize;

/// One step of the day as the summary lists it.
#[derive(Debug, Clone, Serialize)]
pub struct DayTxn {
    pub step: usize,
    pub label: &'static str,
    pub kind: String,
    pub method: String,
    pub amount: u64,
    /// approved, declined, reversed, cancelled, pending, failed, blocked,
    /// or error.
    pub outcome: String,
    pub reference: Option<Reference>,
    pub response_code: Option<String>,
    pub masked_pan: Option<String>,
    pub balance: Option<i64>,
    pub message: Option<String>,
}

fn status_name(s: TxnStatus) -> &'static str {
    match s {
        TxnStatus::Approved => "approved",
        TxnStatus::Declined => "declined",
        TxnStatus::Reversed => "reversed",
        TxnStatus::Cancelled => "cancelled",
        TxnStatus::Pending => "pending",
        TxnStatus::Failed => "failed",
        TxnStatus::Blocked => "blocked",
    }
}

/// What a step of the day produced.
pub enum Played {
    Txn(TxnOutcome),
    /// A balance read from the card's electronic cash purse: nothing sent.
    EcBalance(u64),
}

impl DayTxn {
    pub fn new(step: usize, label: &'static str, result: Result<Played, String>) -> Self {
        match result {
            Ok(Played::EcBalance(balance)) => DayTxn {
                step,
                label,
                kind: "ec_balance".into(),
                method: PaymentMethod::Contact.name().to_owned(),
                amount: 0,
                outcome: "read".into(),
                reference: None,
                response_code: None,
                masked_pan: None,
                balance: i64::try_from(balance).ok(),
                message: None,
            },
            Ok(Played::Txn(o)) => DayTxn {
                step,
                label,
                kind: o.kind.as_str().to_owned(),
                method: o.method.name().to_owned(),
                amount: o.amount,
                outcome: status_name(o.status).to_owned(),
                reference: o.reference,
                response_code: o.response_code,
                masked_pan: o.masked_pan,
                balance: o.balance,
                message: o.message,
            },
            Err(e) => DayTxn {
                step,
                label,
                kind: String::new(),
                method: String::new(),
                amount: 0,
                outcome: "error".into(),
                reference: None,
                response_code: None,
                masked_pan: None,
                balance: None,
                message: Some(e),
            },
        }
    }

    /// One line for the progress display.
    pub fn line(&self) -> String {
        let mut s = format!("{} {} {}", self.outcome, self.kind, money(self.amount));
        if let Some(r) = &self.reference {
            let _ = write!(s, " [{r}]");
        }
        if let Some(p) = &self.masked_pan {
            let _ = write!(s, " {p}");
        }
        if let Some(c) = &self.response_code {
            let _ = write!(s, " rc {c}");
        }
        if let Some(b) = self.balance {
            let _ = write!(s, " balance {}", money_signed(b));
        }
        if let Some(m) = &self.message {
            let _ = write!(s, " - {m}");
        }
        s
    }
}

/// Counts and totals of one payment method.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MethodTotals {
    pub count: u64,
    /// Sales and completions the merchant keeps (after voids and refunds).
    pub sales: u64,
    pub refunds: u64,
}

/// Everything the demo reports.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub merchant_id: String,
    pub terminal_id: String,
    pub transactions: Vec<DayTxn>,
    /// The journal's own list at the end of the day.
    #[serde(skip)]
    pub journal: Vec<TxnSummary>,
    pub settlement: Option<SettlementReport>,
    pub reconciliation: Reconciliation,
    /// Receipt copies printed (merchant and customer).
    pub receipts_printed: usize,
    /// Jobs the printer received.
    pub printer_jobs: usize,
    pub faults: FaultCounts,
    pub elapsed_ms: u64,
}

/// The fault log of the day: counts by class and per 100 transactions.
#[derive(Debug, Clone, Serialize)]
pub struct FaultCounts {
    pub transactions: u64,
    pub total: u64,
    pub per_100: Option<f64>,
    pub by_class: BTreeMap<String, u64>,
}

impl From<&FaultReport> for FaultCounts {
    fn from(r: &FaultReport) -> Self {
        FaultCounts {
            transactions: r.transactions,
            total: r.total,
            per_100: r.total_rate(),
            by_class: r
                .by_class
                .iter()
                .map(|l| (l.category.as_str().to_owned(), l.count))
                .collect(),
        }
    }
}

impl Summary {
    /// By payment method, from the journal.
    pub fn by_method(&self) -> BTreeMap<&'static str, MethodTotals> {
        let mut out: BTreeMap<&'static str, MethodTotals> = BTreeMap::new();
        for t in &self.journal {
            // A completion counts under the method of its pre-authorisation.
            let method = match t.method {
                PaymentMethod::Reference => match self
                    .journal
                    .iter()
                    .find(|o| Some(&o.reference) == t.original.as_ref())
                {
                    Some(o) if t.kind == TxnKind::Completion => o.method.name(),
                    _ => continue,
                },
                m => m.name(),
            };
            let m = out.entry(method).or_default();
            m.count += 1;
            let keeps = matches!(
                t.kind,
                TxnKind::Sale | TxnKind::Completion | TxnKind::QrSale | TxnKind::PrepaidPay
            );
            if keeps && t.settled_value {
                m.sales += t.amount - t.refunded.min(t.amount);
            }
            m.refunds += t.refunded;
        }
        out
    }

    pub fn outcomes(&self) -> BTreeMap<&str, usize> {
        let mut out = BTreeMap::new();
        for t in &self.transactions {
            *out.entry(t.outcome.as_str()).or_insert(0) += 1;
        }
        out
    }
}

pub fn money(minor: u64) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
}

fn money_signed(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    format!("{sign}{}", money(minor.unsigned_abs()))
}

/// The day report as text.
pub fn text(s: &Summary) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nDay report - merchant {}, terminal {}",
        s.merchant_id, s.terminal_id
    );
    let _ = writeln!(
        out,
        "  {:<14}{:>6}{:>14}{:>12}",
        "method", "count", "sales CNY", "refunded"
    );
    for (method, m) in s.by_method() {
        let _ = writeln!(
            out,
            "  {:<14}{:>6}{:>14}{:>12}",
            method,
            m.count,
            money(m.sales),
            money(m.refunds)
        );
    }
    let outcomes: Vec<String> = s.outcomes().iter().map(|(k, v)| format!("{v} {k}")).collect();
    let _ = writeln!(out, "  outcomes: {}", outcomes.join(", "));
    let f = &s.faults;
    let classes: Vec<String> = f.by_class.iter().map(|(k, v)| format!("{v} {k}")).collect();
    let _ = writeln!(
        out,
        "  faults: {} in {} transactions ({} per 100){}{}",
        f.total,
        f.transactions,
        f.per_100.map(|r| format!("{r:.1}")).unwrap_or_else(|| "-".into()),
        if classes.is_empty() { "" } else { ": " },
        classes.join(", ")
    );
    let _ = writeln!(out, "  receipts printed: {}", s.receipts_printed);
    if let Some(st) = &s.settlement {
        let _ = writeln!(
            out,
            "  settlement: batch {} {}",
            st.batch_no,
            if st.balanced { "balanced" } else { "NOT balanced" }
        );
    }
    let r = &s.reconciliation;
    if r.agrees() {
        let _ = writeln!(
            out,
            "  reconciled: {} journal entries with the acquirer, {} QR orders with the wallets",
            r.card_checked, r.qr_checked
        );
    } else {
        let _ = writeln!(out, "  NOT reconciled:");
        for m in &r.mismatches {
            let _ = writeln!(out, "    {m}");
        }
    }
    let _ = write!(out, "  done in {:.1} s", s.elapsed_ms as f64 / 1000.0);
    out
}
