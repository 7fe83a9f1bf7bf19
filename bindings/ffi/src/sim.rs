//! The simulators through the FFI, so an app developer runs whole payments
//! with no hardware and no hosts: the merchant platform, acquirer and QR
//! gateway on loopback TLS, a reader presenting virtual cards, a PIN pad
//! that types the card's PIN, a printer that keeps its jobs, and a
//! software keystore. TEST ONLY keys and certificates throughout.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use poskit::sim::{PinAction, Presentation, Reconciliation, SimHosts, SimHostsOptions};
use poskit_binding::platform::OtpPurpose;

use crate::error::PosKitError;
use crate::terminal::{
    CardInterfaces, CardReaderDevice, CodePurpose, DetectedCard, DeviceError, GatewaySettings,
    KeystoreDevice, MerchantApplication, MerchantInfo, PinEntryResult, PinPadDevice, PosTerminal,
    PrinterDevice, TerminalSettings,
};

/// The hosts, simulated on loopback. Dropping it stops them.
#[derive(uniffi::Object)]
pub struct SimEnvironment(SimHosts);

/// Starts the merchant platform, acquirer and QR gateway simulators.
/// `user_paying_delay_ms` is how long a wallet waits for the customer's
/// password when the amount ends in 61.
#[uniffi::export(async_runtime = "tokio")]
pub async fn start_simulators(user_paying_delay_ms: u64) -> Result<Arc<SimEnvironment>, PosKitError> {
    let hosts = SimHosts::start(SimHostsOptions {
        user_paying_delay: Duration::from_millis(user_paying_delay_ms),
        review_delay: 1,
    })
    .await
    .map_err(|e| PosKitError::Network {
        reason: format!("the simulators could not listen on loopback: {e}"),
    })?;
    Ok(Arc::new(SimEnvironment(hosts)))
}

/// What a reconciliation found.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ReconciliationResult {
    pub card_checked: u64,
    pub qr_checked: u64,
    pub mismatches: Vec<String>,
}

fn hex_bytes(text: &str) -> Vec<u8> {
    (0..text.len() / 2)
        .filter_map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok())
        .collect()
}

#[uniffi::export(async_runtime = "tokio")]
impl SimEnvironment {
    /// Settings for a terminal against these hosts, its data in
    /// `data_dir`; the gateway knows it by `serial`.
    pub fn settings(&self, data_dir: String, serial: String) -> TerminalSettings {
        let hosts = &self.0;
        hosts
            .gateway
            .register_terminal(&serial, poskit::sim::sim_gateway_key());
        let ca = poskit_sim::platform::test_ca_pem().to_owned();
        TerminalSettings {
            data_dir,
            platform_url: hosts.platform.base_url(),
            platform_ca_pem: ca.clone(),
            acquirer_host: "127.0.0.1".into(),
            acquirer_port: hosts.acquirer.addr().port(),
            acquirer_ca_pem: ca,
            acquirer_timeout_ms: 2_000,
            gateway: Some(GatewaySettings {
                base_url: hosts.gateway.base_url(),
                ca_pem: hosts.gateway.ca_pem().to_owned(),
                terminal_id: serial,
                key: hex_bytes(poskit_sim::gateway::DEMO_KEY_HEX),
                query_interval_ms: 300,
                payment_deadline_ms: 20_000,
                code_lifetime_ms: 30_000,
            }),
            transport_key: hex_bytes(poskit_sim::platform::TEST_TRANSPORT_KEY),
            backup_key: vec![0x5A; 32],
            merchant: MerchantInfo::from(poskit::sim::sample_merchant()),
            risk_rules_json: "{}".into(),
            kernel_config_json: poskit_sim::ca::test_config_json(),
            receipt_width_mm: 58,
            card_timeout_ms: 30_000,
        }
    }

    /// A merchant application the simulated platform approves.
    pub fn sample_application(&self) -> MerchantApplication {
        let f = poskit::sim::sample_application();
        MerchantApplication {
            merchant_name: f.merchant_name,
            business_licence: f.business_licence,
            legal_representative_id: f.legal_representative_id,
            settlement_card: f.settlement_card,
            settlement_holder: f.settlement_holder,
            bank_code: f.bank_code,
            contact_phone: f.contact_phone,
            documents: f.documents,
            admin_password: f.admin_password,
        }
    }

    /// Tells the acquirer about a terminal the platform bound.
    pub fn enrol(&self, terminal_id: String) -> Result<(), PosKitError> {
        self.0
            .enrol(&terminal_id)
            .map_err(|reason| PosKitError::Configuration { reason })
    }

