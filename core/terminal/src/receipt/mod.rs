//! Receipts: built from the journal (never from the card: the PAN is only
//! ever the store's masked form, DESIGN rule 5), laid out for 58 mm
//! (32 columns) and 80 mm (48 columns) paper, rendered as plain text or
//! as ESC/POS bytes for the [`Printer`].
//!
//! The merchant copy carries the signature line when the cardholder
//! verification asked for a signature; the customer copy never does.

mod escpos;
mod layout;
mod printer;

use poskit_store::{
    CryptogramKind, EntryMode, QrOrder, QrOrderState, Store, StoreError, TransactionRecord, TxnId, TxnKind,
    TxnState, Verification, Wallet,
};

use crate::error::{Result, TerminalError};
use layout::{Layout, Line, Style};
pub use printer::{MemoryPrinter, Printer, PrinterError};

/// Paper width.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Width {
    /// 58 mm paper: 32 columns of the standard font.
    Mm58,
    /// 80 mm paper: 48 columns.
    Mm80,
}

impl Width {
    pub const fn columns(self) -> usize {
        match self {
            Width::Mm58 => 32,
            Width::Mm80 => 48,
        }
    }
}

/// Which copy: the merchant keeps one (signed, when a signature is due),
/// the customer takes the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReceiptCopy {
    Merchant,
    Customer,
}

/// Who printed the receipt: the merchant and terminal as the acquirer
/// knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptHeader {
    /// As printed; Chinese names print in the printer's GBK mode.
    pub merchant_name: String,
    /// Merchant number (MID, field 42).
    pub merchant_id: String,
    /// Terminal id (TID, field 41).
    pub terminal_id: String,
    /// The local time's offset from UTC, in minutes, for the date printed.
    pub utc_offset_minutes: i32,
}

impl ReceiptHeader {
    /// A header in China Standard Time (UTC+8), where UnionPay terminals
    /// run; set `utc_offset_minutes` for elsewhere.
    pub fn new(merchant_name: &str, merchant_id: &str, terminal_id: &str) -> Self {
        Self {
            merchant_name: merchant_name.to_owned(),
            merchant_id: merchant_id.to_owned(),
            terminal_id: terminal_id.to_owned(),
            utc_offset_minutes: 8 * 60,
        }
    }
}

/// The transaction a void, refund or completion refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginalRef {
    pub trace_no: u32,
    pub invoice_no: u32,
    pub rrn: Option<String>,
    pub auth_code: Option<String>,
}

/// A QR payment's references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrReference {
    /// `None` when the journal names an order the store no longer holds.
    pub wallet: Option<Wallet>,
    /// The merchant order number (the gateway's idempotency key).
    pub order_no: String,
    /// The wallet's own transaction id.
    pub wallet_txn_id: Option<String>,
}

impl From<&QrOrder> for QrReference {
    fn from(order: &QrOrder) -> Self {
        Self {
            wallet: Some(order.wallet),
            order_no: order.merchant_order_no.clone(),
            wallet_txn_id: order.wallet_txn_id.clone(),
        }
    }
}

/// Everything a receipt prints. Holds no card data: the PAN only masked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub copy: ReceiptCopy,
    pub reprint: bool,
    pub merchant_name: String,
    pub merchant_id: String,
    pub terminal_id: String,
    /// The journal row, when there is one.
    pub txn_id: Option<TxnId>,
    pub kind: TxnKind,
    /// `false`: a decline slip, with `response_code`.
    pub approved: bool,
    pub response_code: Option<String>,
    /// Unix seconds.
    pub at: i64,
    pub utc_offset_minutes: i32,
    /// Minor units of `currency`.
    pub amount: u64,
    /// ISO 4217, numeric or alphabetic.
    pub currency: String,
    /// First 6 / last 4, as the store masks it.
    pub masked_pan: Option<String>,
    /// `None` when no card was read (by reference).
    pub entry_mode: Option<EntryMode>,
    pub app_label: Option<String>,
    pub aid: Option<String>,
    /// TC, ARQC or AAC with its value in hex.
    pub cryptogram: Option<(CryptogramKind, String)>,
    pub tvr: Option<String>,
    pub tsi: Option<String>,
    pub verification: Option<Verification>,
    pub signature_required: bool,
    pub batch_no: Option<u32>,
    /// The STAN.
    pub trace_no: Option<u32>,
    pub invoice_no: Option<u32>,
    /// Retrieval reference number (field 37).
    pub rrn: Option<String>,
    pub auth_code: Option<String>,
    pub original: Option<OriginalRef>,
    pub qr: Option<QrReference>,
    /// Minor units of `currency`; negative when overdrawn.
    pub balance: Option<i64>,
}

