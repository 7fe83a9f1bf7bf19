//! Settlement, and what the journal tells: one transaction, or the list.

use poskit_store::TxnId;

use super::Terminal;
use super::outcome::{Reference, SettlementReport, TxnSummary};
use crate::error::Result;
use crate::events::TerminalEvent;

impl Terminal {
    /// Settles the open batch with the acquirer: pending reversals and
    /// advices go first; unbalanced totals are followed by a batch upload.
    /// QR orders are settled by the wallets themselves and are not part of
    /// the acquirer's batch.
    pub async fn settle(&self) -> Result<SettlementReport> {
        let mut inner = self.lock().await;
        inner.require_active()?;
        self.emit(TerminalEvent::Processing);
        let super::Inner { binding, host, .. } = &mut *inner;
        let host = super::bound(host)?;
        let s = host.settle(binding.store_mut(), crate::now()).await?;
        let totals = s.totals.domestic;
        Ok(SettlementReport {
            batch_no: s.batch_no,
            balanced: s.balanced,
            uploaded: s.uploaded,
            debit_count: u32::from(totals.debit_count),
            debit_amount: totals.debit_amount,
            credit_count: u32::from(totals.credit_count),
            credit_amount: totals.credit_amount,
            transactions_settled: s.settled,
        })
    }

    /// One transaction or QR order.
    pub async fn transaction(&self, reference: &Reference) -> Result<TxnSummary> {
        let mut inner = self.lock().await;
        let store = inner.store();
        Ok(match reference {
            Reference::Txn(id) => TxnSummary::from_record(&store.transaction(TxnId(*id))?),
            Reference::QrOrder(no) => TxnSummary::from_order(&store.qr_order(no)?),
        })
    }

    /// Card transactions and QR orders created in `[from, to)` (Unix
    /// seconds), oldest first.
    pub async fn transactions(&self, from: i64, to: i64) -> Result<Vec<TxnSummary>> {
        let mut inner = self.lock().await;
        let store = inner.store();
        let mut list: Vec<TxnSummary> = store
            .transactions_between(from, to)?
            .iter()
            .map(TxnSummary::from_record)
            .collect();
        list.extend(
            store
                .qr_orders_between(from, to)?
                .iter()
                .map(TxnSummary::from_order),
        );
        list.sort_by_key(|t| t.created_at);
        Ok(list)
    }
}
