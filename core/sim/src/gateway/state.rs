//! What the gateway knows and decides: terminals, orders, refunds, the
//! wallets' ledger, the test's behaviours and faults. Synchronous and free
//! of I/O; the server calls it under a lock with the time, the handle
//! reads it.
//!
//! Delayed outcomes ("user paying, then paid in 2 s") are kept as a due
//! time and applied lazily, whenever the state is next looked at: no
//! timers, and the result is the same as if they had fired on time.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use poskit_host::describe_json_error;
use poskit_host::gateway::{
    ApiError, CreateOrderRequest, CreatedOrder, Endpoint, ErrorCode, FailReason, GatewayKey, MicropayRequest,
    OrderRef, OrderState, OrderStatus, RefundRef, RefundRequest, RefundState, RefundStatus, Wallet,
    is_valid_currency, is_valid_reference,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::wallets::{self, Behaviour};

/// The largest amount accepted, minor units (a sanity bound, not a limit
/// of any wallet).
const MAX_AMOUNT: u64 = 100_000_000_000;
/// The longest description or refund reason accepted, in characters.
const MAX_TEXT: usize = 128;
/// The longest a shown code may stay valid: a day.
const MAX_EXPIRES_IN: u32 = 86_400;

/// The time, as the monotonic clock (for delays) and as Unix seconds
/// (for what answers show).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Now {
    pub(crate) instant: Instant,
    pub(crate) unix: i64,
}

impl Now {
    /// The Unix time at which `at` (not after now) happened.
    fn unix_at(&self, at: Instant) -> i64 {
        let ago = self.instant.saturating_duration_since(at).as_secs();
        self.unix.saturating_sub(i64::try_from(ago).unwrap_or(i64::MAX))
    }
}

/// How an order came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderKind {
    /// The customer showed a payment code (`/v1/micropay`).
    Micropay,
    /// The terminal showed a code (`/v1/orders`).
    ShownCode,
}

/// An outcome due later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pending {
    at: Instant,
    outcome: Outcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Paid,
    Failed(FailReason),
}

/// An order as the gateway holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayOrder {
    pub order_no: String,
    pub terminal_id: String,
    pub kind: OrderKind,
    /// `None` for a payment code no wallet recognised.
    pub wallet: Option<Wallet>,
    pub amount: u64,
    pub currency: String,
    pub state: OrderState,
    pub reason: Option<FailReason>,
    pub wallet_txn_id: Option<String>,
    pub paid_at: Option<i64>,
    /// Refunds accepted (succeeded or processing).
    pub refunded_total: u64,
    pub created_at: i64,
    /// Shown-code orders: when the code stops being payable.
    pub expires_at: Option<i64>,
    pub code_url: Option<String>,
    /// Micropay: the payment code, masked (the gateway keeps no more).
    pub auth_code_masked: Option<String>,
    pending: Option<Pending>,
}

impl GatewayOrder {
    fn status(&self) -> OrderStatus {
        OrderStatus {
            order_no: self.order_no.clone(),
            state: self.state,
            wallet: self.wallet,
            amount: Some(self.amount),
            currency: Some(self.currency.clone()),
            refunded_total: Some(self.refunded_total),
            wallet_txn_id: self.wallet_txn_id.clone(),
            paid_at: self.paid_at,
            reason: self.reason,
        }
    }

    fn wait(&mut self, now: Now, after: Duration, outcome: Outcome) {
        self.state = OrderState::UserPaying;
        self.pending = Some(Pending {
            at: now.instant + after,
            outcome,
        });
    }

    fn fail(&mut self, reason: FailReason) {
        self.state = OrderState::Failed;
        self.reason = Some(reason);
        self.pending = None;
    }

    fn expired(&self, unix: i64) -> bool {
        self.expires_at.is_some_and(|at| unix >= at)
    }
}

/// A refund as the gateway holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayRefund {
    pub refund_no: String,
    pub order_no: String,
    pub terminal_id: String,
    pub amount: u64,
    pub state: RefundState,
    pub reason: String,
    pub created_at: i64,
    pub succeeded_at: Option<i64>,
    completes_at: Option<Instant>,
}