    /// The customer's wallet pays the order the terminal shows.
    pub fn customer_pays(&self, order_no: String) -> Result<(), PosKitError> {
        self.0
            .gateway
            .customer_pays(&order_no)
            .map_err(|e| PosKitError::Gateway {
                reason: e.to_string(),
            })
    }

    /// Orders the gateway holds that wait for the customer (to pay them).
    pub fn open_orders(&self) -> Vec<String> {
        self.0
            .gateway
            .orders()
            .into_iter()
            .filter(|o| o.state == poskit_host::gateway::OrderState::Created)
            .map(|o| o.order_no)
            .collect()
    }

    /// The last one-time code the platform sent the merchant.
    pub fn last_code(&self, merchant_id: String, purpose: CodePurpose) -> Option<String> {
        let purpose = match purpose {
            CodePurpose::Unbind => OtpPurpose::Unbind,
            CodePurpose::ChangeSettlementCard => OtpPurpose::ChangeSettlementCard,
        };
        self.0.platform.last_otp(&merchant_id, purpose)
    }

    /// Messages the acquirer received so far.
    pub fn acquirer_messages(&self) -> u64 {
        self.0.acquirer.received().len() as u64
    }

    /// Compares the terminal's journal with the acquirer's and the
    /// wallets' ledgers.
    pub async fn reconcile(&self, terminal: Arc<PosTerminal>) -> Result<ReconciliationResult, PosKitError> {
        let tid = terminal
            .0
            .lifecycle()
            .await
            .device()
            .map(|d| d.terminal_id.clone());
        let Some(tid) = tid else {
            return Err(PosKitError::NotReady {
                reason: "the terminal is not bound: nothing to reconcile".into(),
            });
        };
        let r = terminal
            .0
            .with_store(|s| Reconciliation::check(s, &self.0.acquirer, &tid, Some(&self.0.gateway)))
            .await
            .map_err(|e| PosKitError::Storage {
                reason: e.to_string(),
            })?;
        Ok(ReconciliationResult {
            card_checked: r.card_checked as u64,
            qr_checked: r.qr_checked as u64,
            mismatches: r.mismatches,
        })
    }
}

/// A reader that presents virtual cards (profile names such as
/// `visa-contact`, `unionpay-qpboc`) in the order they are queued.
#[derive(uniffi::Object)]
pub struct SimCardReader(poskit::sim::SimReader);

#[uniffi::export]
impl SimCardReader {
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(Self(poskit::sim::SimReader::new()))
    }

    pub fn insert(&self, profile: String) {
        self.0.present(Presentation::Insert(profile));
    }

    pub fn tap(&self, profile: String) {
        self.0.present(Presentation::Tap(profile));
    }

    pub fn swipe(&self, track2: String) {
        self.0.present(Presentation::Swipe(track2));
    }

    pub fn insert_unreadable_chip(&self) {
        self.0.present(Presentation::UnreadableChip);
    }

    /// Cards queued and not presented yet.
    pub fn pending(&self) -> u64 {
        self.0.pending() as u64
    }

    /// A PIN pad that types the PIN of the card in this reader.
    pub fn pin_pad(&self) -> Arc<SimPinPad> {
        Arc::new(SimPinPad(self.0.pin_pad()))
    }

    /// This reader as the terminal's card reader device.
    pub fn device(self: Arc<Self>) -> Arc<dyn CardReaderDevice> {
        self
    }
}

impl CardReaderDevice for SimCardReader {
    fn detect(&self, allowed: CardInterfaces, timeout_ms: u64) -> Result<DetectedCard, DeviceError> {
        use poskit::devices::{CardReader, Detected, Interfaces, ReaderError};
        let allowed = Interfaces {
            contact: allowed.contact,
            contactless: allowed.contactless,
            magstripe: allowed.magstripe,
        };
        match self.0.detect(allowed, timeout_ms) {
            Ok(Detected::Chip) => Ok(DetectedCard::Chip),
            Ok(Detected::Contactless) => Ok(DetectedCard::Contactless),
            Ok(Detected::Swiped { track2 }) => Ok(DetectedCard::Swiped { track2 }),
            Err(ReaderError::Timeout) => Err(DeviceError::Timeout),
            Err(ReaderError::Removed) => Err(DeviceError::Removed),
            Err(ReaderError::ChipUnreadable) => Err(DeviceError::ChipUnreadable),
            Err(ReaderError::Failed(reason)) => Err(DeviceError::Failed { reason }),
        }
    }

