//! The merchant platform's API, as data: the JSON bodies of its HTTPS
//! endpoints. The host crate carries them; the platform simulator answers
//! them; the binding machine produces and consumes them.
//!
//! | method | path                         | request                | response             |
//! |--------|------------------------------|------------------------|----------------------|
//! | POST   | /v1/applications             | `ApplicationRequest`   | `ApplicationStatus`  |
//! | GET    | /v1/applications/{id}        |                        | `ApplicationStatus`  |
//! | POST   | /v1/devices/bind             | `BindRequest`          | `BindResponse`       |
//! | POST   | /v1/devices/replace          | `ReplaceRequest`       | `ReplaceResponse`    |
//! | POST   | /v1/otp                      | `OtpRequest`           | `OtpSent`            |
//! | POST   | /v1/devices/unbind           | `UnbindRequest`        | `Ack`                |
//! | POST   | /v1/settlement-cards         | `CardChangeRequest`    | `CardChangeStatus`   |
//! | GET    | /v1/settlement-cards/{id}    |                        | `CardChangeStatus`   |
//! | POST   | /v1/payment-methods          | `PaymentMethodRequest` | `Ack`                |
//!
//! Errors come back with a non-2xx status and an `ApiError` body whose
//! `code` is stable (see [`error_code`]).

use serde::{Deserialize, Serialize};

/// An onboarding application (入网申请). `Debug` masks the account number.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationRequest {
    pub merchant_name: String,
    /// Unified social credit code, 18 characters.
    pub business_licence: String,
    /// The legal representative's id number, masked (first 3, last 4).
    pub legal_representative_id_masked: String,
    /// The settlement account (bank card number) for the first settlement card.
    pub settlement_account: String,
    pub settlement_holder: String,
    pub bank_code: String,
    pub contact_phone: String,
    /// References to uploaded documents (licence scan, id scans).
    pub documents: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewState {
    UnderReview,
    Approved,
    Rejected,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationStatus {
    pub application_id: String,
    pub state: ReviewState,
    /// Why the application was rejected.
    #[serde(default)]
    pub reason: Option<String>,
    /// The merchant number, once approved.
    #[serde(default)]
    pub merchant_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BindRequest {
    pub merchant_id: String,
    pub device_serial: String,
    pub device_model: String,
}

/// The terminal master key travels encrypted under the transport key the
/// device and the platform share (TDES ECB), with its check value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BindResponse {
    pub merchant_id: String,
    pub terminal_id: String,
    /// Hex.
    pub master_key_under_transport_key: String,
    /// Hex, 4 bytes.
    pub master_key_check_value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplaceRequest {
    pub merchant_id: String,
    pub terminal_id: String,
    pub old_device_serial: String,
    pub new_device_serial: String,
    pub new_device_model: String,
    /// The day of the request (YYYY-MM-DD), for the warranty decision.
    pub date: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplaceResponse {
    pub bind: BindResponse,
    /// Outside the warranty window the replacement is charged.
    pub chargeable: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OtpPurpose {
    Unbind,
    ChangeSettlementCard,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OtpRequest {
    pub merchant_id: String,
    pub purpose: OtpPurpose,
}

/// The platform sent a one-time code to the merchant's phone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OtpSent {
    /// The phone it went to, masked.
    pub phone_masked: String,
    pub expires_in_seconds: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnbindRequest {
    pub merchant_id: String,
    pub terminal_id: String,
    pub device_serial: String,
    pub otp: String,
}

/// `Debug` masks the card number.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardChangeRequest {
    pub merchant_id: String,
    pub card_number: String,
    pub holder_name: String,
    pub bank_code: String,
    pub branch_code: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardChangeState {
    Pending,
    Confirmed,
    Rejected,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardChangeStatus {
    pub request_id: String,
    pub state: CardChangeState,
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    WechatPay,
    Alipay,
    UnionpayQr,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentMethodRequest {
    pub merchant_id: String,
    pub method: PaymentMethod,
    pub enabled: bool,
    /// The wallet's sub-merchant id (required to enable).
    #[serde(default)]
    pub sub_merchant_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    pub ok: bool,
}

/// An error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub code: String,
    pub message: String,
}

/// Stable error codes of the platform.
pub mod error_code {
    pub const INVALID_REQUEST: &str = "invalid_request";
    pub const NOT_FOUND: &str = "not_found";
    pub const DUPLICATE_DEVICE: &str = "duplicate_device";
    pub const WRONG_MERCHANT: &str = "wrong_merchant";
    pub const NOT_APPROVED: &str = "not_approved";
    pub const BAD_OTP: &str = "bad_otp";
    pub const OTP_EXPIRED: &str = "otp_expired";
    pub const INVALID_CARD: &str = "invalid_card";
}

impl std::fmt::Debug for ApplicationRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApplicationRequest")
            .field("merchant_name", &self.merchant_name)
            .field("business_licence", &self.business_licence)
            .field(
                "settlement_account",
                &crate::validate::mask_card(&self.settlement_account),
            )
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for CardChangeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardChangeRequest")
            .field("merchant_id", &self.merchant_id)
            .field("card_number", &crate::validate::mask_card(&self.card_number))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_masks_card_numbers() {
        let r = CardChangeRequest {
            merchant_id: "898".into(),
            card_number: "6230580000000000013".into(),
            holder_name: "Li".into(),
            bank_code: "ICBC".into(),
            branch_code: "102100099996".into(),
        };
        let shown = format!("{r:?}");
        assert!(shown.contains("623058*********0013") && !shown.contains("6230580000000000013"));
    }
}