/// What a ledger entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LedgerKind {
    /// The wallet took the money from the customer.
    Charge,
    /// A refund gave some back.
    Refund,
    /// A cancel gave back what was left of a charge.
    Reversal,
}

/// One movement of a customer's money.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    pub seq: u64,
    pub kind: LedgerKind,
    pub order_no: String,
    /// For [`LedgerKind::Refund`].
    pub refund_no: Option<String>,
    pub wallet: Option<Wallet>,
    pub amount: u64,
    /// Unix seconds.
    pub at: i64,
}

/// What the wallets charged and gave back, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ledger {
    entries: Vec<LedgerEntry>,
}

impl Ledger {
    pub fn entries(&self) -> &[LedgerEntry] {
        &self.entries
    }

    /// How many times the order was charged (never more than once).
    pub fn charges(&self, order_no: &str) -> usize {
        self.of(order_no, &[LedgerKind::Charge]).count()
    }

    /// What the customer paid for the order.
    pub fn charged(&self, order_no: &str) -> u64 {
        self.of(order_no, &[LedgerKind::Charge]).map(|e| e.amount).sum()
    }

    /// What the customer got back (refunds and reversals).
    pub fn returned(&self, order_no: &str) -> u64 {
        self.of(order_no, &[LedgerKind::Refund, LedgerKind::Reversal])
            .map(|e| e.amount)
            .sum()
    }

    /// The customer's net payment for the order.
    pub fn net(&self, order_no: &str) -> i128 {
        i128::from(self.charged(order_no)) - i128::from(self.returned(order_no))
    }

    /// Checks what must always hold: no order charged twice, nothing given
    /// back beyond what was charged. The error names the first order that
    /// breaks it.
    pub fn check(&self) -> Result<(), String> {
        let mut orders: Vec<&str> = self.entries.iter().map(|e| e.order_no.as_str()).collect();
        orders.sort_unstable();
        orders.dedup();
        for order_no in orders {
            let charges = self.charges(order_no);
            if charges > 1 {
                return Err(format!("order {order_no} was charged {charges} times"));
            }
            let (charged, returned) = (self.charged(order_no), self.returned(order_no));
            if returned > charged {
                return Err(format!(
                    "order {order_no}: {returned} given back of {charged} charged"
                ));
            }
        }
        Ok(())
    }

    fn of<'a>(&'a self, order_no: &'a str, kinds: &'a [LedgerKind]) -> impl Iterator<Item = &'a LedgerEntry> {
        self.entries
            .iter()
            .filter(move |e| e.order_no == order_no && kinds.contains(&e.kind))
    }

    fn push(
        &mut self,
        kind: LedgerKind,
        order: &GatewayOrder,
        refund_no: Option<&str>,
        amount: u64,
        at: i64,
    ) {
        self.entries.push(LedgerEntry {
            seq: self.entries.len() as u64 + 1,
            kind,
            order_no: order.order_no.clone(),
            refund_no: refund_no.map(str::to_owned),
            wallet: order.wallet,
            amount,
            at,
        });
    }
}

/// A fault the test injects into the next request about an order or a
/// refund ([`super::GatewaySim::inject_fault`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Carry the request out, then close the connection without an answer.
    NoAnswer,
    /// Carry the request out, then wait this long before answering (to let
    /// the client time out).
    DelayAnswer(Duration),
    /// Answer `system_error` without carrying anything out.
    SystemError,
    /// Carry the request out, then answer with a signature that does not
    /// verify.
    BadAnswerSignature,
}

/// Why [`super::GatewaySim::customer_pays`] could not pay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PayError {
    #[error("no such order")]
    NotFound,
    #[error("the code expired: the wallet refuses to pay it")]
    Expired,
    #[error("the order is {0}: there is nothing to pay")]
    NotPayable(OrderState),
}

/// A refusal: a stable code and a message that quotes no value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub(crate) code: ErrorCode,
    pub(crate) message: String,
}

