//! The hosts on loopback: merchant platform, acquirer, QR gateway.

use std::path::Path;
use std::time::Duration;

use poskit_host::{AcquirerConfig, GatewayKey, PlatformConfig};
use poskit_sim::acquirer::{AcquirerSim, AcquirerSimConfig};
use poskit_sim::gateway::{GatewaySim, GatewaySimConfig};
use poskit_sim::platform::{self, PlatformSim, PlatformSimConfig};
use poskit_store::BackupSecret;

use crate::qr::{QrMerchant, QrSettings};
use crate::receipt::Width;
use crate::risk::RiskRules;
use crate::terminal::TerminalConfig;

/// The hosts a terminal talks to, simulated on loopback (TLS with the
/// simulators' test CA).
pub struct SimHosts {
    pub platform: PlatformSim,
    pub acquirer: AcquirerSim,
    pub gateway: GatewaySim,
}

/// How the simulated hosts behave.
#[derive(Debug, Clone)]
pub struct SimHostsOptions {
    /// How long a wallet keeps the customer "paying" (amount rule 61).
    pub user_paying_delay: Duration,
    /// Status polls answered "under review" before the platform decides.
    pub review_delay: u32,
}

impl Default for SimHostsOptions {
    fn default() -> Self {
        Self {
            user_paying_delay: Duration::from_secs(2),
            review_delay: 1,
        }
    }
}

/// The demo merchant's gateway key (TEST ONLY).
pub fn sim_gateway_key() -> GatewayKey {
    poskit_sim::gateway::demo_key()
}

impl SimHosts {
    pub async fn start(options: SimHostsOptions) -> std::io::Result<SimHosts> {
        let (platform, _) = PlatformSim::start(PlatformSimConfig {
            review_delay: options.review_delay,
            ..PlatformSimConfig::default()
        })
        .await?;
        let (acquirer, _) = AcquirerSim::start(AcquirerSimConfig::default()).await?;
        let (gateway, _) = GatewaySim::start(GatewaySimConfig {
            user_paying_delay: options.user_paying_delay,
            terminals: Vec::new(),
            ..GatewaySimConfig::default()
        })
        .await?;
        Ok(SimHosts {
            platform,
            acquirer,
            gateway,
        })
    }

    /// A terminal configuration pointing at these hosts. The gateway knows
    /// the terminal by `serial` (registered here with the test key); the
    /// acquirer learns it at [`SimHosts::enrol`], after binding.
    pub fn terminal_config(&self, data_dir: &Path, serial: &str, merchant: QrMerchant) -> TerminalConfig {
        self.gateway.register_terminal(serial, sim_gateway_key());
        let mut qr = QrSettings::new(merchant.clone());
        qr.query_interval = Duration::from_millis(300);
        qr.payment_deadline = Duration::from_secs(20);
        qr.code_lifetime = Duration::from_secs(30);
        let mut acquirer =
            AcquirerConfig::tls("127.0.0.1", self.acquirer.addr().port(), platform::test_ca_pem());
        acquirer.response_timeout = Duration::from_secs(2);
        TerminalConfig {
            data_dir: data_dir.to_owned(),
            platform: PlatformConfig::new(self.platform.base_url(), platform::test_ca_pem()),
            transport_key: platform::test_transport_key(),
            backup_secret: BackupSecret::key(&[0x5A; 32]),
            acquirer,
            gateway: Some((self.gateway.client_config(serial, sim_gateway_key()), qr)),
            kernel: poskit_sim::ca::test_config(),
            card_timeout: Duration::from_secs(30),
            risk: RiskRules::default(),
            merchant_name: merchant.name.clone(),
            receipt_width: Width::Mm58,
        }
    }

    /// Tells the acquirer about a terminal the platform bound (its master
    /// key), as a real acquirer learns it from the platform.
    pub fn enrol(&self, terminal_id: &str) -> Result<(), String> {
        let record = self
            .platform
            .terminal(terminal_id)
            .ok_or_else(|| format!("the platform has no terminal {terminal_id}"))?;
        self.acquirer.add_platform_terminal(&record);
        Ok(())
    }
}

/// A merchant's application as the simulated platform approves it (TEST
/// data: the licence, id and card numbers are made up).
pub fn sample_application() -> poskit_binding::ApplicationForm {
    poskit_binding::ApplicationForm {
        merchant_name: "Harbour Noodles".into(),
        business_licence: "91310000MA1FL4XX3B".into(),
        legal_representative_id: "11010519491231002X".into(),
        settlement_card: "6230580000000000013".into(),
        settlement_holder: "Li Wei".into(),
        bank_code: "ICBC".into(),
        contact_phone: "13800138000".into(),
        documents: vec!["doc://licence.jpg".into()],
        admin_password: "246810".into(),
    }
}

/// The same merchant as its EMVCo QR codes name it.
pub fn sample_merchant() -> QrMerchant {
    QrMerchant {
        merchant_id: "898310012345678".into(),
        name: "HARBOUR NOODLES".into(),
        city: "SHANGHAI".into(),
        country: "CN".into(),
        mcc: "5812".into(),
        currency_numeric: "156".into(),
        account_gui: "A000000333".into(),
    }
}
