//! What the platform knows and decides: applications, merchants,
//! terminals, the device registry, one-time codes, settlement card
//! changes, payment methods. Synchronous and free of I/O; the server calls
//! it under a lock, the handle reads it.

use std::collections::{BTreeMap, HashMap};

use poskit_binding::platform::{
    Ack, ApplicationRequest, ApplicationStatus, BindRequest, BindResponse, CardChangeRequest,
    CardChangeState, CardChangeStatus, OtpPurpose, OtpRequest, OtpSent, PaymentMethod, PaymentMethodRequest,
    ReplaceRequest, ReplaceResponse, ReviewState, UnbindRequest, error_code,
};
use poskit_crypto::{RandomSource, SymmetricKey, SystemRandom, constant_time_eq, kcv};

use super::rules;
use super::{PlatformSimConfig, TEST_TRANSPORT_KEY};

/// Wrong codes allowed before a one-time code is void.
const OTP_MAX_ATTEMPTS: u32 = 5;

/// A refusal: HTTP status, stable code, message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

impl Refusal {
    fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(400, error_code::INVALID_REQUEST, message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, error_code::NOT_FOUND, message)
    }
}

type Outcome<T> = Result<T, Refusal>;

/// An onboarding application as the platform holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationRecord {
    pub application_id: String,
    pub merchant_name: String,
    pub state: ReviewState,
    pub reason: Option<String>,
    /// The merchant number reserved for the application; the API reveals
    /// it only once approved.
    pub merchant_id: String,
    /// Status polls so far.
    pub polls: u32,
}

/// A merchant (approved or not yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerchantRecord {
    pub merchant_id: String,
    pub application_id: String,
    pub merchant_name: String,
    pub approved: bool,
    pub contact_phone: String,
    /// The settlement card, masked (first 6, last 4).
    pub settlement_card_masked: String,
    /// Enabled payment methods with their wallet sub-merchant ids.
    pub payment_methods: BTreeMap<PaymentMethod, String>,
}

/// A bound device in the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRecord {
    pub device_serial: String,
    pub device_model: String,
    pub merchant_id: String,
    pub terminal_id: String,
}

/// A terminal id and what is bound to it.
#[derive(Debug, Clone)]
pub struct TerminalRecord {
    pub terminal_id: String,
    pub merchant_id: String,
    /// The device bound now, if any.
    pub device_serial: Option<String>,
    /// The day of the first bind (days since 1970-01-01): the warranty
    /// window starts here and replacements keep it.
    pub first_bound_day: i64,
    /// The current terminal master key (TEST ONLY: a simulator knows it so
    /// an acquirer simulator can share it). Its `Debug` is redacted.
    pub master_key: SymmetricKey,
}

/// A one-time code as issued.
#[derive(Debug, Clone)]
struct Otp {
    code: String,
    expires_at: i64,
    wrong_attempts: u32,
    used: bool,
}

/// A settlement card change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardChangeRecord {
    pub request_id: String,
    pub merchant_id: String,
    pub card_masked: String,
    pub holder_name: String,
    pub bank_code: String,
    pub branch_code: String,
    pub state: CardChangeState,
    pub polls: u32,
}

/// The whole platform.
#[derive(Debug)]
pub struct State {
    review_delay: u32,
    confirm_delay: u32,
    warranty_days: u32,
    otp_validity_secs: i64,
    transport_key: SymmetricKey,
    random: SystemRandom,
    counter: u64,
    pub(crate) applications: BTreeMap<String, ApplicationRecord>,
    pub(crate) merchants: BTreeMap<String, MerchantRecord>,
    pub(crate) terminals: BTreeMap<String, TerminalRecord>,
    /// The device registry: serial -> binding.
    pub(crate) devices: BTreeMap<String, DeviceRecord>,
    otps: HashMap<(String, &'static str), Otp>,
    pub(crate) card_changes: BTreeMap<String, CardChangeRecord>,
    /// The review verdict of each application under review: `None` to
    /// approve, or the rejection reason.
    pending_reviews: HashMap<String, Option<String>>,
}

fn purpose_key(purpose: OtpPurpose) -> &'static str {
    match purpose {
        OtpPurpose::Unbind => "unbind",
        OtpPurpose::ChangeSettlementCard => "change_settlement_card",
    }
}