impl Refusal {
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }

    /// The HTTP status and JSON body.
    pub(crate) fn answer(&self) -> (u16, Vec<u8>) {
        let body = ApiError {
            code: self.code,
            message: self.message.clone(),
        };
        (
            self.code.http_status(),
            serde_json::to_vec(&body).unwrap_or_default(),
        )
    }
}

/// How the server is to deliver an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    Normal,
    NoAnswer,
    Delay(Duration),
    BadSignature,
}

/// A request handled: the answer and how to deliver it.
#[derive(Debug)]
pub(crate) struct Handled {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
    pub(crate) delivery: Delivery,
}

/// An accepted answer body, and whether the behaviour swallows it.
struct Accepted {
    body: Vec<u8>,
    no_answer: bool,
}

fn accepted<T: Serialize>(value: &T) -> Accepted {
    Accepted {
        body: serde_json::to_vec(value).unwrap_or_default(),
        no_answer: false,
    }
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Refusal> {
    serde_json::from_slice(body)
        .map_err(|e| Refusal::bad_request(format!("malformed body: {}", describe_json_error(&e))))
}

fn check_reference(field: &str, value: &str) -> Result<(), Refusal> {
    if is_valid_reference(value) {
        Ok(())
    } else {
        Err(Refusal::bad_request(format!(
            "{field} must be 6 to 32 characters of [A-Za-z0-9_-]"
        )))
    }
}

fn check_amount(amount: u64) -> Result<(), Refusal> {
    if amount == 0 || amount > MAX_AMOUNT {
        return Err(Refusal::bad_request(format!(
            "amount must be 1 to {MAX_AMOUNT} minor units"
        )));
    }
    Ok(())
}

fn check_money(amount: u64, currency: &str) -> Result<(), Refusal> {
    check_amount(amount)?;
    if !is_valid_currency(currency) {
        return Err(Refusal::bad_request(
            "currency must be an ISO 4217 alphabetic code such as CNY",
        ));
    }
    Ok(())
}

fn check_text(field: &str, value: &str) -> Result<(), Refusal> {
    if value.chars().count() > MAX_TEXT {
        return Err(Refusal::bad_request(format!(
            "{field} is longer than {MAX_TEXT} characters"
        )));
    }
    Ok(())
}

/// The terminal's own order (another terminal's is as good as absent).
fn own_order<'a>(
    orders: &'a mut BTreeMap<String, GatewayOrder>,
    terminal_id: &str,
    order_no: &str,
) -> Result<&'a mut GatewayOrder, Refusal> {
    check_reference("order_no", order_no)?;
    orders
        .get_mut(order_no)
        .filter(|o| o.terminal_id == terminal_id)
        .ok_or_else(|| Refusal::new(ErrorCode::OrderNotFound, "the gateway has no such order"))
}

/// The gateway's whole state.
pub(crate) struct State {
    pub(crate) terminals: HashMap<String, GatewayKey>,
    pub(crate) orders: BTreeMap<String, GatewayOrder>,
    pub(crate) refunds: BTreeMap<String, GatewayRefund>,
    pub(crate) ledger: Ledger,
    /// By order number or payment code.
    pub(crate) behaviours: HashMap<String, Behaviour>,
    /// By refund number: answer `processing` for this long.
    pub(crate) refund_delays: HashMap<String, Duration>,
    /// By order or refund number.
    pub(crate) faults: HashMap<String, VecDeque<Fault>>,
    pub(crate) requests: BTreeMap<Endpoint, usize>,
    pub(crate) answer_delay: Option<Duration>,
    pub(crate) user_paying_delay: Duration,
    txn_seq: u64,
}

impl State {
    pub(crate) fn new(user_paying_delay: Duration) -> Self {
        Self {
            terminals: HashMap::new(),
            orders: BTreeMap::new(),
            refunds: BTreeMap::new(),
            ledger: Ledger::default(),
            behaviours: HashMap::new(),
            refund_delays: HashMap::new(),
            faults: HashMap::new(),
            requests: BTreeMap::new(),
            answer_delay: None,
            user_paying_delay,
            txn_seq: 0,
        }
    }

