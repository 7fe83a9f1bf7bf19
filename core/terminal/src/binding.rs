//! The binding lifecycle with its I/O: the sans-IO machine of
//! poskit-binding, the merchant platform over HTTPS, and the store
//! (state, audit trail, key vault, backups).
//!
//! Every operation persists the machine's state before and after the
//! platform call, so a crash in between leaves a call that is safe to make
//! again (DESIGN rule 4).

use std::path::{Path, PathBuf};

use poskit_binding::platform::{OtpPurpose, PaymentMethod};
use poskit_binding::{
    ApplicationForm, Binding, BindingError, CardChangeVoucher, Effect, Lifecycle, PlatformCall, PlatformReply,
};
use poskit_crypto::{Algorithm, RandomSource, SymmetricKey, SystemRandom, kcv};
use poskit_host::{HostError, PlatformClient};
use poskit_store::{BackupSecret, Keystore, Store};

use crate::error::{Result, TerminalError};

const STATE_KEY: &str = poskit_store::setting_keys::BINDING_STATE;
/// The terminal master key's name in the key vault.
pub const MASTER_KEY: &str = "terminal-master-key";

/// The name of the binding lifecycle state saved in `store` ("bound",
/// "active", ...), `None` when none was ever saved. For diagnostics: it
/// reads the state without opening a [`BindingService`].
pub fn stored_lifecycle(store: &Store) -> Result<Option<&'static str>> {
    match store.get_setting::<String>(STATE_KEY)? {
        Some(json) => Ok(Some(Binding::from_json(&json)?.lifecycle.name())),
        None => Ok(None),
    }
}

/// What an operation produced that the merchant should see.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub voucher: Option<CardChangeVoucher>,
    pub backup: Option<PathBuf>,
    pub chargeable: bool,
}

/// The terminal's binding operations.
pub struct BindingService {
    store: Store,
    platform: PlatformClient,
    binding: Binding,
    transport_key: SymmetricKey,
    backup_dir: PathBuf,
    backup_secret: BackupSecret,
}

fn salt() -> [u8; 16] {
    let mut salt = [0u8; 16];
    // A failed generator leaves zeros: still a valid (weaker) salt, and
    // the OS generator does not fail in practice.
    let _ = SystemRandom::new().fill(&mut salt);
    salt
}

