//! The QR gateway's wire types (docs/qr-gateway.md): what the client sends
//! and reads, and what the simulator (`poskit_sim::gateway`) reads and
//! answers, so both speak exactly one protocol.
//!
//! Optional fields of an answer are absent, not `null`, when unknown.

use std::fmt;

use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

/// The header naming the terminal.
pub const TERMINAL_HEADER: &str = "x-poskit-terminal";
/// The header carrying the hex HMAC-SHA256 of a request or an answer.
pub const SIGNATURE_HEADER: &str = "x-poskit-signature";

/// The gateway's endpoints, all `POST`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Endpoint {
    /// `/v1/micropay`: the customer shows a payment code.
    Micropay,
    /// `/v1/orders`: the terminal shows a code.
    CreateOrder,
    /// `/v1/orders/query`
    Query,
    /// `/v1/orders/cancel`: reverse a micropay.
    Cancel,
    /// `/v1/orders/close`: close an unpaid shown-code order.
    Close,
    /// `/v1/refunds`
    Refund,
    /// `/v1/refunds/query`
    RefundQuery,
}

impl Endpoint {
    pub const ALL: [Endpoint; 7] = [
        Endpoint::Micropay,
        Endpoint::CreateOrder,
        Endpoint::Query,
        Endpoint::Cancel,
        Endpoint::Close,
        Endpoint::Refund,
        Endpoint::RefundQuery,
    ];

    /// The path below the base URL; also what the request signature covers.
    pub const fn path(self) -> &'static str {
        match self {
            Endpoint::Micropay => "/v1/micropay",
            Endpoint::CreateOrder => "/v1/orders",
            Endpoint::Query => "/v1/orders/query",
            Endpoint::Cancel => "/v1/orders/cancel",
            Endpoint::Close => "/v1/orders/close",
            Endpoint::Refund => "/v1/refunds",
            Endpoint::RefundQuery => "/v1/refunds/query",
        }
    }

    pub fn from_path(path: &str) -> Option<Endpoint> {
        Endpoint::ALL.into_iter().find(|e| e.path() == path)
    }
}

/// Order and refund numbers: 6 to 32 characters of `[A-Za-z0-9_-]`.
pub fn is_valid_reference(value: &str) -> bool {
    (6..=32).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// An ISO 4217 alphabetic currency code (`CNY`).
pub fn is_valid_currency(value: &str) -> bool {
    value.len() == 3 && value.bytes().all(|b| b.is_ascii_uppercase())
}

/// The wallets behind the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Wallet {
    #[serde(rename = "wechat_pay")]
    WeChatPay,
    #[serde(rename = "alipay")]
    Alipay,
    #[serde(rename = "unionpay_qr")]
    UnionPayQr,
    #[serde(rename = "emvco_qr")]
    EmvcoQr,
}

impl Wallet {
    pub const ALL: [Wallet; 4] = [
        Wallet::WeChatPay,
        Wallet::Alipay,
        Wallet::UnionPayQr,
        Wallet::EmvcoQr,
    ];

    /// The name on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Wallet::WeChatPay => "wechat_pay",
            Wallet::Alipay => "alipay",
            Wallet::UnionPayQr => "unionpay_qr",
            Wallet::EmvcoQr => "emvco_qr",
        }
    }
}

impl fmt::Display for Wallet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The payment code a customer shows (`auth_code`). It is a bearer token:
/// whoever holds it can charge the customer until it expires, so it is
/// never shown in full (Debug masks it) and is wiped from memory on drop.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AuthCode(String);

impl AuthCode {
    pub fn new(code: impl Into<String>) -> Self {
        Self(code.into())
    }

    /// The code itself, for the request and the gateway's wallet check
    /// only: never log it.
    pub fn reveal(&self) -> &str {
        &self.0
    }

    /// The first two characters (they name the wallet) and the last four,
    /// the rest starred; short codes are starred entirely.
    pub fn masked(&self) -> String {
        let chars: Vec<char> = self.0.chars().collect();
        if chars.len() < 12 {
            return "*".repeat(chars.len());
        }
        let mut out: String = chars[..2].iter().collect();
        out.extend(std::iter::repeat_n('*', chars.len() - 6));
        out.extend(&chars[chars.len() - 4..]);
        out
    }
}

impl fmt::Debug for AuthCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuthCode({})", self.masked())
    }
}