    /// Handles an authenticated request of `terminal_id`.
    pub(crate) fn handle(&mut self, terminal_id: &str, endpoint: Endpoint, body: &[u8], now: Now) -> Handled {
        self.settle(now);
        let (outcome, delivery) = match endpoint {
            Endpoint::Micropay => self.parsed(body, |s, r: MicropayRequest| {
                let order_no = r.order_no.clone();
                s.faulted(&[&order_no], |s| s.micropay(terminal_id, r, now))
            }),
            Endpoint::CreateOrder => self.parsed(body, |s, r: CreateOrderRequest| {
                let order_no = r.order_no.clone();
                s.faulted(&[&order_no], |s| s.create_order(terminal_id, r, now))
            }),
            Endpoint::Query | Endpoint::Cancel | Endpoint::Close => self.parsed(body, |s, r: OrderRef| {
                s.faulted(&[&r.order_no], |s| match endpoint {
                    Endpoint::Query => s.query(terminal_id, &r.order_no),
                    Endpoint::Cancel => s.cancel(terminal_id, &r.order_no, now),
                    _ => s.close(terminal_id, &r.order_no),
                })
            }),
            Endpoint::Refund => self.parsed(body, |s, r: RefundRequest| {
                let keys = [r.refund_no.clone(), r.order_no.clone()];
                s.faulted(&[&keys[0], &keys[1]], |s| s.refund(terminal_id, r, now))
            }),
            Endpoint::RefundQuery => self.parsed(body, |s, r: RefundRef| {
                let order_no = s
                    .refunds
                    .get(&r.refund_no)
                    .map(|f| f.order_no.clone())
                    .unwrap_or_default();
                s.faulted(&[&r.refund_no, &order_no], |s| {
                    s.query_refund(terminal_id, &r.refund_no)
                })
            }),
        };
        match outcome {
            Ok(answer) => Handled {
                status: 200,
                body: answer.body,
                delivery: if answer.no_answer {
                    Delivery::NoAnswer
                } else {
                    delivery
                },
            },
            Err(refusal) => {
                let (status, body) = refusal.answer();
                Handled {
                    status,
                    body,
                    delivery,
                }
            }
        }
    }

    /// Decodes the body, then runs `work` on it; a body that does not
    /// decode is a bad request, answered normally.
    fn parsed<T: DeserializeOwned>(
        &mut self,
        body: &[u8],
        work: impl FnOnce(&mut Self, T) -> (Result<Accepted, Refusal>, Delivery),
    ) -> (Result<Accepted, Refusal>, Delivery) {
        match parse::<T>(body) {
            Ok(request) => work(self, request),
            Err(refusal) => (Err(refusal), Delivery::Normal),
        }
    }

    /// Runs `work` unless a fault injected for one of `keys` says
    /// otherwise; the fault's delivery goes with the answer, a refusal
    /// included.
    fn faulted(
        &mut self,
        keys: &[&str],
        work: impl FnOnce(&mut Self) -> Result<Accepted, Refusal>,
    ) -> (Result<Accepted, Refusal>, Delivery) {
        let fault = keys.iter().find_map(|key| {
            let queue = self.faults.get_mut(*key)?;
            let fault = queue.pop_front();
            if queue.is_empty() {
                self.faults.remove(*key);
            }
            fault
        });
        let delivery = match fault {
            None => Delivery::Normal,
            Some(Fault::SystemError) => {
                let failed = Refusal::new(
                    ErrorCode::SystemError,
                    "the gateway failed; query, then try again",
                );
                return (Err(failed), Delivery::Normal);
            }
            Some(Fault::NoAnswer) => Delivery::NoAnswer,
            Some(Fault::DelayAnswer(by)) => Delivery::Delay(by),
            Some(Fault::BadAnswerSignature) => Delivery::BadSignature,
        };
        (work(self), delivery)
    }