fn no_receipt(what: String) -> TerminalError {
    TerminalError::NoReceipt(what)
}

impl Receipt {
    fn blank(header: &ReceiptHeader, copy: ReceiptCopy, reprint: bool, kind: TxnKind) -> Self {
        Self {
            copy,
            reprint,
            merchant_name: header.merchant_name.clone(),
            merchant_id: header.merchant_id.clone(),
            terminal_id: header.terminal_id.clone(),
            txn_id: None,
            kind,
            approved: true,
            response_code: None,
            at: 0,
            utc_offset_minutes: header.utc_offset_minutes,
            amount: 0,
            currency: String::new(),
            masked_pan: None,
            entry_mode: None,
            app_label: None,
            aid: None,
            cryptogram: None,
            tvr: None,
            tsi: None,
            verification: None,
            signature_required: false,
            batch_no: None,
            trace_no: None,
            invoice_no: None,
            rrn: None,
            auth_code: None,
            original: None,
            qr: None,
            balance: None,
        }
    }

    /// The receipt of journal row `id`: approved transactions (also once
    /// voided, refunded or settled) and declines. A transaction still in
    /// flight, reversed or never sent has none.
    pub fn for_transaction(
        store: &Store,
        header: &ReceiptHeader,
        id: TxnId,
        copy: ReceiptCopy,
        reprint: bool,
    ) -> Result<Receipt> {
        let rec = store.transaction(id)?;
        let approved = match rec.state {
            TxnState::Approved | TxnState::Settled | TxnState::Voided | TxnState::Refunded => true,
            TxnState::Declined => false,
            TxnState::Pending | TxnState::Sent => {
                return Err(no_receipt(format!(
                    "transaction {id} is waiting for the host's answer; print once it has one"
                )));
            }
            TxnState::ReversalPending | TxnState::Reversed => {
                return Err(no_receipt(format!(
                    "transaction {id} was reversed; nothing was charged"
                )));
            }
            TxnState::Aborted => {
                return Err(no_receipt(format!(
                    "transaction {id} was never sent; nothing was charged"
                )));
            }
        };
        let original = rec.original_id.map(|o| store.transaction(o)).transpose()?;
        let details = store.receipt_details(id)?.unwrap_or_default();
        let qr = match &rec.merchant_order_no {
            None => None,
            Some(no) => match store.qr_order(no) {
                Ok(order) => Some(QrReference::from(&order)),
                Err(StoreError::NotFound { .. }) => Some(QrReference {
                    wallet: None,
                    order_no: no.clone(),
                    wallet_txn_id: None,
                }),
                Err(e) => return Err(e.into()),
            },
        };
        let mut r = Receipt::blank(header, copy, reprint, rec.kind);
        r.fill_from_journal(&rec, original.as_ref());
        r.approved = approved;
        r.response_code = (!approved).then(|| rec.response_code.clone()).flatten();
        r.app_label = details.app_label;
        r.aid = details.aid.or(rec.aid);
        r.cryptogram = details.cryptogram;
        r.tvr = details.tvr;
        r.tsi = details.tsi;
        r.verification = Some(details.verification).filter(|v| *v != Verification::NotPerformed);
        r.signature_required = details.signature_required && approved;
        r.balance = details.balance;
        r.qr = qr;
        Ok(r)
    }

