//! The terminal's lifecycle as a sans-IO state machine: each operation
//! checks what it can locally and returns the platform call to make; the
//! caller makes it and hands the reply back, and gets the effects to carry
//! out (audit records, key loading or wiping, a backup, a voucher).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::{BindingError, invalid};
use crate::password::AdminPassword;
use crate::platform::*;
use crate::validate;

/// Where the terminal is in its life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Lifecycle {
    Unprovisioned,
    /// The application is with the platform, under review.
    UnderReview {
        application_id: String,
    },
    Rejected {
        application_id: String,
        reason: String,
    },
    Approved {
        merchant_id: String,
    },
    Bound(Device),
    /// Bound and signed in with the acquirer.
    Active(Device),
}

impl Lifecycle {
    pub fn name(&self) -> &'static str {
        match self {
            Lifecycle::Unprovisioned => "unprovisioned",
            Lifecycle::UnderReview { .. } => "under review",
            Lifecycle::Rejected { .. } => "rejected",
            Lifecycle::Approved { .. } => "approved",
            Lifecycle::Bound(_) => "bound",
            Lifecycle::Active(_) => "active",
        }
    }

    pub fn device(&self) -> Option<&Device> {
        match self {
            Lifecycle::Bound(d) | Lifecycle::Active(d) => Some(d),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    pub merchant_id: String,
    pub terminal_id: String,
    pub serial: String,
    pub model: String,
    /// Unix seconds of the first binding (warranty starts here).
    pub bound_at: u64,
}

/// What the merchant fills in to apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationForm {
    pub merchant_name: String,
    pub business_licence: String,
    /// The full id number: only its masked form is kept or sent.
    pub legal_representative_id: String,
    pub settlement_card: String,
    pub settlement_holder: String,
    pub bank_code: String,
    pub contact_phone: String,
    pub documents: Vec<String>,
    pub admin_password: String,
}

/// The settlement card, as the terminal keeps it: masked only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementCard {
    pub masked_number: String,
    pub holder_name: String,
    pub bank_code: String,
    pub branch_code: String,
    pub since: u64,
}

/// Proof for the merchant that a settlement card change was confirmed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardChangeVoucher {
    pub request_id: String,
    pub merchant_id: String,
    pub old_card: Option<String>,
    pub new_card: String,
    pub holder_name: String,
    pub confirmed_at: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MethodState {
    pub enabled: bool,
    pub sub_merchant_id: Option<String>,
}

/// Limits the terminal applies itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    pub max_card_changes: usize,
    pub card_change_window_days: u64,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            max_card_changes: 3,
            card_change_window_days: 30,
        }
    }
}

/// A call to make on the platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlatformCall {
    SubmitApplication(ApplicationRequest),
    ApplicationStatus(String),
    Bind(BindRequest),
    Replace(ReplaceRequest),
    RequestOtp(OtpRequest),
    Unbind(UnbindRequest),
    ChangeSettlementCard(CardChangeRequest),
    SettlementCardStatus(String),
    SetPaymentMethod(PaymentMethodRequest),
}

/// The platform's answer to a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlatformReply {
    Application(ApplicationStatus),
    Bound(BindResponse),
    Replaced(ReplaceResponse),
    OtpSent(OtpSent),
    Ack,
    CardChange(CardChangeStatus),
    /// A refusal with the platform's error code.
    Refused(ApiError),
}

/// What the caller must do once a reply is taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Append to the hash-chained audit trail.
    Audit {
        event: String,
        details: serde_json::Value,
    },
    /// Unwrap this master key with the transport key, check its value, and
    /// store it in the key vault.
    LoadMasterKey { encrypted: String, check_value: String },
    /// Wipe every key from the vault.
    WipeKeys,
    /// Take an encrypted backup of the whole terminal state before going on.
    TakeBackup { reason: &'static str },
    /// Give the merchant this voucher.
    Voucher(CardChangeVoucher),
    /// The replacement is outside the warranty: charge the merchant.
    Chargeable,
}

fn audit(event: &str, details: serde_json::Value) -> Effect {
    Effect::Audit {
        event: event.to_owned(),
        details,
    }
}