    /// Applies every delayed outcome that is due.
    pub(crate) fn settle(&mut self, now: Now) {
        for order in self.orders.values_mut() {
            let Some(pending) = order.pending else {
                continue;
            };
            if pending.at > now.instant {
                continue;
            }
            order.pending = None;
            let at = now.unix_at(pending.at);
            match pending.outcome {
                // A shown code the customer pays too late: the wallet
                // refuses it, the order stays unpaid.
                Outcome::Paid if order.expired(at) => order.state = OrderState::Created,
                Outcome::Paid => charge(&mut self.ledger, &mut self.txn_seq, order, at),
                Outcome::Failed(reason) => order.fail(reason),
            }
        }
        for refund in self.refunds.values_mut() {
            let Some(due) = refund.completes_at else {
                continue;
            };
            if due > now.instant {
                continue;
            }
            let at = now.unix_at(due);
            refund.completes_at = None;
            refund.state = RefundState::Succeeded;
            refund.succeeded_at = Some(at);
            if let Some(order) = self.orders.get(&refund.order_no) {
                self.ledger.push(
                    LedgerKind::Refund,
                    order,
                    Some(&refund.refund_no),
                    refund.amount,
                    at,
                );
            }
        }
    }

    fn new_order(
        &self,
        terminal_id: &str,
        order_no: &str,
        amount: u64,
        currency: &str,
        now: Now,
    ) -> GatewayOrder {
        GatewayOrder {
            order_no: order_no.to_owned(),
            terminal_id: terminal_id.to_owned(),
            kind: OrderKind::Micropay,
            wallet: None,
            amount,
            currency: currency.to_owned(),
            state: OrderState::Created,
            reason: None,
            wallet_txn_id: None,
            paid_at: None,
            refunded_total: 0,
            created_at: now.unix,
            expires_at: None,
            code_url: None,
            auth_code_masked: None,
            pending: None,
        }
    }

    fn check_new_order(&self, order_no: &str) -> Result<(), Refusal> {
        if self.orders.contains_key(order_no) {
            return Err(Refusal::new(
                ErrorCode::DuplicateOrder,
                "the order number was used before: query that order, never pay again under a new number",
            ));
        }
        Ok(())
    }

    /// A payment attempt as `behaviour` says; true when its answer is lost.
    fn attempt(&mut self, order: &mut GatewayOrder, behaviour: Behaviour, now: Now) -> bool {
        match behaviour {
            Behaviour::Paid => charge(&mut self.ledger, &mut self.txn_seq, order, now.unix),
            Behaviour::PaidThenNoAnswer => {
                charge(&mut self.ledger, &mut self.txn_seq, order, now.unix);
                return true;
            }
            Behaviour::UserPaying => order.state = OrderState::UserPaying,
            Behaviour::UserPayingThenPaid(after) => order.wait(now, after, Outcome::Paid),
            Behaviour::UserPayingThenFailed(after, reason) => order.wait(now, after, Outcome::Failed(reason)),
            Behaviour::Failed(reason) => order.fail(reason),
        }
        false
    }

    fn micropay(&mut self, terminal_id: &str, r: MicropayRequest, now: Now) -> Result<Accepted, Refusal> {
        check_reference("order_no", &r.order_no)?;
        check_money(r.amount, &r.currency)?;
        check_text("description", &r.description)?;
        let code = r.auth_code.reveal();
        if code.is_empty() || code.len() > 64 {
            return Err(Refusal::bad_request("auth_code must be 1 to 64 characters"));
        }
        self.check_new_order(&r.order_no)?;
        let mut order = self.new_order(terminal_id, &r.order_no, r.amount, &r.currency, now);
        order.auth_code_masked = Some(r.auth_code.masked());
        order.wallet = wallets::classify(code);
        let mut no_answer = false;
        if order.wallet.is_none() {
            order.fail(FailReason::CodeInvalid);
        } else {
            let behaviour = self
                .behaviours
                .get(&r.order_no)
                .or_else(|| self.behaviours.get(code))
                .copied()
                .unwrap_or_else(|| Behaviour::for_amount(r.amount, self.user_paying_delay));
            no_answer = self.attempt(&mut order, behaviour, now);
        }
        let mut answer = accepted(&order.status());
        answer.no_answer = no_answer;
        self.orders.insert(order.order_no.clone(), order);
        Ok(answer)
    }