    fn fill_from_journal(&mut self, rec: &TransactionRecord, original: Option<&TransactionRecord>) {
        self.txn_id = Some(rec.id);
        self.at = rec.created_at;
        self.amount = rec.amount;
        self.currency = rec.currency.clone();
        // A void or refund by reference read no card: the card is the
        // original's.
        self.masked_pan = rec
            .pan_masked
            .clone()
            .or_else(|| original.and_then(|o| o.pan_masked.clone()));
        self.entry_mode = Some(rec.entry_mode).filter(|m| *m != EntryMode::NotPresent);
        self.batch_no = Some(rec.batch_no);
        self.trace_no = Some(rec.stan);
        self.invoice_no = Some(rec.invoice_no);
        self.rrn = rec.rrn.clone();
        self.auth_code = rec.auth_code.clone();
        self.original = original.map(|o| OriginalRef {
            trace_no: o.stan,
            invoice_no: o.invoice_no,
            rrn: o.rrn.clone(),
            auth_code: o.auth_code.clone(),
        });
    }

    /// The receipt of a paid QR order, with its order reference. Orders
    /// that were not paid (or not yet) have none.
    pub fn for_qr_order(
        store: &Store,
        header: &ReceiptHeader,
        order_no: &str,
        copy: ReceiptCopy,
        reprint: bool,
    ) -> Result<Receipt> {
        let order = store.qr_order(order_no)?;
        match order.state {
            QrOrderState::Paid | QrOrderState::Refunded => {}
            QrOrderState::Created | QrOrderState::Paying | QrOrderState::Cancelling => {
                return Err(no_receipt(format!(
                    "QR order {order_no} is not paid yet; print once the wallet confirms it"
                )));
            }
            QrOrderState::Failed | QrOrderState::Cancelled | QrOrderState::Closed => {
                return Err(no_receipt(format!(
                    "QR order {order_no} was not paid; nothing was charged"
                )));
            }
        }
        if let Some(id) = order.txn_id {
            let mut r = Receipt::for_transaction(store, header, id, copy, reprint)?;
            r.qr = Some(QrReference::from(&order));
            return Ok(r);
        }
        let mut r = Receipt::blank(header, copy, reprint, TxnKind::QrSale);
        r.at = order.created_at;
        r.amount = order.amount;
        r.currency = order.currency.clone();
        r.entry_mode = Some(EntryMode::Qr);
        r.qr = Some(QrReference::from(&order));
        Ok(r)
    }

    /// The receipt as text, one line per printed line.
    pub fn text(&self, width: Width) -> String {
        let mut out = String::new();
        for line in self.layout(width) {
            out.push_str(&line.text);
            out.push('\n');
        }
        out
    }

    /// The receipt as an ESC/POS print job.
    pub fn escpos(&self, width: Width) -> Vec<u8> {
        escpos::encode(&self.layout(width))
    }