impl BindingService {
    /// Opens (or creates) the terminal's store in `data_dir`.
    pub fn open(
        data_dir: &Path,
        keystore: &dyn Keystore,
        platform: PlatformClient,
        transport_key: SymmetricKey,
        backup_secret: BackupSecret,
    ) -> Result<Self> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| TerminalError::Io(format!("cannot create {}: {e}", data_dir.display())))?;
        let store = Store::open(data_dir.join("terminal.db"), keystore)?;
        Self::with_store(store, data_dir, platform, transport_key, backup_secret)
    }

    pub fn with_store(
        store: Store,
        data_dir: &Path,
        platform: PlatformClient,
        transport_key: SymmetricKey,
        backup_secret: BackupSecret,
    ) -> Result<Self> {
        let binding = match store.get_setting::<String>(STATE_KEY)? {
            Some(json) => Binding::from_json(&json)?,
            None => Binding::default(),
        };
        Ok(Self {
            store,
            platform,
            binding,
            transport_key,
            backup_dir: data_dir.join("backups"),
            backup_secret,
        })
    }

    pub fn lifecycle(&self) -> &Lifecycle {
        &self.binding.lifecycle
    }

    pub fn binding(&self) -> &Binding {
        &self.binding
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn store_mut(&mut self) -> &mut Store {
        &mut self.store
    }

    fn save(&mut self, now: u64) -> Result<()> {
        self.store
            .put_setting(STATE_KEY, &self.binding.to_json(), now as i64)?;
        Ok(())
    }

    /// Makes a platform call. A refusal is an answer; a network failure is
    /// none (the machine lets the call be made again).
    async fn send(&mut self, call: PlatformCall) -> std::result::Result<PlatformReply, HostError> {
        let p = &self.platform;
        Ok(match call {
            PlatformCall::SubmitApplication(r) => PlatformReply::Application(p.submit_application(&r).await?),
            PlatformCall::ApplicationStatus(id) => {
                PlatformReply::Application(p.application_status(&id).await?)
            }
            PlatformCall::Bind(r) => PlatformReply::Bound(p.bind(&r).await?),
            PlatformCall::Replace(r) => PlatformReply::Replaced(p.replace(&r).await?),
            PlatformCall::RequestOtp(r) => PlatformReply::OtpSent(p.request_otp(&r).await?),
            PlatformCall::Unbind(r) => {
                p.unbind(&r).await?;
                PlatformReply::Ack
            }
            PlatformCall::ChangeSettlementCard(r) => {
                PlatformReply::CardChange(p.change_settlement_card(&r).await?)
            }
            PlatformCall::SettlementCardStatus(id) => {
                PlatformReply::CardChange(p.settlement_card_status(&id).await?)
            }
            PlatformCall::SetPaymentMethod(r) => {
                p.set_payment_method(&r).await?;
                PlatformReply::Ack
            }
        })
    }

    async fn run(&mut self, call: PlatformCall, now: u64) -> Result<Report> {
        self.save(now)?;
        let reply = match self.send(call).await {
            Ok(reply) => Some(reply),
            Err(HostError::Api { code, message }) => {
                Some(PlatformReply::Refused(poskit_binding::platform::ApiError {
                    code,
                    message,
                }))
            }
            Err(e) => {
                self.binding.on_reply(None, now)?;
                self.save(now)?;
                return Err(e.into());
            }
        };
        let outcome = self.binding.on_reply(reply, now);
        self.save(now)?;
        let effects = outcome?;
        self.carry_out(effects, now)
    }

    fn carry_out(&mut self, effects: Vec<Effect>, now: u64) -> Result<Report> {
        let mut report = Report::default();
        for effect in effects {
            match effect {
                Effect::Audit { event, details } => {
                    self.store
                        .append_audit(now as i64, "terminal", &event, &details)?;
                }
                Effect::LoadMasterKey {
                    encrypted,
                    check_value,
                } => {
                    let bad = |_| {
                        TerminalError::Binding(BindingError::UnexpectedReply("the master key is not hex"))
                    };
                    let encrypted = hex_decode(&encrypted).map_err(bad)?;
                    let check = hex_decode(&check_value).map_err(bad)?;
                    let key = kcv::unwrap_working_key(
                        &self.transport_key,
                        Algorithm::Tdes,
                        &encrypted,
                        &check,
                        "terminal master key",
                    )?;
                    self.store.put_key(MASTER_KEY, &key)?;
                }
                Effect::WipeKeys => {
                    self.store.wipe_keys()?;
                }
                Effect::TakeBackup { reason } => {
                    report.backup = Some(self.backup(now, reason)?);
                }
                Effect::Voucher(v) => report.voucher = Some(v),
                Effect::Chargeable => report.chargeable = true,
            }
        }
        Ok(report)
    }

    /// Writes an encrypted backup of the whole terminal state.
    pub fn backup(&mut self, now: u64, reason: &str) -> Result<PathBuf> {
        std::fs::create_dir_all(&self.backup_dir).map_err(|e| TerminalError::Io(e.to_string()))?;
        let bytes = self.store.export_backup(&self.backup_secret)?;
        let path = self.backup_dir.join(format!("terminal-{now}.pkbackup"));
        std::fs::write(&path, bytes)
            .map_err(|e| TerminalError::Io(format!("cannot write {}: {e}", path.display())))?;
        self.store.append_audit(
            now as i64,
            "terminal",
            "backup taken",
            &serde_json::json!({ "reason": reason }),
        )?;
        Ok(path)
    }

    pub async fn apply(&mut self, form: &ApplicationForm, now: u64) -> Result<Report> {
        let call = self.binding.apply(form, salt())?;
        self.run(call, now).await
    }

    pub async fn refresh_review(&mut self, now: u64) -> Result<Report> {
        let call = self.binding.refresh_review()?;
        self.run(call, now).await
    }

    pub async fn bind(&mut self, serial: &str, model: &str, now: u64) -> Result<Report> {
        let call = self.binding.bind(serial, model)?;
        self.run(call, now).await
    }

    pub fn signed_in(&mut self, now: u64) -> Result<()> {
        let effects = self.binding.signed_in(now)?;
        self.save(now)?;
        self.carry_out(effects, now)?;
        Ok(())
    }

    pub async fn replace(&mut self, serial: &str, model: &str, date: &str, now: u64) -> Result<Report> {
        let call = self.binding.replace(serial, model, date)?;
        self.run(call, now).await
    }

    /// The old device, once its data moved: wipe keys, back to unprovisioned.
    pub fn retire(&mut self, now: u64) -> Result<()> {
        let effects = self.binding.retire(now);
        self.save(now)?;
        self.carry_out(effects, now)?;
        Ok(())
    }

    pub async fn request_otp(&mut self, purpose: OtpPurpose, now: u64) -> Result<Report> {
        let call = self.binding.request_otp(purpose)?;
        self.run(call, now).await
    }

    pub async fn unbind(&mut self, merchant_id: &str, password: &str, otp: &str, now: u64) -> Result<Report> {
        let unsettled = self.store.has_unsettled()?;
        let reversal_pending = self.store.has_reversal_pending()?;
        let result = self
            .binding
            .unbind(merchant_id, password, otp, unsettled, reversal_pending, now);
        // Failed password tries count even when the unbind is refused.
        self.save(now)?;
        let (call, before) = result?;
        let report = self.carry_out(before, now)?;
        let after = self.run(call, now).await?;
        Ok(Report {
            backup: report.backup,
            ..after
        })
    }

    pub async fn change_settlement_card(
        &mut self,
        password: &str,
        card_number: &str,
        holder: &str,
        bank_code: &str,
        branch_code: &str,
        now: u64,
    ) -> Result<Report> {
        let result =
            self.binding
                .change_settlement_card(password, card_number, holder, bank_code, branch_code, now);
        self.save(now)?;
        let call = result?;
        self.run(call, now).await
    }

    pub async fn refresh_card_change(&mut self, now: u64) -> Result<Report> {
        let call = self.binding.refresh_card_change()?;
        self.run(call, now).await
    }

    pub async fn set_payment_method(
        &mut self,
        method: PaymentMethod,
        enabled: bool,
        sub_merchant_id: Option<&str>,
        now: u64,
    ) -> Result<Report> {
        let call = self
            .binding
            .set_payment_method(method, enabled, sub_merchant_id)?;
        self.run(call, now).await
    }

    pub fn change_password(&mut self, old: &str, new: &str, now: u64) -> Result<()> {
        let result = self.binding.change_password(old, new, salt(), now);
        self.save(now)?;
        let effects = result?;
        self.carry_out(effects, now)?;
        Ok(())
    }
}

fn hex_decode(text: &str) -> std::result::Result<Vec<u8>, ()> {
    if text.len() % 2 != 0 {
        return Err(());
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|p| u8::from_str_radix(p, 16).ok())
                .ok_or(())
        })
        .collect()
}