/// The call waiting for its reply, with what the reply needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Pending {
    Application,
    Status,
    Bind {
        serial: String,
        model: String,
    },
    Replace {
        serial: String,
        model: String,
    },
    Otp {
        purpose: OtpPurpose,
    },
    Unbind,
    CardChange {
        card: SettlementCard,
    },
    CardStatus,
    Method {
        method: PaymentMethod,
        enabled: bool,
        sub_merchant_id: Option<String>,
    },
}

impl Pending {
    fn name(&self) -> &'static str {
        match self {
            Pending::Application | Pending::Status => "merchant application",
            Pending::Bind { .. } => "binding",
            Pending::Replace { .. } => "device replacement",
            Pending::Otp { .. } => "verification code request",
            Pending::Unbind => "unbinding",
            Pending::CardChange { .. } | Pending::CardStatus => "settlement card change",
            Pending::Method { .. } => "payment method change",
        }
    }
}

/// A card change on its way: waiting for the platform's confirmation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct PendingCardChange {
    request_id: String,
    card: SettlementCard,
    requested_at: u64,
}

/// Everything the binding layer remembers; the caller persists it (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Binding {
    pub lifecycle: Lifecycle,
    pub policy: Policy,
    password: Option<AdminPassword>,
    pub settlement_card: Option<SettlementCard>,
    /// Times of card change requests (unix seconds), for the frequency limit.
    card_changes: Vec<u64>,
    card_change: Option<PendingCardChange>,
    pub methods: BTreeMap<PaymentMethod, MethodState>,
    pending: Option<Pending>,
}

impl Default for Binding {
    fn default() -> Self {
        Self::new(Policy::default())
    }
}

impl Binding {
    pub fn new(policy: Policy) -> Self {
        Self {
            lifecycle: Lifecycle::Unprovisioned,
            policy,
            password: None,
            settlement_card: None,
            card_changes: Vec::new(),
            card_change: None,
            methods: BTreeMap::new(),
            pending: None,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("binding state serializes")
    }

    pub fn from_json(text: &str) -> Result<Self, BindingError> {
        serde_json::from_str(text)
            .map_err(|_| invalid("binding state", "the saved state is damaged; restore a backup"))
    }

    /// The platform call still waiting for a reply (after a crash, the
    /// caller sends it again: every call is safe to repeat).
    pub fn pending_call(&self) -> Option<&'static str> {
        self.pending.as_ref().map(Pending::name)
    }

    fn begin(&mut self, pending: Pending, call: PlatformCall) -> Result<PlatformCall, BindingError> {
        if let Some(p) = &self.pending {
            return Err(BindingError::Busy(p.name()));
        }
        self.pending = Some(pending);
        Ok(call)
    }

    fn wrong_state(&self, hint: &'static str) -> BindingError {
        BindingError::WrongState {
            state: self.lifecycle.name(),
            hint,
        }
    }

    fn check_password(&mut self, password: &str, now: u64) -> Result<(), BindingError> {
        match self.password.as_mut() {
            Some(p) => p.verify(password, now),
            None => Err(self.wrong_state("no admin password is set yet")),
        }
    }

    fn merchant_id(&self) -> Option<&str> {
        match &self.lifecycle {
            Lifecycle::Approved { merchant_id } => Some(merchant_id),
            Lifecycle::Bound(d) | Lifecycle::Active(d) => Some(&d.merchant_id),
            _ => None,
        }
    }

    // ---- Onboarding ----

    /// Checks the application form and prepares its submission. `salt`
    /// seeds the admin password hash.
    pub fn apply(&mut self, form: &ApplicationForm, salt: [u8; 16]) -> Result<PlatformCall, BindingError> {
        if !matches!(
            self.lifecycle,
            Lifecycle::Unprovisioned | Lifecycle::Rejected { .. }
        ) {
            return Err(self.wrong_state("only a new or rejected terminal can apply"));
        }
        if form.merchant_name.trim().is_empty() {
            return Err(invalid("merchant name", "must not be empty"));
        }
        validate::business_licence(&form.business_licence)?;
        let id_masked = validate::mask_id(&form.legal_representative_id)?;
        validate::settlement_card(&form.settlement_card)?;
        validate::holder_name(&form.settlement_holder)?;
        validate::bank_code(&form.bank_code)?;
        validate::phone(&form.contact_phone)?;
        let password = AdminPassword::new(&form.admin_password, salt)?;
        let request = ApplicationRequest {
            merchant_name: form.merchant_name.trim().to_owned(),
            business_licence: form.business_licence.clone(),
            legal_representative_id_masked: id_masked,
            settlement_account: form.settlement_card.trim().to_owned(),
            settlement_holder: form.settlement_holder.trim().to_owned(),
            bank_code: form.bank_code.clone(),
            contact_phone: form.contact_phone.clone(),
            documents: form.documents.clone(),
        };
        let call = self.begin(Pending::Application, PlatformCall::SubmitApplication(request))?;
        self.password = Some(password);
        self.settlement_card = Some(SettlementCard {
            masked_number: validate::mask_card(form.settlement_card.trim()),
            holder_name: form.settlement_holder.trim().to_owned(),
            bank_code: form.bank_code.clone(),
            branch_code: String::new(),
            since: 0,
        });
        Ok(call)
    }

