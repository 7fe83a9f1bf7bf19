//! QR payments through the gateway (docs/qr-gateway.md): the customer shows
//! a payment code (micropay), or the terminal shows a dynamic code; refunds
//! and queries; recovery after a restart.
//!
//! The merchant order number is the gateway's idempotency key, so every
//! order is journaled before its first request (DESIGN rule 4) and an
//! uncertain outcome is settled by query under the same number, never by
//! paying again under a new one. An order the terminal gives up on (the
//! deadline passed, the cashier cancelled, the gateway never saw it) is
//! cancelled (micropay) or closed (shown code), and stays `cancelling` in
//! the journal until the gateway confirms; a restart finishes the job.

mod micropay;
mod orders;
mod recovery;
mod refunds;
mod shown_code;

use std::sync::Arc;
use std::time::Duration;

use poskit_host::gateway::{
    AuthCode, CreateOrderRequest, ErrorCode, FailReason, GatewayClient, GatewayError, MicropayRequest,
    OrderState, OrderStatus, RefundRequest, RefundState, RefundStatus, is_valid_reference,
};
use poskit_qr::mpm::Initiation;
use poskit_qr::{Background, MpmBuilder, QrMatrix};
use poskit_store::{
    NewQrOrder, NewQrRefund, QrFlow, QrOrder, QrOrderState, QrRefund, QrRefundState, Store, StoreError,
    Wallet,
};
use tokio::time::Instant;

use crate::cancel::Cancel;
use crate::error::{Result, TerminalError};
use crate::risk::{RiskCheck, RiskDecision, RiskEngine};

/// Who the merchant is, for the EMVCo merchant-presented codes the
/// terminal draws itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrMerchant {
    pub merchant_id: String,
    pub name: String,
    pub city: String,
    /// ISO 3166 alpha-2.
    pub country: String,
    /// ISO 18245 merchant category code.
    pub mcc: String,
    /// ISO 4217 numeric, as the code carries it.
    pub currency_numeric: String,
    /// The network's globally unique identifier in the merchant account
    /// template (an AID such as UnionPay's A000000333).
    pub account_gui: String,
}

/// How QR payments behave; the defaults are what wallets expect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrSettings {
    /// Between two queries of an order that is not settled yet.
    pub query_interval: Duration,
    /// How long a customer may take to confirm a micropay (password)
    /// before the order is cancelled.
    pub payment_deadline: Duration,
    /// How long a shown code can be paid.
    pub code_lifetime: Duration,
    /// ISO 4217 alpha, as the gateway wants it.
    pub currency: String,
    /// What the customer's wallet shows as the purchase.
    pub description: String,
    pub merchant: QrMerchant,
}

impl QrSettings {
    pub fn new(merchant: QrMerchant) -> Self {
        Self {
            query_interval: Duration::from_secs(3),
            payment_deadline: Duration::from_secs(60),
            code_lifetime: Duration::from_secs(120),
            currency: "CNY".into(),
            description: merchant.name.clone(),
            merchant,
        }
    }
}

/// What the cashier's screen shows while a QR payment runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QrEvent {
    /// The payment request is on its way to the wallet.
    Sending { order_no: String },
    /// The wallet waits for the customer to confirm (password): keep the
    /// customer at the counter.
    WaitingForPassword { order_no: String },
    /// The shown code waits to be scanned and paid.
    WaitingForScan { order_no: String },
    /// The terminal gives up on the order and cancels or closes it.
    Cancelling { order_no: String },
}

/// How a QR payment ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrOutcome {
    pub order_no: String,
    pub wallet: Wallet,
    pub amount: u64,
    /// `Paid`, or why not (`Failed`, `Cancelled`, `Closed`); an open state
    /// (`Cancelling`, `Paying`) means the gateway has not confirmed yet:
    /// the terminal keeps at it, the goods stay on the counter.
    pub state: QrOrderState,
    pub wallet_txn_id: Option<String>,
    /// For the cashier, when not paid: why, and what to do.
    pub message: Option<String>,
}

impl QrOutcome {
    pub fn is_paid(&self) -> bool {
        self.state == QrOrderState::Paid
    }

    /// The gateway has said the last word on the order.
    pub fn is_settled(&self) -> bool {
        !self.state.is_open()
    }
}

/// A dynamic code for the customer to scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownCode {
    pub order_no: String,
    pub wallet: Wallet,
    pub amount: u64,
    /// What the QR code carries: the wallet's URL, or an EMVCo
    /// merchant-presented string.
    pub content: String,
    /// Unix seconds.
    pub expires_at: i64,
}

/// How a QR refund ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrRefundOutcome {
    pub refund_no: String,
    pub order_no: String,
    pub amount: u64,
    /// `Pending` when the gateway has not confirmed yet: it is confirmed
    /// later under the same refund number, never sent as a new refund.
    pub state: QrRefundState,
    /// What is left to refund on the order, once the refund succeeded.
    pub remaining: Option<u64>,
}

/// What a recovery pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QrRecovery {
    /// Orders the gateway settled (paid, failed, cancelled, closed).
    pub orders_settled: usize,
    /// Orders still waiting (for the customer, or for the gateway).
    pub orders_open: usize,
    pub refunds_settled: usize,
    pub refunds_pending: usize,
}