impl Drop for AuthCode {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// `POST /v1/micropay`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MicropayRequest {
    pub order_no: String,
    pub auth_code: AuthCode,
    /// Minor units.
    pub amount: u64,
    pub currency: String,
    pub description: String,
}

/// `POST /v1/orders`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateOrderRequest {
    pub order_no: String,
    pub amount: u64,
    pub currency: String,
    pub description: String,
    pub wallet: Wallet,
    /// Seconds until the code expires.
    pub expires_in: u32,
}

/// The answer to `POST /v1/orders`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedOrder {
    pub order_no: String,
    /// What the customer scans (for `emvco_qr` the terminal renders its own
    /// merchant-presented code with the order number as bill number).
    pub code_url: String,
    /// Unix seconds.
    pub expires_at: i64,
}

/// `POST /v1/orders/query`, `/cancel` and `/close`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRef {
    pub order_no: String,
}

/// Where an order stands at the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    /// The gateway never saw the order (a query after a lost request).
    NotFound,
    /// A shown-code order nobody paid yet (also after it expired, until
    /// closed).
    Created,
    /// The wallet waits for the customer (password, confirmation): query
    /// again.
    UserPaying,
    Paid,
    /// Not paid; see the reason.
    Failed,
    /// Reversed by the terminal; a charge, if any, was refunded in full.
    Cancelled,
    /// Closed unpaid.
    Closed,
    /// Refunded in full.
    Refunded,
}

impl OrderState {
    pub const fn as_str(self) -> &'static str {
        match self {
            OrderState::NotFound => "not_found",
            OrderState::Created => "created",
            OrderState::UserPaying => "user_paying",
            OrderState::Paid => "paid",
            OrderState::Failed => "failed",
            OrderState::Cancelled => "cancelled",
            OrderState::Closed => "closed",
            OrderState::Refunded => "refunded",
        }
    }

    /// Still waiting for the customer: the outcome is not known yet.
    pub fn is_pending(self) -> bool {
        matches!(self, OrderState::Created | OrderState::UserPaying)
    }
}

impl fmt::Display for OrderState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an order failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailReason {
    InsufficientBalance,
    /// The customer's code is too old: ask them to refresh it.
    CodeExpired,
    /// Not a payment code of any wallet the gateway serves.
    CodeInvalid,
    UserCancelled,
    RiskRefused,
    /// A reason this client does not know; the order failed all the same.
    #[serde(other)]
    Other,
}

/// An order's status: the answer of micropay, query, cancel and close.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderStatus {
    pub order_no: String,
    pub state: OrderState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wallet: Option<Wallet>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refunded_total: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wallet_txn_id: Option<String>,
    /// Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<FailReason>,
}

impl OrderStatus {
    /// The answer for an order the gateway never saw.
    pub fn not_found(order_no: impl Into<String>) -> Self {
        Self {
            order_no: order_no.into(),
            state: OrderState::NotFound,
            wallet: None,
            amount: None,
            currency: None,
            refunded_total: None,
            wallet_txn_id: None,
            paid_at: None,
            reason: None,
        }
    }
}

/// `POST /v1/refunds`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundRequest {
    pub order_no: String,
    pub refund_no: String,
    /// Minor units; several partial refunds may follow each other up to
    /// the paid amount.
    pub amount: u64,
    /// Shown to the customer by some wallets.
    #[serde(default)]
    pub reason: String,
}

/// `POST /v1/refunds/query`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundRef {
    pub refund_no: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundState {
    /// The gateway never saw the refund (a query after a lost request).
    NotFound,
    Succeeded,
    /// Accepted; the wallet has not confirmed yet: query again.
    Processing,
}

/// The answer of refund and refund query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundStatus {
    pub refund_no: String,
    pub state: RefundState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<u64>,
    /// What the order's accepted refunds add up to, this one included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refunded_total: Option<u64>,
}

