//! Receipts through the Terminal: built from the journal, printed on the
//! app's printer (merchant and customer copies), reprinted on request,
//! and the fault log's report and diagnostics export.

use poskit_store::TxnId;

use super::Terminal;
use super::outcome::Reference;
use crate::error::{Result, TerminalError};
use crate::events::TerminalEvent;
use crate::faults::FaultReport;
use crate::receipt::{self, Receipt, ReceiptCopy, ReceiptHeader};

impl Terminal {
    fn header(&self, inner: &super::Inner) -> Result<ReceiptHeader> {
        let device = inner.binding.lifecycle().device().ok_or_else(|| {
            TerminalError::NotReady("the terminal is not bound: no receipt header yet".into())
        })?;
        Ok(ReceiptHeader::new(
            &self.merchant_name,
            &device.merchant_id,
            &device.terminal_id,
        ))
    }

    /// The structured receipt of a transaction or paid QR order.
    pub async fn receipt(&self, reference: &Reference, copy: ReceiptCopy, reprint: bool) -> Result<Receipt> {
        let inner = self.lock().await;
        let header = self.header(&inner)?;
        let store = inner.binding.store();
        match reference {
            Reference::Txn(id) => Receipt::for_transaction(store, &header, TxnId(*id), copy, reprint),
            Reference::QrOrder(no) => Receipt::for_qr_order(store, &header, no, copy, reprint),
        }
    }

    /// Prints the merchant and the customer copies of a receipt.
    pub async fn print_receipt(&self, reference: &Reference) -> Result<()> {
        self.print(reference, false).await
    }

    /// Prints both copies again, marked as a reprint.
    pub async fn reprint(&self, reference: &Reference) -> Result<()> {
        self.print(reference, true).await
    }

    async fn print(&self, reference: &Reference, reprint: bool) -> Result<()> {
        for copy in [ReceiptCopy::Merchant, ReceiptCopy::Customer] {
            let r = self.receipt(reference, copy, reprint).await?;
            self.emit(TerminalEvent::Printing {
                copy: match copy {
                    ReceiptCopy::Merchant => "merchant".into(),
                    ReceiptCopy::Customer => "customer".into(),
                },
            });
            let mut inner = self.lock().await;
            receipt::print(
                inner.store(),
                self.devices.printer.as_ref(),
                &r,
                self.receipt_width,
                crate::now(),
            )?;
        }
        Ok(())
    }

    /// Failures by class, with rates per 100 transactions, since `since`
    /// (Unix seconds).
    pub async fn fault_report(&self, since: i64) -> Result<FaultReport> {
        let inner = self.lock().await;
        FaultReport::build(inner.binding.store(), since)
    }

    /// What support needs to diagnose the terminal, with no card data.
    pub async fn diagnostics(&self) -> Result<serde_json::Value> {
        let inner = self.lock().await;
        crate::faults::diagnostics_export(inner.binding.store(), crate::now() as i64)
    }
}