    fn layout(&self, width: Width) -> Vec<Line> {
        let mut l = Layout::new(width.columns());
        let plain = Style::PLAIN;
        l.centred(&self.merchant_name, Style::TITLE);
        l.centred(
            match self.copy {
                ReceiptCopy::Merchant => "MERCHANT COPY",
                ReceiptCopy::Customer => "CUSTOMER COPY",
            },
            plain,
        );
        if self.reprint {
            l.centred("*** REPRINT ***", Style::BOLD);
        }
        l.rule();
        l.pair("MERCHANT ID", &self.merchant_id, plain);
        l.pair("TERMINAL ID", &self.terminal_id, plain);
        l.rule();
        l.left(kind_title(self.kind), Style::BOLD);
        if !self.approved {
            let code = self.response_code.as_deref().unwrap_or("--");
            l.left(&format!("DECLINED (RESPONSE {code})"), Style::BOLD);
        }
        let opt = |l: &mut Layout, label: &str, value: Option<&str>| {
            if let Some(v) = value.filter(|v| !v.trim().is_empty()) {
                l.pair(label, v, plain);
            }
        };
        opt(&mut l, "CARD NO", self.masked_pan.as_deref());
        opt(&mut l, "ENTRY", self.entry_mode.and_then(entry_label));
        opt(&mut l, "APP", self.app_label.as_deref());
        opt(&mut l, "AID", self.aid.as_deref());
        if let Some((kind, value)) = &self.cryptogram {
            l.pair(kind.as_str(), value, plain);
        }
        opt(&mut l, "TVR", self.tvr.as_deref());
        opt(&mut l, "TSI", self.tsi.as_deref());
        if let Some(qr) = &self.qr {
            opt(&mut l, "WALLET", qr.wallet.map(wallet_label));
            l.pair("ORDER NO", &qr.order_no, plain);
            opt(&mut l, "WALLET REF", qr.wallet_txn_id.as_deref());
        }
        let six = |n: Option<u32>| n.map(|n| format!("{n:06}"));
        opt(&mut l, "BATCH NO", six(self.batch_no).as_deref());
        opt(&mut l, "TRACE NO", six(self.trace_no).as_deref());
        opt(&mut l, "INVOICE NO", six(self.invoice_no).as_deref());
        opt(&mut l, "REF NO", self.rrn.as_deref());
        opt(&mut l, "AUTH CODE", self.auth_code.as_deref());
        if let Some(o) = &self.original {
            l.pair("ORIG TRACE NO", &format!("{:06}", o.trace_no), plain);
            l.pair("ORIG INVOICE NO", &format!("{:06}", o.invoice_no), plain);
            opt(&mut l, "ORIG REF NO", o.rrn.as_deref());
            opt(&mut l, "ORIG AUTH CODE", o.auth_code.as_deref());
        }
        l.pair("DATE/TIME", &date_time(self.at, self.utc_offset_minutes), plain);
        l.rule();
        if self.kind != TxnKind::BalanceInquiry {
            let sign = if returns_money(self.kind) { "-" } else { "" };
            let amount = money(&self.currency, self.amount, sign);
            l.pair("AMOUNT", &amount, Style::TITLE);
        }
        if let Some(balance) = self.balance {
            let sign = if balance < 0 { "-" } else { "" };
            l.pair(
                "BALANCE",
                &money(&self.currency, balance.unsigned_abs(), sign),
                Style::TITLE,
            );
        }
        l.rule();
        if self.approved {
            self.verification_lines(&mut l);
        }
        l.lines()
    }

    fn verification_lines(&self, l: &mut Layout) {
        let plain = Style::PLAIN;
        match self.verification {
            Some(
                Verification::OnlinePin | Verification::OfflinePin | Verification::OfflinePinAndSignature,
            ) => l.left("PIN VERIFIED", plain),
            Some(Verification::ConsumerDevice) => l.left("VERIFIED ON CARDHOLDER DEVICE", plain),
            Some(Verification::NoCvm) if !self.signature_required => l.left("NO SIGNATURE REQUIRED", plain),
            _ => {}
        }
        if !self.signature_required {
            return;
        }
        match self.copy {
            ReceiptCopy::Merchant => {
                l.left("CARDHOLDER SIGNATURE", plain);
                l.blank();
                l.blank();
                l.left(&format!("X{}", "_".repeat(l.width() - 1)), plain);
                l.left("I confirm this transaction and the amount shown above.", plain);
            }
            ReceiptCopy::Customer => l.left("SIGNED ON THE MERCHANT COPY", plain),
        }
    }
}

/// Prints `receipt` on `printer`; a printer failure is logged in the fault
/// log (class printer) and returned, with what the cashier should do.
pub fn print(
    store: &mut Store,
    printer: &dyn Printer,
    receipt: &Receipt,
    width: Width,
    now: u64,
) -> Result<()> {
    let job = receipt.escpos(width);
    printer.print(&job).map_err(|e| {
        crate::faults::note(
            store,
            poskit_store::FaultCategory::Printer,
            &e.to_string(),
            receipt.txn_id,
            now,
        );
        TerminalError::Printer(e)
    })
}