/// The gateway's stable error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// A field is missing or malformed.
    BadRequest,
    /// The request signature does not verify: the terminal's gateway key
    /// is not the one the gateway holds.
    BadSignature,
    /// The gateway does not know the terminal id.
    UnknownTerminal,
    /// The order number was used before: query it, never pay again under
    /// a new number.
    DuplicateOrder,
    /// The refund number was used for another order or amount.
    DuplicateRefund,
    /// Cancel, close or refund of an order the gateway never saw.
    OrderNotFound,
    /// Close of an order the customer paid meanwhile: treat it as paid.
    OrderPaid,
    /// Refund of an order that is not paid.
    OrderNotPaid,
    /// More than what is left to refund.
    RefundTooLarge,
    /// The gateway failed: query, then try again.
    SystemError,
    /// A code this client does not know.
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::BadSignature => "bad_signature",
            ErrorCode::UnknownTerminal => "unknown_terminal",
            ErrorCode::DuplicateOrder => "duplicate_order",
            ErrorCode::DuplicateRefund => "duplicate_refund",
            ErrorCode::OrderNotFound => "order_not_found",
            ErrorCode::OrderPaid => "order_paid",
            ErrorCode::OrderNotPaid => "order_not_paid",
            ErrorCode::RefundTooLarge => "refund_too_large",
            ErrorCode::SystemError => "system_error",
            ErrorCode::Unknown => "unknown",
        }
    }

    /// The HTTP status the gateway answers the code with.
    pub const fn http_status(self) -> u16 {
        match self {
            ErrorCode::BadRequest => 400,
            ErrorCode::BadSignature => 401,
            ErrorCode::UnknownTerminal => 403,
            ErrorCode::OrderNotFound => 404,
            ErrorCode::DuplicateOrder
            | ErrorCode::DuplicateRefund
            | ErrorCode::OrderPaid
            | ErrorCode::OrderNotPaid
            | ErrorCode::RefundTooLarge => 409,
            ErrorCode::SystemError | ErrorCode::Unknown => 500,
        }
    }

    /// The gateway could not authenticate the terminal. Such an answer
    /// cannot be signed with a key both sides share (there is none), so
    /// the client takes it unverified: it reports that nothing was done.
    pub const fn is_authentication_failure(self) -> bool {
        matches!(self, ErrorCode::BadSignature | ErrorCode::UnknownTerminal)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The body of every error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_codes_never_show_in_full() {
        let code = AuthCode::new("134567890123456789");
        assert_eq!(code.masked(), "13************6789");
        assert_eq!(format!("{code:?}"), "AuthCode(13************6789)");
        let request = MicropayRequest {
            order_no: "ORDER-0001".into(),
            auth_code: code.clone(),
            amount: 1,
            currency: "CNY".into(),
            description: "tea".into(),
        };
        assert!(!format!("{request:?}").contains("134567890123456789"));
        assert!(
            serde_json::to_string(&request)
                .unwrap()
                .contains("\"134567890123456789\"")
        );
        assert_eq!(AuthCode::new("12345").masked(), "*****");
    }

    #[test]
    fn wire_names_are_the_documented_ones() {
        for wallet in Wallet::ALL {
            assert_eq!(
                serde_json::to_value(wallet).unwrap(),
                serde_json::Value::from(wallet.as_str())
            );
        }
        let codes = [
            ErrorCode::BadRequest,
            ErrorCode::BadSignature,
            ErrorCode::UnknownTerminal,
            ErrorCode::DuplicateOrder,
            ErrorCode::DuplicateRefund,
            ErrorCode::OrderNotFound,
            ErrorCode::OrderPaid,
            ErrorCode::OrderNotPaid,
            ErrorCode::RefundTooLarge,
            ErrorCode::SystemError,
        ];
        for code in codes {
            let json = serde_json::to_value(code).unwrap();
            assert_eq!(json, serde_json::Value::from(code.as_str()));
            assert_eq!(serde_json::from_value::<ErrorCode>(json).unwrap(), code);
        }
        assert_eq!(
            serde_json::from_str::<ErrorCode>("\"brand_new\"").unwrap(),
            ErrorCode::Unknown
        );
        assert_eq!(
            serde_json::from_str::<FailReason>("\"brand_new\"").unwrap(),
            FailReason::Other
        );
        for endpoint in Endpoint::ALL {
            assert_eq!(Endpoint::from_path(endpoint.path()), Some(endpoint));
        }
    }

    #[test]
    fn absent_fields_stay_absent() {
        let json = serde_json::to_string(&OrderStatus::not_found("ORDER-0001")).unwrap();
        assert_eq!(json, r#"{"order_no":"ORDER-0001","state":"not_found"}"#);
    }

    #[test]
    fn references_follow_the_documented_shape() {
        assert!(is_valid_reference("ORDER_1-a"));
        assert!(!is_valid_reference("SHORT"));
        assert!(!is_valid_reference(&"A".repeat(33)));
        assert!(!is_valid_reference("ORDER 0001"));
        assert!(is_valid_currency("CNY"));
        assert!(!is_valid_currency("156"));
        assert!(!is_valid_currency("cny"));
    }
}
