//! The binding lifecycle through the Terminal: onboarding, binding,
//! sign-in with the acquirer, unbinding, the settlement card, payment
//! methods, the administrator password, device replacement and backups.

use std::path::PathBuf;
use std::sync::Arc;

use poskit_binding::platform::{OtpPurpose, PaymentMethod as WalletMethod};
use poskit_binding::{ApplicationForm, Lifecycle};

use super::Terminal;
use crate::binding::{MASTER_KEY, Report};
use crate::error::{Result, TerminalError};

/// What a sign-in did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SignIn {
    /// The batch the acquirer opened.
    pub batch_no: u32,
    /// Parameter records (AIDs, CA keys) loaded into the kernel.
    pub parameters: usize,
}

impl Terminal {
    pub async fn apply(&self, form: &ApplicationForm) -> Result<Report> {
        self.lock().await.binding.apply(form, crate::now()).await
    }

    pub async fn refresh_review(&self) -> Result<Report> {
        self.lock().await.binding.refresh_review(crate::now()).await
    }

    /// Binds this device to the approved merchant.
    pub async fn bind(&self, serial: &str, model: &str) -> Result<Report> {
        let mut inner = self.lock().await;
        let report = inner.binding.bind(serial, model, crate::now()).await?;
        self.attach_host(&mut inner)?;
        Ok(report)
    }

    /// Signs in with the acquirer (fresh working keys under the master key
    /// from binding), downloads the EMV parameters into the kernel, and
    /// makes the terminal active. Done at the start of each day.
    pub async fn sign_in(&self) -> Result<SignIn> {
        let mut inner = self.lock().await;
        if !matches!(
            inner.binding.lifecycle(),
            Lifecycle::Bound(_) | Lifecycle::Active(_)
        ) {
            return Err(TerminalError::NotReady(format!(
                "the terminal is {}: bind it before signing in",
                inner.binding.lifecycle().name()
            )));
        }
        self.attach_host(&mut inner)?;
        let now = crate::now();
        let super::Inner {
            binding,
            host,
            kernel,
            config,
            ..
        } = &mut *inner;
        let host = super::bound(host)?;
        let batch_no = host.sign_in(binding.store_mut(), MASTER_KEY, now).await?;
        let parameters = host.download_parameters(binding.store_mut(), config, now).await?;
        kernel.set_config(Arc::new(config.clone()));
        if matches!(binding.lifecycle(), Lifecycle::Bound(_)) {
            binding.signed_in(now)?;
        }
        Ok(SignIn { batch_no, parameters })
    }

    /// Signs out (end of day): the working keys are forgotten.
    pub async fn sign_out(&self) -> Result<()> {
        let mut inner = self.lock().await;
        let super::Inner { binding, host, .. } = &mut *inner;
        let host = super::bound(host)?;
        host.sign_out(binding.store_mut(), crate::now()).await
    }

    pub async fn request_otp(&self, purpose: OtpPurpose) -> Result<Report> {
        self.lock().await.binding.request_otp(purpose, crate::now()).await
    }

    pub async fn unbind(&self, merchant_id: &str, password: &str, otp: &str) -> Result<Report> {
        let mut inner = self.lock().await;
        let report = inner
            .binding
            .unbind(merchant_id, password, otp, crate::now())
            .await?;
        if inner.binding.lifecycle().device().is_none() {
            inner.host = None;
        }
        Ok(report)
    }

    pub async fn change_settlement_card(
        &self,
        password: &str,
        card_number: &str,
        holder: &str,
        bank_code: &str,
        branch_code: &str,
    ) -> Result<Report> {
        self.lock()
            .await
            .binding
            .change_settlement_card(
                password,
                card_number,
                holder,
                bank_code,
                branch_code,
                crate::now(),
            )
            .await
    }

    pub async fn refresh_card_change(&self) -> Result<Report> {
        self.lock().await.binding.refresh_card_change(crate::now()).await
    }

    pub async fn set_payment_method(
        &self,
        method: WalletMethod,
        enabled: bool,
        sub_merchant_id: Option<&str>,
    ) -> Result<Report> {
        self.lock()
            .await
            .binding
            .set_payment_method(method, enabled, sub_merchant_id, crate::now())
            .await
    }

    pub async fn change_password(&self, old: &str, new: &str) -> Result<()> {
        self.lock().await.binding.change_password(old, new, crate::now())
    }

    /// Binds this (new) device in place of a broken one.
    pub async fn replace(&self, serial: &str, model: &str, date: &str) -> Result<Report> {
        let mut inner = self.lock().await;
        let report = inner.binding.replace(serial, model, date, crate::now()).await?;
        inner.host = None;
        self.attach_host(&mut inner)?;
        Ok(report)
    }

    /// The old device, once its data moved: keys wiped, back to the start.
    pub async fn retire(&self) -> Result<()> {
        let mut inner = self.lock().await;
        inner.binding.retire(crate::now())?;
        inner.host = None;
        Ok(())
    }

    /// An encrypted backup of the store.
    pub async fn backup(&self, reason: &str) -> Result<PathBuf> {
        self.lock().await.binding.backup(crate::now(), reason)
    }
}