fn kind_title(kind: TxnKind) -> &'static str {
    match kind {
        TxnKind::Sale => "SALE",
        TxnKind::Void => "VOID",
        TxnKind::Refund => "REFUND",
        TxnKind::PreAuth => "PRE-AUTH",
        TxnKind::PreAuthVoid => "PRE-AUTH VOID",
        TxnKind::Completion => "PRE-AUTH COMPLETION",
        TxnKind::CompletionVoid => "COMPLETION VOID",
        TxnKind::BalanceInquiry => "BALANCE INQUIRY",
        TxnKind::QrSale => "QR SALE",
        TxnKind::QrRefund => "QR REFUND",
        TxnKind::PrepaidIssue => "PREPAID CARD ISSUE",
        TxnKind::PrepaidTopUp => "PREPAID TOP-UP",
        TxnKind::PrepaidPay => "PREPAID PURCHASE",
        TxnKind::PrepaidBalance => "PREPAID BALANCE",
    }
}

/// Kinds that give money back (printed with a minus sign).
fn returns_money(kind: TxnKind) -> bool {
    matches!(
        kind,
        TxnKind::Void | TxnKind::Refund | TxnKind::PreAuthVoid | TxnKind::CompletionVoid | TxnKind::QrRefund
    )
}

fn entry_label(mode: EntryMode) -> Option<&'static str> {
    Some(match mode {
        EntryMode::Contact => "CHIP",
        EntryMode::Contactless => "CONTACTLESS",
        EntryMode::MagStripe => "SWIPE",
        EntryMode::Fallback => "FALLBACK SWIPE",
        EntryMode::Manual => "MANUAL",
        EntryMode::Qr => "QR CODE",
        EntryMode::NotPresent => return None,
    })
}

fn wallet_label(wallet: Wallet) -> &'static str {
    match wallet {
        Wallet::WeChatPay => "WECHAT PAY",
        Wallet::Alipay => "ALIPAY",
        Wallet::UnionPayQr => "UNIONPAY QR",
        Wallet::EmvcoQr => "EMVCO QR",
    }
}

/// The alphabetic code and minor-unit digits of an ISO 4217 currency
/// given either way; an unknown code prints as given, with two digits.
fn currency(code: &str) -> (&str, u32) {
    match code {
        "156" | "CNY" => ("CNY", 2),
        "344" | "HKD" => ("HKD", 2),
        "446" | "MOP" => ("MOP", 2),
        "901" | "TWD" => ("TWD", 2),
        "840" | "USD" => ("USD", 2),
        "978" | "EUR" => ("EUR", 2),
        "826" | "GBP" => ("GBP", 2),
        "702" | "SGD" => ("SGD", 2),
        "392" | "JPY" => ("JPY", 0),
        "410" | "KRW" => ("KRW", 0),
        other => (other, 2),
    }
}

fn money(code: &str, minor: u64, sign: &str) -> String {
    let (alpha, digits) = currency(code);
    if digits == 0 {
        return format!("{alpha} {sign}{minor}");
    }
    let scale = 10u64.pow(digits);
    format!(
        "{alpha} {sign}{}.{:0width$}",
        minor / scale,
        minor % scale,
        width = digits as usize
    )
}

fn date_time(at: i64, offset_minutes: i32) -> String {
    let local = at + i64::from(offset_minutes) * 60;
    let (y, m, d) = crate::host::civil(local.div_euclid(86_400));
    let t = local.rem_euclid(86_400);
    format!(
        "{y:04}/{m:02}/{d:02} {:02}:{:02}:{:02}",
        t / 3600,
        t / 60 % 60,
        t % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_print_in_major_units_of_their_currency() {
        assert_eq!(money("156", 50_000, ""), "CNY 500.00");
        assert_eq!(money("CNY", 7, "-"), "CNY -0.07");
        assert_eq!(money("392", 1200, ""), "JPY 1200");
        assert_eq!(money("999", 123_456, ""), "999 1234.56");
    }

    #[test]
    fn times_print_in_local_time() {
        // 2023-11-14 22:13:20 UTC is the next morning in Beijing.
        assert_eq!(date_time(1_700_000_000, 480), "2023/11/15 06:13:20");
        assert_eq!(date_time(1_700_000_000, 0), "2023/11/14 22:13:20");
        assert_eq!(date_time(0, -60), "1969/12/31 23:00:00");
    }
}
