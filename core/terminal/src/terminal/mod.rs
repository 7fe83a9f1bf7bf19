//! The Terminal: one object an app or cashier program holds, over the
//! binding lifecycle, the EMV kernel, the acquirer link, the QR gateway
//! and the journal. Every operation takes `&self` and is async; one runs
//! at a time (a terminal has one card slot and one screen), the others
//! wait their turn.

mod binding_ops;
mod card_flow;
mod outcome;
mod prepaid_ops;
mod query;
mod receipts;
mod reference;
mod wallet;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use poskit_binding::Lifecycle;
use poskit_crypto::SymmetricKey;
use poskit_emv::Kernel;
use poskit_host::{
    AcquirerConfig, AcquirerLink, GatewayClient, GatewayConfig, PlatformClient, PlatformConfig,
};
use poskit_iso8583::cup::TerminalIds;
use poskit_store::{BackupSecret, Keystore, Store};
use tokio::sync::Mutex;

use crate::binding::BindingService;
use crate::devices::{CardReader, EventListener, PinEntry};
use crate::error::{Result, TerminalError};
use crate::events::TerminalEvent;
use crate::host::HostLink;
use crate::qr::{QrLink, QrSettings};
use crate::receipt::{Printer, Width};
use crate::risk::{RiskDecision, RiskEngine, RiskRules};

pub use binding_ops::SignIn;
pub use outcome::{Reference, SettlementReport, TxnOutcome, TxnStatus, TxnSummary};
pub use prepaid_ops::{PrepaidCardInput, PrepaidOp};
pub use reference::SaleMethod;

/// Everything the Terminal needs to know before it opens.
pub struct TerminalConfig {
    /// Where the journal, the key vault and backups live.
    pub data_dir: PathBuf,
    pub platform: PlatformConfig,
    /// The key the platform wraps the terminal master key under.
    pub transport_key: SymmetricKey,
    pub backup_secret: BackupSecret,
    /// The acquirer host; the terminal and merchant ids come from binding.
    pub acquirer: AcquirerConfig,
    /// The QR gateway, when the merchant takes wallet payments.
    pub gateway: Option<(GatewayConfig, QrSettings)>,
    /// The kernel's configuration before the first parameter download.
    pub kernel: poskit_emv::Config,
    /// How long to wait for a card.
    pub card_timeout: Duration,
    /// Checked before every sale, pre-authorisation and refund.
    pub risk: RiskRules,
    /// The merchant's name as receipts print it.
    pub merchant_name: String,
    pub receipt_width: Width,
}

/// The app's hardware.
#[derive(Clone)]
pub struct Devices {
    pub reader: Arc<dyn CardReader>,
    pub pin_pad: Arc<dyn PinEntry>,
    pub printer: Arc<dyn Printer>,
    pub listener: Arc<dyn EventListener>,
}

pub(crate) struct Inner {
    pub binding: BindingService,
    pub kernel: Kernel,
    pub config: poskit_emv::Config,
    pub host: Option<HostLink>,
    pub qr: Option<QrLink>,
}

impl Inner {
    pub fn store(&mut self) -> &mut Store {
        self.binding.store_mut()
    }

    /// Card and QR payments need an active (bound and signed-in) terminal.
    pub fn require_active(&self) -> Result<()> {
        match self.binding.lifecycle() {
            Lifecycle::Active(_) => Ok(()),
            other => Err(TerminalError::NotReady(format!(
                "the terminal cannot take payments while {}: finish binding and sign in",
                other.name()
            ))),
        }
    }
}

/// The acquirer link, once the terminal is bound (its ids come from the
/// binding).
pub(crate) fn bound(host: &Option<HostLink>) -> Result<&HostLink> {
    host.as_ref()
        .ok_or_else(|| TerminalError::NotReady("the terminal is not bound yet: bind it first".into()))
}

/// The gateway link, when the merchant takes wallet payments.
pub(crate) fn qr_link(qr: &Option<QrLink>) -> Result<&QrLink> {
    qr.as_ref().ok_or_else(|| {
        TerminalError::Config("QR payments are not set up on this terminal: configure the gateway".into())
    })
}

/// The terminal.
pub struct Terminal {
    inner: Mutex<Inner>,
    devices: Devices,
    acquirer: AcquirerConfig,
    card_timeout: Duration,
    risk: Arc<RiskEngine>,
    merchant_name: String,
    receipt_width: Width,
}