    fn create_order(
        &mut self,
        terminal_id: &str,
        r: CreateOrderRequest,
        now: Now,
    ) -> Result<Accepted, Refusal> {
        check_reference("order_no", &r.order_no)?;
        check_money(r.amount, &r.currency)?;
        check_text("description", &r.description)?;
        if r.expires_in == 0 || r.expires_in > MAX_EXPIRES_IN {
            return Err(Refusal::bad_request(format!(
                "expires_in must be 1 to {MAX_EXPIRES_IN} seconds"
            )));
        }
        self.check_new_order(&r.order_no)?;
        let mut order = self.new_order(terminal_id, &r.order_no, r.amount, &r.currency, now);
        order.kind = OrderKind::ShownCode;
        order.wallet = Some(r.wallet);
        order.expires_at = Some(now.unix.saturating_add(i64::from(r.expires_in)));
        order.code_url = Some(wallets::code_url(r.wallet, &r.order_no));
        let mut no_answer = false;
        match self.behaviours.get(&r.order_no).copied() {
            // The test's choice: the customer scans at once and it goes so.
            Some(behaviour) => no_answer = self.attempt(&mut order, behaviour, now),
            // Amount rule 61: the customer pays after the delay; the code
            // shows "created" until then, as a real wallet's does.
            None if r.amount % 100 == 61 => {
                order.pending = Some(Pending {
                    at: now.instant + self.user_paying_delay,
                    outcome: Outcome::Paid,
                });
            }
            None => {}
        }
        let mut answer = accepted(&CreatedOrder {
            order_no: order.order_no.clone(),
            code_url: order.code_url.clone().unwrap_or_default(),
            expires_at: order.expires_at.unwrap_or_default(),
        });
        answer.no_answer = no_answer;
        self.orders.insert(order.order_no.clone(), order);
        Ok(answer)
    }

    fn query(&mut self, terminal_id: &str, order_no: &str) -> Result<Accepted, Refusal> {
        match own_order(&mut self.orders, terminal_id, order_no) {
            Ok(order) => Ok(accepted(&order.status())),
            Err(r) if r.code == ErrorCode::OrderNotFound => Ok(accepted(&OrderStatus::not_found(order_no))),
            Err(r) => Err(r),
        }
    }

    fn cancel(&mut self, terminal_id: &str, order_no: &str, now: Now) -> Result<Accepted, Refusal> {
        check_reference("order_no", order_no)?;
        if !self.orders.contains_key(order_no) {
            // A terminal cancels a number it never got an answer for: the
            // number is closed for good, so a request still on its way
            // cannot charge the customer afterwards (duplicate_order).
            let mut tombstone = self.new_order(terminal_id, order_no, 0, "CNY", now);
            tombstone.state = OrderState::Cancelled;
            let answer = accepted(&tombstone.status());
            self.orders.insert(order_no.to_owned(), tombstone);
            return Ok(answer);
        }
        let order = own_order(&mut self.orders, terminal_id, order_no)?;
        if matches!(order.state, OrderState::Paid | OrderState::Refunded) {
            // What refunds have not given back yet goes back now.
            let rest = order.amount.saturating_sub(order.refunded_total);
            if rest > 0 {
                self.ledger
                    .push(LedgerKind::Reversal, order, None, rest, now.unix);
            }
        }
        order.pending = None;
        order.state = OrderState::Cancelled;
        Ok(accepted(&order.status()))
    }

