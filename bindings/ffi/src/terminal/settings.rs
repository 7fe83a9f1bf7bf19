//! What the app configures before the terminal opens: the hosts, their
//! certificates, the keys provisioned with the device, the merchant as
//! receipts and QR codes show it, the risk rules and the kernel's
//! parameters.

use std::time::Duration;

use poskit::TerminalConfig;
use poskit::qr::{QrMerchant, QrSettings};
use poskit::receipt::Width;
use poskit_crypto::SymmetricKey;
use poskit_host::{AcquirerConfig, GatewayConfig, GatewayKey, PlatformConfig};
use poskit_store::BackupSecret;

use crate::error::PosKitError;

/// The merchant as receipts and EMVCo codes show it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct MerchantInfo {
    pub merchant_id: String,
    pub name: String,
    pub city: String,
    /// ISO 3166 alpha-2.
    pub country: String,
    pub mcc: String,
    /// ISO 4217 numeric.
    pub currency_numeric: String,
    /// The network's identifier in the merchant account template.
    pub account_gui: String,
}

/// The QR gateway, when the merchant takes wallet payments.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct GatewaySettings {
    pub base_url: String,
    pub ca_pem: String,
    pub terminal_id: String,
    /// The terminal's gateway signing key (at least 16 bytes).
    pub key: Vec<u8>,
    pub query_interval_ms: u64,
    pub payment_deadline_ms: u64,
    pub code_lifetime_ms: u64,
}

/// Everything the terminal needs before it opens.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct TerminalSettings {
    /// Where the journal, key vault and backups live (app-private).
    pub data_dir: String,
    pub platform_url: String,
    pub platform_ca_pem: String,
    pub acquirer_host: String,
    pub acquirer_port: u16,
    pub acquirer_ca_pem: String,
    pub acquirer_timeout_ms: u64,
    pub gateway: Option<GatewaySettings>,
    /// The 16-byte key the platform wraps the terminal master key under.
    pub transport_key: Vec<u8>,
    /// 32 bytes: backups are encrypted under it.
    pub backup_key: Vec<u8>,
    pub merchant: MerchantInfo,
    /// Risk rules as JSON (`{}` for none); see the risk module's docs.
    pub risk_rules_json: String,
    /// The kernel's configuration (terminal, AIDs, CA keys) as JSON,
    /// before the first parameter download.
    pub kernel_config_json: String,
    /// 58 or 80.
    pub receipt_width_mm: u8,
    pub card_timeout_ms: u64,
}

impl std::fmt::Debug for GatewaySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewaySettings")
            .field("base_url", &self.base_url)
            .field("terminal_id", &self.terminal_id)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for TerminalSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TerminalSettings")
            .field("data_dir", &self.data_dir)
            .field("platform_url", &self.platform_url)
            .field("acquirer_host", &self.acquirer_host)
            .field("acquirer_port", &self.acquirer_port)
            .field("gateway", &self.gateway)
            .finish_non_exhaustive()
    }
}

fn config_error(what: &str, e: impl std::fmt::Display) -> PosKitError {
    PosKitError::Configuration {
        reason: format!("{what}: {e}"),
    }
}

impl From<MerchantInfo> for QrMerchant {
    fn from(m: MerchantInfo) -> Self {
        QrMerchant {
            merchant_id: m.merchant_id,
            name: m.name,
            city: m.city,
            country: m.country,
            mcc: m.mcc,
            currency_numeric: m.currency_numeric,
            account_gui: m.account_gui,
        }
    }
}

impl From<QrMerchant> for MerchantInfo {
    fn from(m: QrMerchant) -> Self {
        MerchantInfo {
            merchant_id: m.merchant_id,
            name: m.name,
            city: m.city,
            country: m.country,
            mcc: m.mcc,
            currency_numeric: m.currency_numeric,
            account_gui: m.account_gui,
        }
    }
}

impl TryFrom<TerminalSettings> for TerminalConfig {
    type Error = PosKitError;

    fn try_from(s: TerminalSettings) -> Result<Self, PosKitError> {
        let transport_key =
            SymmetricKey::tdes(&s.transport_key).map_err(|e| config_error("the transport key", e))?;
        let backup: [u8; 32] =
            s.backup_key
                .as_slice()
                .try_into()
                .map_err(|_| PosKitError::Configuration {
                    reason: format!("the backup key must be 32 bytes, got {}", s.backup_key.len()),
                })?;
        let mut acquirer = AcquirerConfig::tls(s.acquirer_host, s.acquirer_port, s.acquirer_ca_pem);
        acquirer.response_timeout = Duration::from_millis(s.acquirer_timeout_ms);
        let merchant: QrMerchant = s.merchant.into();
        let gateway = match s.gateway {
            Some(g) => {
                let key = GatewayKey::new(&g.key).map_err(|e| config_error("the gateway key", e))?;
                let mut qr = QrSettings::new(merchant.clone());
                qr.query_interval = Duration::from_millis(g.query_interval_ms);
                qr.payment_deadline = Duration::from_millis(g.payment_deadline_ms);
                qr.code_lifetime = Duration::from_millis(g.code_lifetime_ms);
                Some((GatewayConfig::new(g.base_url, g.ca_pem, g.terminal_id, key), qr))
            }
            None => None,
        };
        let receipt_width = match s.receipt_width_mm {
            58 => Width::Mm58,
            80 => Width::Mm80,
            other => {
                return Err(PosKitError::Configuration {
                    reason: format!("receipt width {other} mm: use 58 or 80"),
                });
            }
        };
        Ok(TerminalConfig {
            data_dir: s.data_dir.into(),
            platform: PlatformConfig::new(s.platform_url, s.platform_ca_pem),
            transport_key,
            backup_secret: BackupSecret::key(&backup),
            acquirer,
            gateway,
            kernel: poskit_emv::Config::from_json(&s.kernel_config_json)
                .map_err(|e| config_error("the kernel configuration", e))?,
            card_timeout: Duration::from_millis(s.card_timeout_ms),
            risk: serde_json::from_str(&s.risk_rules_json).map_err(|e| config_error("the risk rules", e))?,
            merchant_name: merchant.name,
            receipt_width,
        })
    }
}