    /// Asks the platform how the review is going.
    pub fn refresh_review(&mut self) -> Result<PlatformCall, BindingError> {
        let Lifecycle::UnderReview { application_id } = &self.lifecycle else {
            return Err(self.wrong_state("there is no application under review"));
        };
        let id = application_id.clone();
        self.begin(Pending::Status, PlatformCall::ApplicationStatus(id))
    }

    fn take_review(&mut self, status: ApplicationStatus) -> Result<Vec<Effect>, BindingError> {
        let details = json!({ "application_id": status.application_id, "state": status.state });
        self.lifecycle = match status.state {
            ReviewState::UnderReview => Lifecycle::UnderReview {
                application_id: status.application_id,
            },
            ReviewState::Rejected => Lifecycle::Rejected {
                application_id: status.application_id,
                reason: status.reason.clone().unwrap_or_else(|| "no reason given".into()),
            },
            ReviewState::Approved => Lifecycle::Approved {
                merchant_id: status.merchant_id.clone().ok_or(BindingError::UnexpectedReply(
                    "an approval without a merchant number",
                ))?,
            },
        };
        Ok(vec![audit(
            &format!("application {}", self.lifecycle.name()),
            details,
        )])
    }

    // ---- Binding and sign-in ----

    pub fn bind(&mut self, serial: &str, model: &str) -> Result<PlatformCall, BindingError> {
        let Lifecycle::Approved { merchant_id } = &self.lifecycle else {
            return Err(self.wrong_state("binding needs an approved merchant"));
        };
        if serial.trim().is_empty() || model.trim().is_empty() {
            return Err(invalid("device", "serial number and model are required"));
        }
        let request = BindRequest {
            merchant_id: merchant_id.clone(),
            device_serial: serial.trim().to_owned(),
            device_model: model.trim().to_owned(),
        };
        let pending = Pending::Bind {
            serial: request.device_serial.clone(),
            model: request.device_model.clone(),
        };
        self.begin(pending, PlatformCall::Bind(request))
    }

    /// The acquirer accepted the sign-in: the terminal is active.
    pub fn signed_in(&mut self, now: u64) -> Result<Vec<Effect>, BindingError> {
        match &self.lifecycle {
            Lifecycle::Bound(d) | Lifecycle::Active(d) => {
                let d = d.clone();
                let first = matches!(self.lifecycle, Lifecycle::Bound(_));
                self.lifecycle = Lifecycle::Active(d);
                Ok(if first {
                    vec![audit("signed in", json!({ "at": now }))]
                } else {
                    Vec::new()
                })
            }
            _ => Err(self.wrong_state("sign-in needs a bound terminal")),
        }
    }

    // ---- Device replacement ----

    /// Runs on the new device, after the old device's backup was restored
    /// onto it: the platform moves the terminal id to this serial.
    pub fn replace(
        &mut self,
        new_serial: &str,
        new_model: &str,
        date: &str,
    ) -> Result<PlatformCall, BindingError> {
        let Some(device) = self.lifecycle.device().cloned() else {
            return Err(self.wrong_state("only a bound terminal can be moved to a new device"));
        };
        if new_serial.trim() == device.serial {
            return Err(invalid(
                "new device",
                "is the device already bound; use the replacement's serial",
            ));
        }
        let request = ReplaceRequest {
            merchant_id: device.merchant_id.clone(),
            terminal_id: device.terminal_id.clone(),
            old_device_serial: device.serial.clone(),
            new_device_serial: new_serial.trim().to_owned(),
            new_device_model: new_model.trim().to_owned(),
            date: date.to_owned(),
        };
        let pending = Pending::Replace {
            serial: request.new_device_serial.clone(),
            model: request.new_device_model.clone(),
        };
        self.begin(pending, PlatformCall::Replace(request))
    }