    fn close(&mut self, terminal_id: &str, order_no: &str) -> Result<Accepted, Refusal> {
        let order = own_order(&mut self.orders, terminal_id, order_no)?;
        match order.state {
            OrderState::Paid | OrderState::Refunded => {
                return Err(Refusal::new(
                    ErrorCode::OrderPaid,
                    "the customer paid the order: treat it as paid",
                ));
            }
            OrderState::Created | OrderState::UserPaying | OrderState::Failed => {
                order.pending = None;
                order.state = OrderState::Closed;
            }
            OrderState::Closed | OrderState::Cancelled | OrderState::NotFound => {}
        }
        Ok(accepted(&order.status()))
    }

    fn refund(&mut self, terminal_id: &str, r: RefundRequest, now: Now) -> Result<Accepted, Refusal> {
        check_reference("order_no", &r.order_no)?;
        check_reference("refund_no", &r.refund_no)?;
        check_amount(r.amount)?;
        check_text("reason", &r.reason)?;
        if let Some(existing) = self.refunds.get(&r.refund_no) {
            let same = existing.order_no == r.order_no
                && existing.amount == r.amount
                && existing.terminal_id == terminal_id;
            if !same {
                return Err(Refusal::new(
                    ErrorCode::DuplicateRefund,
                    "the refund number was used for another order or amount",
                ));
            }
            // The same refund again: the answer it had, as it stands now.
            return Ok(accepted(&self.refund_status(existing)));
        }
        let delay = self.refund_delays.get(&r.refund_no).copied();
        let order = own_order(&mut self.orders, terminal_id, &r.order_no)?;
        if !matches!(order.state, OrderState::Paid | OrderState::Refunded) {
            return Err(Refusal::new(
                ErrorCode::OrderNotPaid,
                format!("the order is {}: only a paid order is refunded", order.state),
            ));
        }
        let left = order.amount.saturating_sub(order.refunded_total);
        if r.amount > left {
            return Err(Refusal::new(
                ErrorCode::RefundTooLarge,
                format!("{left} is left to refund on this order"),
            ));
        }
        order.refunded_total += r.amount;
        if order.refunded_total == order.amount {
            order.state = OrderState::Refunded;
        }
        let mut refund = GatewayRefund {
            refund_no: r.refund_no.clone(),
            order_no: r.order_no.clone(),
            terminal_id: terminal_id.to_owned(),
            amount: r.amount,
            state: RefundState::Succeeded,
            reason: r.reason,
            created_at: now.unix,
            succeeded_at: Some(now.unix),
            completes_at: None,
        };
        match delay {
            Some(after) => {
                refund.state = RefundState::Processing;
                refund.succeeded_at = None;
                refund.completes_at = Some(now.instant + after);
            }
            None => {
                self.ledger
                    .push(LedgerKind::Refund, order, Some(&r.refund_no), r.amount, now.unix);
            }
        }
        let answer = accepted(&self.refund_status(&refund));
        self.refunds.insert(refund.refund_no.clone(), refund);
        Ok(answer)
    }

    fn refund_status(&self, refund: &GatewayRefund) -> RefundStatus {
        RefundStatus {
            refund_no: refund.refund_no.clone(),
            state: refund.state,
            order_no: Some(refund.order_no.clone()),
            amount: Some(refund.amount),
            refunded_total: self.orders.get(&refund.order_no).map(|o| o.refunded_total),
        }
    }

    fn query_refund(&mut self, terminal_id: &str, refund_no: &str) -> Result<Accepted, Refusal> {
        check_reference("refund_no", refund_no)?;
        let status = match self
            .refunds
            .get(refund_no)
            .filter(|f| f.terminal_id == terminal_id)
        {
            Some(refund) => self.refund_status(refund),
            None => RefundStatus {
                refund_no: refund_no.to_owned(),
                state: RefundState::NotFound,
                order_no: None,
                amount: None,
                refunded_total: None,
            },
        };
        Ok(accepted(&status))
    }

    /// The customer pays a shown code (or finishes a payment the wallet
    /// was waiting for).
    pub(crate) fn customer_pays(&mut self, order_no: &str, now: Now) -> Result<(), PayError> {
        self.settle(now);
        let order = self.orders.get_mut(order_no).ok_or(PayError::NotFound)?;
        if !order.state.is_pending() {
            return Err(PayError::NotPayable(order.state));
        }
        if order.expired(now.unix) {
            return Err(PayError::Expired);
        }
        charge(&mut self.ledger, &mut self.txn_seq, order, now.unix);
        Ok(())
    }
}