    fn transceive(&self, apdu: Vec<u8>) -> Result<Vec<u8>, DeviceError> {
        use poskit::devices::{CardReader, ReaderError};
        self.0.transceive(&apdu).map_err(|e| match e {
            ReaderError::Removed => DeviceError::Removed,
            other => DeviceError::Failed {
                reason: other.to_string(),
            },
        })
    }

    fn remove(&self) {
        poskit::devices::CardReader::remove(&self.0);
    }
}

/// Types the PIN of the card in the reader, unless told otherwise.
#[derive(uniffi::Object)]
pub struct SimPinPad(poskit::sim::SimPinPad);

#[uniffi::export]
impl SimPinPad {
    /// At the next prompt the cardholder types `pin` instead.
    pub fn then_type(&self, pin: String) {
        self.0.then(PinAction::Type(pin));
    }

    /// At the next prompt the cardholder presses cancel.
    pub fn then_cancel(&self) {
        self.0.then(PinAction::Cancel);
    }

    /// This PIN pad as the terminal's PIN pad device.
    pub fn device(self: Arc<Self>) -> Arc<dyn PinPadDevice> {
        self
    }
}

impl PinPadDevice for SimPinPad {
    fn enter_pin(&self, online: bool, last_try: bool, amount: u64) -> PinEntryResult {
        use poskit::devices::{PinEntry, PinPrompt, PinResult};
        match self.0.enter_pin(&PinPrompt {
            online,
            last_try,
            amount,
        }) {
            PinResult::Digits(pin) => PinEntryResult::Digits {
                pin: pin.expose_secret().to_owned(),
            },
            PinResult::Block(block) => PinEntryResult::Block {
                block: block.to_vec(),
            },
            PinResult::Bypassed => PinEntryResult::Bypassed,
            PinResult::Cancelled => PinEntryResult::Cancelled,
            PinResult::Unavailable => PinEntryResult::Unavailable,
        }
    }

    fn choose_application(&self, labels: Vec<String>) -> Option<u32> {
        (!labels.is_empty()).then_some(0)
    }
}

/// A printer that keeps the ESC/POS jobs it is sent.
#[derive(Default, uniffi::Object)]
pub struct MemoryPrinter(Mutex<Vec<Vec<u8>>>);

#[uniffi::export]
impl MemoryPrinter {
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn jobs(&self) -> Vec<Vec<u8>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// This printer as the terminal's printer device.
    pub fn device(self: Arc<Self>) -> Arc<dyn PrinterDevice> {
        self
    }
}

impl PrinterDevice for MemoryPrinter {
    fn print(&self, job: Vec<u8>) -> Result<(), DeviceError> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(job);
        Ok(())
    }
}

/// A keystore holding its key-encryption key in memory: for desktop
/// cashier software that keeps the key in its own secure storage, and for
/// tests. Phones use the platform keystore instead.
#[derive(uniffi::Object)]
pub struct SoftwareKeystore(poskit_store::KekKeystore);

#[uniffi::export]
impl SoftwareKeystore {
    /// A keystore under `kek` (32 bytes).
    #[uniffi::constructor]
    pub fn new(kek: Vec<u8>) -> Result<Arc<Self>, PosKitError> {
        let kek: [u8; 32] = kek.as_slice().try_into().map_err(|_| PosKitError::InvalidKey {
            reason: format!("the key-encryption key must be 32 bytes, got {}", kek.len()),
        })?;
        Ok(Arc::new(Self(poskit_store::KekKeystore::new(kek))))
    }

    /// This keystore as the terminal's keystore device.
    pub fn device(self: Arc<Self>) -> Arc<dyn KeystoreDevice> {
        self
    }
}

impl KeystoreDevice for SoftwareKeystore {
    fn wrap(&self, data_key: Vec<u8>) -> Result<Vec<u8>, DeviceError> {
        poskit_store::Keystore::wrap(&self.0, &data_key).map_err(|e| DeviceError::Failed {
            reason: e.to_string(),
        })
    }

    fn unwrap(&self, wrapped: Vec<u8>) -> Result<Vec<u8>, DeviceError> {
        poskit_store::Keystore::unwrap(&self.0, &wrapped)
            .map(|k| k.to_vec())
            .map_err(|e| DeviceError::Failed {
                reason: e.to_string(),
            })
    }
}
