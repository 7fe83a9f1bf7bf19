//! Does the terminal's journal say what the hosts' ledgers say? Every
//! transaction the acquirer saw, in the state the journal has it, for the
//! same amount; nothing the acquirer approved that the journal lacks; and
//! every QR order's net payment at the wallet equal to what the journal
//! kept. This is how the demo (and an integrator's test) shows that
//! nothing was charged twice and nothing was lost.

use poskit_sim::acquirer::{AcquirerSim, EntryState};
use poskit_sim::gateway::GatewaySim;
use poskit_store::{QrOrderState, Store, TransactionRecord, TxnState};
use serde::Serialize;

/// The result of a reconciliation.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Reconciliation {
    /// Journal entries compared with the acquirer's ledger.
    pub card_checked: usize,
    /// QR orders compared with the gateway's ledger.
    pub qr_checked: usize,
    /// What disagrees, in words (masked card numbers at most).
    pub mismatches: Vec<String>,
}

impl Reconciliation {
    pub fn agrees(&self) -> bool {
        self.mismatches.is_empty()
    }

    /// Compares the journal in `store` with the acquirer's ledger for
    /// `terminal_id` and, when given, the gateway's.
    pub fn check(
        store: &Store,
        acquirer: &AcquirerSim,
        terminal_id: &str,
        gateway: Option<&GatewaySim>,
    ) -> Result<Reconciliation, poskit_store::StoreError> {
        let mut r = Reconciliation::default();
        let ledger = acquirer.ledger(terminal_id);
        let last_batch = store.counters()?.last_batch;
        // Offline approvals the host learns of from their advice, once it
        // is forwarded: until then it rightly does not know them.
        let advice_owed: Vec<_> = store.pending_saf()?.iter().map(|e| e.txn_id).collect();
        let mut rows: Vec<TransactionRecord> = Vec::new();
        for batch in 1..=last_batch {
            rows.extend(store.transactions_in_batch(batch)?);
        }
        for rec in &rows {
            if rec.stan == 0 {
                continue;
            }
            r.card_checked += 1;
            let stan = format!("{:06}", rec.stan);
            let entry = ledger.iter().find(|e| e.stan == stan && e.batch == rec.batch_no);
            let agrees = match (rec.state, entry.map(|e| e.state)) {
                (
                    TxnState::Approved | TxnState::Settled,
                    Some(EntryState::Approved | EntryState::Completed),
                ) => true,
                // A partial refund leaves the sale approved in the journal.
                (TxnState::Approved | TxnState::Settled, Some(EntryState::Refunded)) => {
                    rec.refunded_amount > 0
                }
                (TxnState::Refunded, Some(EntryState::Refunded | EntryState::Approved)) => true,
                (TxnState::Voided, Some(EntryState::Voided)) => true,
                (TxnState::Reversed, Some(EntryState::Reversed) | None) => true,
                (TxnState::Declined | TxnState::Aborted, None) => true,
                (TxnState::Approved, None) => advice_owed.contains(&rec.id),
                // Approved by the host, refused by the card: reversed.
                (TxnState::Declined, Some(EntryState::Reversed)) => true,
                _ => false,
            };
            if !agrees {
                r.mismatches.push(format!(
                    "{} STAN {stan} batch {}: the journal has it {}, the acquirer {:?}",
                    rec.kind,
                    rec.batch_no,
                    rec.state,
                    entry.map(|e| e.state)
                ));
            }
            if let Some(e) = entry
                && e.amount != rec.amount
            {
                r.mismatches.push(format!(
                    "{} STAN {stan}: the journal says {}, the acquirer {}",
                    rec.kind, rec.amount, e.amount
                ));
            }
        }
        for e in ledger.iter().filter(|e| e.state == EntryState::Approved) {
            let known = rows
                .iter()
                .any(|r| format!("{:06}", r.stan) == e.stan && r.batch_no == e.batch);
            if !known {
                r.mismatches.push(format!(
                    "the acquirer approved STAN {} batch {} ({}) that the journal does not know",
                    e.stan, e.batch, e.masked_pan
                ));
            }
        }
        if let Some(gateway) = gateway {
            let wallet = gateway.ledger();
            let orders = store.qr_orders_between(0, i64::MAX)?;
            for o in &orders {
                r.qr_checked += 1;
                let kept = match o.state {
                    QrOrderState::Paid => i128::from(o.amount) - i128::from(o.refunded_amount),
                    _ => 0,
                };
                let net = wallet.net(&o.merchant_order_no);
                if net != kept || wallet.charges(&o.merchant_order_no) > 1 {
                    r.mismatches.push(format!(
                        "QR order {}: the journal keeps {kept} ({}), the wallet {net} in {} charge(s)",
                        o.merchant_order_no,
                        o.state,
                        wallet.charges(&o.merchant_order_no)
                    ));
                }
            }
            for e in wallet.entries() {
                if !orders.iter().any(|o| o.merchant_order_no == e.order_no) {
                    r.mismatches.push(format!(
                        "the wallet moved money for order {} that the journal does not know",
                        e.order_no
                    ));
                }
            }
        }
        Ok(r)
    }
}