fn internal(what: &str) -> Refusal {
    Refusal::new(500, "internal", format!("simulator failure: {what}"))
}

impl State {
    pub(crate) fn new(config: &PlatformSimConfig) -> Self {
        let transport = hex::decode(TEST_TRANSPORT_KEY).unwrap_or_default();
        Self {
            review_delay: config.review_delay,
            confirm_delay: config.confirm_delay,
            warranty_days: config.warranty_days,
            otp_validity_secs: i64::try_from(config.otp_validity.as_secs()).unwrap_or(i64::MAX),
            // A constant of the right length: cannot fail.
            transport_key: SymmetricKey::tdes(&transport).unwrap_or_else(|_| unreachable!()),
            random: SystemRandom::new(),
            counter: 0,
            applications: BTreeMap::new(),
            merchants: BTreeMap::new(),
            terminals: BTreeMap::new(),
            devices: BTreeMap::new(),
            otps: HashMap::new(),
            card_changes: BTreeMap::new(),
            pending_reviews: HashMap::new(),
        }
    }

    fn next(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    fn approved_merchant(&self, merchant_id: &str) -> Outcome<&MerchantRecord> {
        let merchant = self
            .merchants
            .get(merchant_id)
            .ok_or_else(|| Refusal::not_found(format!("merchant {merchant_id} not found")))?;
        if !merchant.approved {
            return Err(Refusal::new(
                409,
                error_code::NOT_APPROVED,
                format!("merchant {merchant_id} is not approved; wait for the application review"),
            ));
        }
        Ok(merchant)
    }

    /// A fresh TDES master key, wrapped under the transport key.
    fn new_master_key(&mut self) -> Outcome<(SymmetricKey, String, String)> {
        let mut bytes = zeroize::Zeroizing::new([0u8; 16]);
        self.random
            .fill(bytes.as_mut())
            .map_err(|_| internal("random generator"))?;
        let key = SymmetricKey::tdes(bytes.as_ref()).map_err(|_| internal("master key"))?;
        let (encrypted, check) =
            kcv::wrap_working_key(&self.transport_key, &key).map_err(|_| internal("key wrapping"))?;
        Ok((key, hex::encode_upper(encrypted), hex::encode_upper(check)))
    }

    // --- applications ---

    pub(crate) fn submit_application(&mut self, request: ApplicationRequest) -> Outcome<ApplicationStatus> {
        if request.merchant_name.trim().is_empty() {
            return Err(Refusal::invalid("merchant_name must not be empty"));
        }
        let n = self.next();
        let application_id = format!("APP{n:010}");
        let merchant_id = format!("898{:012}", 310_000_000_000u64 + n);
        self.merchants.insert(
            merchant_id.clone(),
            MerchantRecord {
                merchant_id: merchant_id.clone(),
                application_id: application_id.clone(),
                merchant_name: request.merchant_name.clone(),
                approved: false,
                contact_phone: request.contact_phone.clone(),
                settlement_card_masked: rules::mask_card(&request.settlement_account),
                payment_methods: BTreeMap::new(),
            },
        );
        let record = ApplicationRecord {
            application_id: application_id.clone(),
            merchant_name: request.merchant_name,
            state: ReviewState::UnderReview,
            reason: None,
            merchant_id,
            polls: 0,
        };
        // Remember the licence verdict now; it is announced after the delay.
        let verdict = review(&record.merchant_name, &request.business_licence);
        self.applications.insert(application_id.clone(), record);
        self.pending_reviews.insert(application_id.clone(), verdict);
        Ok(ApplicationStatus {
            application_id,
            state: ReviewState::UnderReview,
            reason: None,
            merchant_id: None,
        })
    }

    pub(crate) fn application_status(&mut self, application_id: &str) -> Outcome<ApplicationStatus> {
        let review_delay = self.review_delay;
        let record = self
            .applications
            .get_mut(application_id)
            .ok_or_else(|| Refusal::not_found(format!("application {application_id} not found")))?;
        record.polls = record.polls.saturating_add(1);
        if record.state == ReviewState::UnderReview && record.polls > review_delay {
            let verdict = self.pending_reviews.remove(application_id).unwrap_or(None);
            let merchant_id = record.merchant_id.clone();
            match verdict {
                None => {
                    record.state = ReviewState::Approved;
                    if let Some(merchant) = self.merchants.get_mut(&merchant_id) {
                        merchant.approved = true;
                    }
                }
                Some(reason) => {
                    record.state = ReviewState::Rejected;
                    record.reason = Some(reason);
                }
            }
        }
        Ok(ApplicationStatus {
            application_id: record.application_id.clone(),
            state: record.state,
            reason: record.reason.clone(),
            merchant_id: (record.state == ReviewState::Approved).then(|| record.merchant_id.clone()),
        })
    }

    // --- devices ---

    fn refuse_bound(&self, serial: &str) -> Outcome<()> {
        if self.devices.contains_key(serial) {
            return Err(Refusal::new(
                409,
                error_code::DUPLICATE_DEVICE,
                format!("device {serial} is already bound; unbind it first"),
            ));
        }
        Ok(())
    }

    pub(crate) fn bind(&mut self, request: BindRequest, today: i64) -> Outcome<BindResponse> {
        if request.device_serial.trim().is_empty() {
            return Err(Refusal::invalid("device_serial must not be empty"));
        }
        self.approved_merchant(&request.merchant_id)?;
        self.refuse_bound(&request.device_serial)?;
        let (master_key, encrypted, check) = self.new_master_key()?;
        let terminal_id = format!("{:08}", 10_000_000 + self.next() % 90_000_000);
        self.terminals.insert(
            terminal_id.clone(),
            TerminalRecord {
                terminal_id: terminal_id.clone(),
                merchant_id: request.merchant_id.clone(),
                device_serial: Some(request.device_serial.clone()),
                first_bound_day: today,
                master_key,
            },
        );
        self.devices.insert(
            request.device_serial.clone(),
            DeviceRecord {
                device_serial: request.device_serial,
                device_model: request.device_model,
                merchant_id: request.merchant_id.clone(),
                terminal_id: terminal_id.clone(),
            },
        );
        Ok(BindResponse {
            merchant_id: request.merchant_id,
            terminal_id,
            master_key_under_transport_key: encrypted,
            master_key_check_value: check,
        })
    }

    /// The device `serial` must be bound to this merchant's `terminal_id`.
    fn check_bound_to(&self, merchant_id: &str, terminal_id: &str, serial: &str) -> Outcome<()> {
        let terminal = self
            .terminals
            .get(terminal_id)
            .ok_or_else(|| Refusal::not_found(format!("terminal {terminal_id} not found")))?;
        if terminal.merchant_id != merchant_id {
            return Err(Refusal::new(
                403,
                error_code::WRONG_MERCHANT,
                format!("terminal {terminal_id} belongs to another merchant"),
            ));
        }
        let device = self
            .devices
            .get(serial)
            .ok_or_else(|| Refusal::not_found(format!("device {serial} is not bound")))?;
        if device.merchant_id != merchant_id {
            return Err(Refusal::new(
                403,
                error_code::WRONG_MERCHANT,
                format!("device {serial} is bound to another merchant"),
            ));
        }
        if device.terminal_id != terminal_id {
            return Err(Refusal::invalid(format!(
                "device {serial} is bound to another terminal of this merchant"
            )));
        }
        Ok(())
    }

    pub(crate) fn replace(&mut self, request: ReplaceRequest) -> Outcome<ReplaceResponse> {
        self.approved_merchant(&request.merchant_id)?;
        self.check_bound_to(
            &request.merchant_id,
            &request.terminal_id,
            &request.old_device_serial,
        )?;
        if request.new_device_serial.trim().is_empty() {
            return Err(Refusal::invalid("new_device_serial must not be empty"));
        }
        self.refuse_bound(&request.new_device_serial)?;
        let day = rules::parse_date(&request.date)
            .ok_or_else(|| Refusal::invalid("date must be a calendar day written YYYY-MM-DD"))?;
        let (master_key, encrypted, check) = self.new_master_key()?;
        let warranty_days = i64::from(self.warranty_days);
        let terminal = self
            .terminals
            .get_mut(&request.terminal_id)
            .ok_or_else(|| internal("terminal vanished"))?;
        // Within the window: days 0 .. warranty_days - 1 after the first
        // bind (a date before it counts as within).
        let chargeable = day - terminal.first_bound_day >= warranty_days;
        terminal.device_serial = Some(request.new_device_serial.clone());
        terminal.master_key = master_key;
        self.devices.remove(&request.old_device_serial);
        self.devices.insert(
            request.new_device_serial.clone(),
            DeviceRecord {
                device_serial: request.new_device_serial,
                device_model: request.new_device_model,
                merchant_id: request.merchant_id.clone(),
                terminal_id: request.terminal_id.clone(),
            },
        );
        Ok(ReplaceResponse {
            bind: BindResponse {
                merchant_id: request.merchant_id,
                terminal_id: request.terminal_id,
                master_key_under_transport_key: encrypted,
                master_key_check_value: check,
            },
            chargeable,
        })
    }

    // --- one-time codes ---

    pub(crate) fn request_otp(&mut self, request: OtpRequest, now: i64) -> Outcome<OtpSent> {
        let phone = self
            .approved_merchant(&request.merchant_id)?
            .contact_phone
            .clone();
        let code = loop {
            let mut bytes = [0u8; 4];
            self.random
                .fill(&mut bytes)
                .map_err(|_| internal("random generator"))?;
            let n = u32::from_be_bytes(bytes);
            // Reject the top sliver so every code is equally likely.
            if n < 4_294_000_000 {
                break format!("{:06}", n % 1_000_000);
            }
        };
        self.otps.insert(
            (request.merchant_id, purpose_key(request.purpose)),
            Otp {
                code,
                expires_at: now.saturating_add(self.otp_validity_secs),
                wrong_attempts: 0,
                used: false,
            },
        );
        Ok(OtpSent {
            phone_masked: rules::mask_phone(&phone),
            expires_in_seconds: u32::try_from(self.otp_validity_secs).unwrap_or(u32::MAX),
        })
    }

    /// Checks and consumes the merchant's code for `purpose`.
    fn consume_otp(&mut self, merchant_id: &str, purpose: OtpPurpose, code: &str, now: i64) -> Outcome<()> {
        let bad = |message: &str| Refusal::new(403, error_code::BAD_OTP, message);
        let otp = self
            .otps
            .get_mut(&(merchant_id.to_owned(), purpose_key(purpose)))
            .ok_or_else(|| bad("no verification code was requested; request one first"))?;
        if otp.used || otp.wrong_attempts >= OTP_MAX_ATTEMPTS {
            return Err(bad("the verification code is no longer valid; request a new one"));
        }
        if now >= otp.expires_at {
            return Err(Refusal::new(
                403,
                error_code::OTP_EXPIRED,
                "the verification code has expired; request a new one",
            ));
        }
        if !constant_time_eq(otp.code.as_bytes(), code.as_bytes()) {
            otp.wrong_attempts += 1;
            return Err(bad("wrong verification code; check the SMS and try again"));
        }
        otp.used = true;
        Ok(())
    }

    /// The code most recently issued for (merchant, purpose), used or not.
    pub(crate) fn last_otp(&self, merchant_id: &str, purpose: OtpPurpose) -> Option<String> {
        self.otps
            .get(&(merchant_id.to_owned(), purpose_key(purpose)))
            .map(|otp| otp.code.clone())
    }

    pub(crate) fn unbind(&mut self, request: UnbindRequest, now: i64) -> Outcome<Ack> {
        self.approved_merchant(&request.merchant_id)?;
        self.check_bound_to(&request.merchant_id, &request.terminal_id, &request.device_serial)?;
        self.consume_otp(&request.merchant_id, OtpPurpose::Unbind, &request.otp, now)?;
        self.devices.remove(&request.device_serial);
        if let Some(terminal) = self.terminals.get_mut(&request.terminal_id) {
            terminal.device_serial = None;
        }
        Ok(Ack { ok: true })
    }

    // --- settlement card ---

    pub(crate) fn change_settlement_card(&mut self, request: CardChangeRequest) -> Outcome<CardChangeStatus> {
        self.approved_merchant(&request.merchant_id)?;
        if !rules::is_valid_card_number(&request.card_number) {
            // Never echo the number.
            return Err(Refusal::new(
                400,
                error_code::INVALID_CARD,
                "the card number is not valid (16 to 19 digits with a correct check digit); check it and try again",
            ));
        }
        if request.holder_name.trim().is_empty() {
            return Err(Refusal::invalid("holder_name must not be empty"));
        }
        if !rules::is_valid_bank_code(&request.bank_code) {
            return Err(Refusal::invalid(
                "bank_code must be 3 or 4 digits or uppercase letters (e.g. 102 or ICBC)",
            ));
        }
        if !rules::is_valid_branch_code(&request.branch_code) {
            return Err(Refusal::invalid("branch_code must be 1 to 32 letters or digits"));
        }
        let request_id = format!("CC{:010}", self.next());
        self.card_changes.insert(
            request_id.clone(),
            CardChangeRecord {
                request_id: request_id.clone(),
                merchant_id: request.merchant_id,
                card_masked: rules::mask_card(&request.card_number),
                holder_name: request.holder_name,
                bank_code: request.bank_code,
                branch_code: request.branch_code,
                state: CardChangeState::Pending,
                polls: 0,
            },
        );
        Ok(CardChangeStatus {
            request_id,
            state: CardChangeState::Pending,
            reason: None,
        })
    }

    pub(crate) fn settlement_card_status(&mut self, request_id: &str) -> Outcome<CardChangeStatus> {
        let confirm_delay = self.confirm_delay;
        let change = self
            .card_changes
            .get_mut(request_id)
            .ok_or_else(|| Refusal::not_found(format!("settlement card change {request_id} not found")))?;
        change.polls = change.polls.saturating_add(1);
        let confirm = change.state == CardChangeState::Pending && change.polls > confirm_delay;
        if confirm {
            self.confirm(request_id);
        }
        let change = self
            .card_changes
            .get(request_id)
            .ok_or_else(|| internal("card change vanished"))?;
        Ok(CardChangeStatus {
            request_id: change.request_id.clone(),
            state: change.state,
            reason: None,
        })
    }

    fn confirm(&mut self, request_id: &str) {
        if let Some(change) = self.card_changes.get_mut(request_id) {
            change.state = CardChangeState::Confirmed;
            if let Some(merchant) = self.merchants.get_mut(&change.merchant_id) {
                merchant.settlement_card_masked = change.card_masked.clone();
            }
        }
    }

    /// Confirms every pending card change; returns how many.
    pub(crate) fn confirm_all(&mut self) -> usize {
        let pending: Vec<String> = self
            .card_changes
            .values()
            .filter(|c| c.state == CardChangeState::Pending)
            .map(|c| c.request_id.clone())
            .collect();
        for id in &pending {
            self.confirm(id);
        }
        pending.len()
    }

    // --- payment methods ---

    pub(crate) fn set_payment_method(&mut self, request: PaymentMethodRequest) -> Outcome<Ack> {
        self.approved_merchant(&request.merchant_id)?;
        let sub_merchant_id = request
            .sub_merchant_id
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        let merchant = self
            .merchants
            .get_mut(&request.merchant_id)
            .ok_or_else(|| internal("merchant vanished"))?;
        if request.enabled {
            let sub = sub_merchant_id.ok_or_else(|| {
                Refusal::invalid("enabling a payment method needs the wallet's sub_merchant_id")
            })?;
            merchant.payment_methods.insert(request.method, sub);
        } else {
            merchant.payment_methods.remove(&request.method);
        }
        Ok(Ack { ok: true })
    }
}

/// The review rules: the verdict of an application, `None` to approve.
fn review(merchant_name: &str, business_licence: &str) -> Option<String> {
    if !rules::is_valid_business_licence(business_licence) {
        return Some("business licence number is not a valid unified social credit code".into());
    }
    if merchant_name.contains("REJECT") {
        return Some("application rejected by review".into());
    }
    None
}