/// The wall clock a flow started at, advanced by the monotonic clock so a
/// long wait stamps its journal writes correctly.
#[derive(Debug, Clone, Copy)]
struct Clock {
    unix: u64,
    at: Instant,
}

impl Clock {
    fn start(unix: u64) -> Self {
        Self {
            unix,
            at: Instant::now(),
        }
    }

    fn now(&self) -> i64 {
        (self.unix + self.at.elapsed().as_secs()) as i64
    }
}

/// Why the terminal gives up on an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GiveUp {
    Deadline,
    Cashier,
    NeverReceived,
    Recovery,
}

impl GiveUp {
    fn message(self) -> &'static str {
        match self {
            GiveUp::Deadline => "the customer did not pay in time; the order was cancelled",
            GiveUp::Cashier => "cancelled by the cashier",
            GiveUp::NeverReceived => "the payment never reached the wallet; nothing was charged: try again",
            GiveUp::Recovery => "the order was left unfinished and has been cancelled",
        }
    }
}

fn qr_error(e: impl std::fmt::Display) -> TerminalError {
    TerminalError::Qr(e.to_string())
}

fn store_wallet(wallet: poskit_qr::Wallet) -> Wallet {
    match wallet {
        poskit_qr::Wallet::WeChatPay => Wallet::WeChatPay,
        poskit_qr::Wallet::Alipay => Wallet::Alipay,
        poskit_qr::Wallet::UnionPayQr => Wallet::UnionPayQr,
    }
}

fn gateway_wallet(wallet: Wallet) -> poskit_host::gateway::Wallet {
    use poskit_host::gateway::Wallet as W;
    match wallet {
        Wallet::WeChatPay => W::WeChatPay,
        Wallet::Alipay => W::Alipay,
        Wallet::UnionPayQr => W::UnionPayQr,
        Wallet::EmvcoQr => W::EmvcoQr,
    }
}

fn failure_message(reason: Option<FailReason>) -> &'static str {
    match reason {
        Some(FailReason::InsufficientBalance) => "insufficient balance: ask for another payment method",
        Some(FailReason::CodeExpired) => {
            "the payment code expired: ask the customer to refresh it and scan again"
        }
        Some(FailReason::CodeInvalid) => {
            "the wallet does not accept this code: ask for another payment method"
        }
        Some(FailReason::UserCancelled) => "the customer cancelled the payment",
        Some(FailReason::RiskRefused) => "the wallet refused the payment: ask for another payment method",
        Some(FailReason::Other) | None => "the wallet refused the payment",
    }
}

/// The journal state a gateway state leads to, if it moves the order.
fn target_state(state: OrderState) -> Option<QrOrderState> {
    match state {
        OrderState::UserPaying => Some(QrOrderState::Paying),
        OrderState::Paid | OrderState::Refunded => Some(QrOrderState::Paid),
        OrderState::Failed => Some(QrOrderState::Failed),
        OrderState::Cancelled => Some(QrOrderState::Cancelled),
        OrderState::Closed => Some(QrOrderState::Closed),
        OrderState::Created | OrderState::NotFound => None,
    }
}

fn outcome(order: &QrOrder, message: Option<String>) -> QrOutcome {
    QrOutcome {
        order_no: order.merchant_order_no.clone(),
        wallet: order.wallet,
        amount: order.amount,
        state: order.state,
        wallet_txn_id: order.wallet_txn_id.clone(),
        message,
    }
}

/// QR payments for one terminal: the gateway client and the settings.
#[derive(Debug, Clone)]
pub struct QrLink {
    gateway: GatewayClient,
    settings: QrSettings,
    risk: Option<Arc<RiskEngine>>,
}
impl QrLink {
    pub fn new(gateway: GatewayClient, settings: QrSettings) -> Self {
        Self {
            gateway,
            settings,
            risk: None,
        }
    }

    pub fn settings(&self) -> &QrSettings {
        &self.settings
    }

    /// Judges every QR payment (micropay, shown code) with `engine` before
    /// its order is journaled or sent.
    pub fn set_risk(&mut self, engine: Arc<RiskEngine>) {
        self.risk = Some(engine);
    }

    /// The risk decision on a new QR sale of `amount`; a block is
    /// [`TerminalError::RiskBlocked`]. No card number: a payment code is the
    /// wallet's one-time token, not a card.
    fn screen(&self, store: &mut Store, amount: u64, now: u64) -> Result<Option<RiskDecision>> {
        let Some(engine) = &self.risk else {
            return Ok(None);
        };
        engine.screen(
            store,
            &RiskCheck {
                kind: poskit_store::TxnKind::QrSale,
                amount,
                currency: &self.settings.currency,
                entry_mode: poskit_store::EntryMode::Qr,
                pan: None,
                now,
            },
        )
    }

    /// Links the decision an order went ahead under to it.
    fn link_decision(store: &mut Store, decision: Option<RiskDecision>, order: &QrOrder) -> Result<()> {
        if let Some(d) = decision {
            store.link_risk_decision_to_qr_order(d.id, &order.merchant_order_no)?;
        }
        Ok(())
    }
}