impl Terminal {
    /// Opens the terminal's store in `config.data_dir` (creating it on
    /// first use), and finishes whatever a crash left half-done: journal
    /// entries in flight are marked for reversal (sent before the next
    /// financial message), QR orders in an unknown state are queried.
    pub async fn open(config: TerminalConfig, keystore: &dyn Keystore, devices: Devices) -> Result<Terminal> {
        let platform = PlatformClient::new(config.platform)?;
        let mut binding = BindingService::open(
            &config.data_dir,
            keystore,
            platform,
            config.transport_key,
            config.backup_secret,
        )?;
        let now = crate::now();
        binding.store_mut().recover_in_flight(now as i64)?;
        let kernel = Kernel::new(Arc::new(config.kernel.clone()));
        let mut inner = Inner {
            binding,
            kernel,
            config: config.kernel,
            host: None,
            qr: None,
        };
        // A block (or a review) shows on the cashier's screen at once.
        let mut risk = RiskEngine::new(config.risk)?;
        let listener = devices.listener.clone();
        risk.on_alert(Arc::new(move |d: &RiskDecision| {
            listener.on_event(TerminalEvent::RiskAlert {
                rule: d.rule.map(|r| r.as_str().to_owned()).unwrap_or_default(),
                verdict: d.verdict.as_str().to_owned(),
                reason: d.reason.clone(),
            })
        }));
        let risk = Arc::new(risk);
        if let Some((gateway, settings)) = config.gateway {
            let mut qr = QrLink::new(GatewayClient::new(gateway)?, settings);
            qr.set_risk(risk.clone());
            inner.qr = Some(qr);
        }
        let terminal = Terminal {
            inner: Mutex::new(inner),
            devices,
            acquirer: config.acquirer,
            card_timeout: config.card_timeout,
            risk,
            merchant_name: config.merchant_name,
            receipt_width: config.receipt_width,
        };
        {
            let mut inner = terminal.inner.lock().await;
            terminal.attach_host(&mut inner)?;
            if let Some(qr) = inner.qr.take() {
                // Unknown orders are resolved by query; a gateway that is
                // down now is asked again at the next operation.
                let recovered = qr.recover(inner.store(), now).await;
                if let Err(e) = recovered {
                    log::warn!("QR recovery deferred: {e}");
                }
                inner.qr = Some(qr);
            }
        }
        Ok(terminal)
    }

    /// Builds the acquirer link once the binding has given the ids.
    pub(crate) fn attach_host(&self, inner: &mut Inner) -> Result<()> {
        if inner.host.is_some() {
            return Ok(());
        }
        let Some(device) = inner.binding.lifecycle().device().cloned() else {
            return Ok(());
        };
        let link = AcquirerLink::new(self.acquirer.clone())?;
        let mut host = HostLink::new(
            link,
            TerminalIds {
                terminal_id: device.terminal_id,
                merchant_id: device.merchant_id,
            },
        );
        host.set_risk(self.risk.clone());
        inner.host = Some(host);
        Ok(())
    }

    pub(crate) fn emit(&self, event: TerminalEvent) {
        self.devices.listener.on_event(event);
    }

    pub(crate) async fn lock(&self) -> tokio::sync::MutexGuard<'_, Inner> {
        self.inner.lock().await
    }

    /// The binding state.
    pub async fn lifecycle(&self) -> Lifecycle {
        self.lock().await.binding.lifecycle().clone()
    }

    /// Runs `f` with the store (for reports and tools built on the
    /// journal).
    pub async fn with_store<T>(&self, f: impl FnOnce(&mut Store) -> T) -> T {
        let mut inner = self.lock().await;
        f(inner.store())
    }

    /// Sends what is owed to the hosts: pending reversals, stored advices,
    /// and queries for QR orders and refunds in an unknown state.
    pub async fn flush(&self) -> Result<()> {
        let mut inner = self.lock().await;
        let now = crate::now();
        let Inner {
            binding, host, qr, ..
        } = &mut *inner;
        if let Some(host) = host.as_ref() {
            host.send_reversals(binding.store_mut(), now).await?;
            host.forward_saf(binding.store_mut(), now).await?;
        }
        if let Some(qr) = qr.as_ref() {
            qr.recover(binding.store_mut(), now).await?;
        }
        Ok(())
    }
}