/// The wallet takes the order's amount from the customer.
fn charge(ledger: &mut Ledger, txn_seq: &mut u64, order: &mut GatewayOrder, at: i64) {
    *txn_seq += 1;
    let prefix = order.wallet.map(wallets::txn_id_prefix).unwrap_or("00");
    order.wallet_txn_id = Some(format!(
        "{prefix}{:010}{:08}",
        at.rem_euclid(10_000_000_000),
        *txn_seq
    ));
    order.state = OrderState::Paid;
    order.paid_at = Some(at);
    order.reason = None;
    order.pending = None;
    ledger.push(LedgerKind::Charge, order, None, order.amount, at);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn now() -> Now {
        Now {
            instant: Instant::now(),
            unix: 1_700_000_000,
        }
    }

    fn handle(state: &mut State, endpoint: Endpoint, body: &str) -> Handled {
        state.handle("T1", endpoint, body.as_bytes(), now())
    }

    #[test]
    fn malformed_bodies_are_bad_requests_that_quote_nothing() {
        let mut state = State::new(Duration::from_secs(1));
        let body = r#"{"order_no":"ORDER-0001","auth_code":134567890123456789,"amount":1,"currency":"CNY","description":""}"#;
        let handled = handle(&mut state, Endpoint::Micropay, body);
        assert_eq!(handled.status, 400);
        let text = String::from_utf8(handled.body).unwrap();
        assert!(text.contains("bad_request"), "{text}");
        assert!(!text.contains("134567890123456789"), "{text}");
        assert!(state.orders.is_empty());
    }

    #[test]
    fn the_ledger_check_catches_double_charges_and_over_refunds() {
        let mut ledger = Ledger::default();
        let state = State::new(Duration::ZERO);
        let mut order = state.new_order("T1", "ORDER-0001", 100, "CNY", now());
        ledger.push(LedgerKind::Charge, &order, None, 100, 0);
        ledger.push(LedgerKind::Refund, &order, Some("R-000001"), 60, 0);
        assert_eq!(ledger.check(), Ok(()));
        assert_eq!(ledger.net("ORDER-0001"), 40);
        ledger.push(LedgerKind::Reversal, &order, None, 50, 0);
        assert!(ledger.check().unwrap_err().contains("given back"));
        order.order_no = "ORDER-0002".into();
        ledger.push(LedgerKind::Charge, &order, None, 100, 0);
        ledger.push(LedgerKind::Charge, &order, None, 100, 0);
        assert!(ledger.check().is_err());
    }

    proptest! {
        #[test]
        fn garbage_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..300), which in 0usize..7) {
            let mut state = State::new(Duration::ZERO);
            let handled = state.handle("T1", Endpoint::ALL[which], &body, now());
            prop_assert!(serde_json::from_slice::<serde_json::Value>(&handled.body).is_ok());
        }

        #[test]
        fn json_of_any_shape_never_panics(
            order_no in "[A-Za-z0-9_-]{0,40}",
            amount in any::<i64>(),
            currency in "[A-Z]{0,4}",
            text in ".{0,200}",
            expires_in in any::<i64>(),
            wallet in "[a-z_]{0,12}",
            which in 0usize..7,
        ) {
            let body = serde_json::json!({
                "order_no": order_no, "refund_no": order_no, "auth_code": text, "amount": amount,
                "currency": currency, "description": text, "reason": text, "wallet": wallet,
                "expires_in": expires_in,
            });
            let mut state = State::new(Duration::ZERO);
            let body = serde_json::to_vec(&body).unwrap();
            for _ in 0..2 {
                let handled = state.handle("T1", Endpoint::ALL[which], &body, now());
                prop_assert!(matches!(handled.status, 200 | 400 | 404 | 409));
            }
            prop_assert_eq!(state.ledger.check(), Ok(()));
        }
    }
}