    /// Runs on the old device once its data has moved: keys are wiped and
    /// it goes back to unprovisioned.
    pub fn retire(&mut self, now: u64) -> Vec<Effect> {
        let details = json!({ "serial": self.lifecycle.device().map(|d| d.serial.clone()), "at": now });
        *self = Binding::new(self.policy);
        vec![audit("device retired", details), Effect::WipeKeys]
    }

    // ---- Unbinding ----

    /// Asks the platform to send the one-time code for `purpose`.
    pub fn request_otp(&mut self, purpose: OtpPurpose) -> Result<PlatformCall, BindingError> {
        let merchant_id = self
            .merchant_id()
            .ok_or_else(|| self.wrong_state("a verification code needs a merchant"))?;
        let request = OtpRequest {
            merchant_id: merchant_id.to_owned(),
            purpose,
        };
        self.begin(Pending::Otp { purpose }, PlatformCall::RequestOtp(request))
    }

    /// Unbinds: merchant number, admin password and the one-time code; the
    /// caller says whether anything is unsettled or a reversal pending.
    /// A backup is taken before the platform is asked.
    pub fn unbind(
        &mut self,
        merchant_id: &str,
        password: &str,
        otp: &str,
        unsettled: bool,
        reversal_pending: bool,
        now: u64,
    ) -> Result<(PlatformCall, Vec<Effect>), BindingError> {
        let Some(device) = self.lifecycle.device().cloned() else {
            return Err(self.wrong_state("only a bound terminal can be unbound"));
        };
        if merchant_id.trim() != device.merchant_id {
            return Err(BindingError::WrongMerchant);
        }
        self.check_password(password, now)?;
        if reversal_pending {
            return Err(BindingError::Unsettled("a reversal is still pending"));
        }
        if unsettled {
            return Err(BindingError::Unsettled("transactions are not settled"));
        }
        if otp.len() != 6 || !otp.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid(
                "verification code",
                "is the 6-digit code the platform sent",
            ));
        }
        let request = UnbindRequest {
            merchant_id: device.merchant_id.clone(),
            terminal_id: device.terminal_id.clone(),
            device_serial: device.serial.clone(),
            otp: otp.to_owned(),
        };
        let call = self.begin(Pending::Unbind, PlatformCall::Unbind(request))?;
        Ok((
            call,
            vec![Effect::TakeBackup {
                reason: "before unbinding",
            }],
        ))
    }

    // ---- Settlement card change ----

    /// Starts a settlement card change: admin password, a valid card, and
    /// no more than the policy's changes in its window.
    #[allow(clippy::too_many_arguments)]
    pub fn change_settlement_card(
        &mut self,
        password: &str,
        card_number: &str,
        holder_name: &str,
        bank_code: &str,
        branch_code: &str,
        now: u64,
    ) -> Result<PlatformCall, BindingError> {
        let merchant_id = self
            .merchant_id()
            .map(str::to_owned)
            .filter(|_| self.lifecycle.device().is_some())
            .ok_or_else(|| self.wrong_state("a settlement card change needs a bound terminal"))?;
        self.check_password(password, now)?;
        if self.card_change.is_some() {
            return Err(BindingError::Busy("settlement card change"));
        }
        validate::settlement_card(card_number)?;
        validate::holder_name(holder_name)?;
        validate::bank_code(bank_code)?;
        validate::branch_code(branch_code)?;
        let window = self.policy.card_change_window_days * 86_400;
        let recent = self
            .card_changes
            .iter()
            .filter(|t| now.saturating_sub(**t) < window)
            .count();
        if recent >= self.policy.max_card_changes {
            return Err(BindingError::TooManyCardChanges {
                count: recent,
                limit: self.policy.max_card_changes,
                days: self.policy.card_change_window_days,
            });
        }
        let card = SettlementCard {
            masked_number: validate::mask_card(card_number.trim()),
            holder_name: holder_name.trim().to_owned(),
            bank_code: bank_code.to_owned(),
            branch_code: branch_code.to_owned(),
            since: now,
        };
        let request = CardChangeRequest {
            merchant_id,
            card_number: card_number.trim().to_owned(),
            holder_name: card.holder_name.clone(),
            bank_code: bank_code.to_owned(),
            branch_code: branch_code.to_owned(),
        };
        self.begin(
            Pending::CardChange { card },
            PlatformCall::ChangeSettlementCard(request),
        )
    }

    /// Asks whether the pending card change is confirmed.
    pub fn refresh_card_change(&mut self) -> Result<PlatformCall, BindingError> {
        let id = self
            .card_change
            .as_ref()
            .map(|c| c.request_id.clone())
            .ok_or_else(|| self.wrong_state("no settlement card change is pending"))?;
        self.begin(Pending::CardStatus, PlatformCall::SettlementCardStatus(id))
    }

    pub fn card_change_pending(&self) -> bool {
        self.card_change.is_some()
    }

    fn take_card_status(&mut self, status: CardChangeStatus, now: u64) -> Result<Vec<Effect>, BindingError> {
        let Some(change) = self.card_change.clone() else {
            return Err(BindingError::UnexpectedReply("no card change is pending"));
        };
        match status.state {
            CardChangeState::Pending => Ok(vec![audit(
                "settlement card change pending",
                json!({ "request_id": status.request_id }),
            )]),
            CardChangeState::Rejected => {
                self.card_change = None;
                Ok(vec![audit(
                    "settlement card change rejected",
                    json!({ "request_id": status.request_id, "reason": status.reason }),
                )])
            }
            CardChangeState::Confirmed => {
                self.card_change = None;
                let old = self.settlement_card.replace(SettlementCard {
                    since: now,
                    ..change.card.clone()
                });
                let voucher = CardChangeVoucher {
                    request_id: change.request_id.clone(),
                    merchant_id: self.merchant_id().unwrap_or_default().to_owned(),
                    old_card: old.as_ref().map(|c| c.masked_number.clone()),
                    new_card: change.card.masked_number.clone(),
                    holder_name: change.card.holder_name.clone(),
                    confirmed_at: now,
                };
                Ok(vec![
                    audit(
                        "settlement card changed",
                        json!({
                            "request_id": change.request_id,
                            "old_card": old,
                            "new_card": change.card,
                        }),
                    ),
                    Effect::Voucher(voucher),
                ])
            }
        }
    }

    // ---- Payment methods ----

    pub fn set_payment_method(
        &mut self,
        method: PaymentMethod,
        enabled: bool,
        sub_merchant_id: Option<&str>,
    ) -> Result<PlatformCall, BindingError> {
        let merchant_id = self
            .merchant_id()
            .map(str::to_owned)
            .filter(|_| self.lifecycle.device().is_some())
            .ok_or_else(|| self.wrong_state("payment methods need a bound terminal"))?;
        let sub = sub_merchant_id
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        if enabled && sub.is_none() {
            return Err(invalid("sub-merchant id", "is required to enable a wallet"));
        }
        let request = PaymentMethodRequest {
            merchant_id,
            method,
            enabled,
            sub_merchant_id: sub.clone(),
        };
        self.begin(
            Pending::Method {
                method,
                enabled,
                sub_merchant_id: sub,
            },
            PlatformCall::SetPaymentMethod(request),
        )
    }

    pub fn change_password(
        &mut self,
        old: &str,
        new: &str,
        salt: [u8; 16],
        now: u64,
    ) -> Result<Vec<Effect>, BindingError> {
        let password = self.password.as_mut().ok_or(BindingError::WrongState {
            state: "unprovisioned",
            hint: "no admin password is set yet",
        })?;
        password.change(old, new, salt, now)?;
        Ok(vec![audit("admin password changed", json!({ "at": now }))])
    }

    // ---- Replies ----

    /// The platform's reply to the pending call (or None: the call failed
    /// on the network and may be sent again).
    pub fn on_reply(&mut self, reply: Option<PlatformReply>, now: u64) -> Result<Vec<Effect>, BindingError> {
        let Some(reply) = reply else {
            // Nothing happened at the platform as far as we know: the same
            // call may be made again.
            self.pending = None;
            return Ok(Vec::new());
        };
        let pending = self
            .pending
            .take()
            .ok_or(BindingError::UnexpectedReply("no call is pending"))?;
        if let PlatformReply::Refused(e) = reply {
            return Err(BindingError::Refused {
                code: e.code,
                message: e.message,
            });
        }
        match (pending, reply) {
            (Pending::Application | Pending::Status, PlatformReply::Application(status)) => {
                self.take_review(status)
            }
            (Pending::Bind { serial, model }, PlatformReply::Bound(bound)) => {
                let Lifecycle::Approved { merchant_id } = &self.lifecycle else {
                    return Err(BindingError::UnexpectedReply(
                        "a binding for a terminal that is not approved",
                    ));
                };
                if &bound.merchant_id != merchant_id {
                    return Err(BindingError::UnexpectedReply("a binding for another merchant"));
                }
                let device = Device {
                    merchant_id: bound.merchant_id.clone(),
                    terminal_id: bound.terminal_id.clone(),
                    serial,
                    model,
                    bound_at: now,
                };
                let details = json!({ "merchant_id": device.merchant_id, "terminal_id": device.terminal_id, "serial": device.serial });
                self.lifecycle = Lifecycle::Bound(device);
                Ok(vec![
                    Effect::LoadMasterKey {
                        encrypted: bound.master_key_under_transport_key,
                        check_value: bound.master_key_check_value,
                    },
                    audit("bound", details),
                ])
            }
            (Pending::Replace { serial, model }, PlatformReply::Replaced(replaced)) => {
                let old = self
                    .lifecycle
                    .device()
                    .cloned()
                    .ok_or(BindingError::UnexpectedReply("no device"))?;
                let device = Device {
                    serial,
                    model,
                    terminal_id: replaced.bind.terminal_id.clone(),
                    ..old.clone()
                };
                self.lifecycle = Lifecycle::Bound(device.clone());
                let mut effects = vec![
                    Effect::WipeKeys,
                    Effect::LoadMasterKey {
                        encrypted: replaced.bind.master_key_under_transport_key,
                        check_value: replaced.bind.master_key_check_value,
                    },
                    audit(
                        "device replaced",
                        json!({ "old_serial": old.serial, "new_serial": device.serial, "chargeable": replaced.chargeable }),
                    ),
                ];
                if replaced.chargeable {
                    effects.push(Effect::Chargeable);
                }
                Ok(effects)
            }
            (Pending::Otp { purpose }, PlatformReply::OtpSent(sent)) => Ok(vec![audit(
                "verification code sent",
                json!({ "purpose": purpose, "phone": sent.phone_masked }),
            )]),
            (Pending::Unbind, PlatformReply::Ack) => {
                let details =
                    json!({ "serial": self.lifecycle.device().map(|d| d.serial.clone()), "at": now });
                let policy = self.policy;
                *self = Binding::new(policy);
                Ok(vec![Effect::WipeKeys, audit("unbound", details)])
            }
            (Pending::CardChange { card }, PlatformReply::CardChange(status)) => {
                self.card_changes.push(now);
                self.card_change = Some(PendingCardChange {
                    request_id: status.request_id.clone(),
                    card,
                    requested_at: now,
                });
                let mut effects = vec![audit(
                    "settlement card change requested",
                    json!({ "request_id": status.request_id }),
                )];
                if status.state != CardChangeState::Pending {
                    effects.extend(self.take_card_status(status, now)?);
                }
                Ok(effects)
            }
            (Pending::CardStatus, PlatformReply::CardChange(status)) => self.take_card_status(status, now),
            (
                Pending::Method {
                    method,
                    enabled,
                    sub_merchant_id,
                },
                PlatformReply::Ack,
            ) => {
                self.methods.insert(
                    method,
                    MethodState {
                        enabled,
                        sub_merchant_id: sub_merchant_id.clone(),
                    },
                );
                Ok(vec![audit(
                    "payment method changed",
                    json!({ "method": method, "enabled": enabled, "sub_merchant_id": sub_merchant_id }),
                )])
            }
            (pending, _) => {
                self.pending = Some(pending);
                Err(BindingError::UnexpectedReply("the reply is for another call"))
            }
        }
    }
}
