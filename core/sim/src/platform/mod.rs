//! The merchant platform simulator: the HTTPS JSON API of
//! `poskit_binding::platform`, on loopback, with a TEST ONLY certificate.
//!
//! It reviews applications, binds devices (and keeps a registry that
//! refuses a serial bound anywhere), replaces and unbinds them, issues
//! one-time codes, changes settlement cards and stores payment methods.
//! Tests drive it through `poskit_host::PlatformClient` and look inside
//! through the [`PlatformSim`] handle.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use poskit_sim::platform::{PlatformSim, PlatformSimConfig, test_ca_pem};
//! let (sim, addr) = PlatformSim::start(PlatformSimConfig::default()).await?;
//! let base_url = format!("https://{addr}"); // trust test_ca_pem()
//! # let _ = (sim, base_url, test_ca_pem()); Ok(()) }
//! ```
//!
//! Review rules: a business licence must be 18 digits or uppercase
//! letters, and a merchant name containing `REJECT` is rejected; the
//! verdict is announced after `review_delay` status polls. Warranty: a
//! replacement is free while `date - first bind day < warranty_days`, the
//! first bind day being the simulator clock's day (UTC) when the terminal
//! id was first bound.
//!
//! Simulator-only endpoint, absent from the real platform:
//! `GET /test/otp?merchant_id=..&purpose=unbind|change_settlement_card`
//! answers `{"merchant_id":..,"purpose":..,"otp":"123456"}` with the code
//! most recently issued (a real platform sends it by SMS).

mod clock;
pub mod rules;
mod server;
mod state;

use std::collections::BTreeMap;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use poskit_binding::platform::{OtpPurpose, PaymentMethod};
use poskit_crypto::SymmetricKey;
use tokio::sync::watch;

pub use clock::SimClock;
pub use state::{ApplicationRecord, CardChangeRecord, DeviceRecord, MerchantRecord, TerminalRecord};

use crate::certs;
use server::Shared;
use state::State;

/// The TEST transport key (TDES, 16 bytes, hex) shared by the simulator
/// and test terminals: bind and replace send the terminal master key
/// encrypted under it. Never use it outside tests.
pub const TEST_TRANSPORT_KEY: &str = "0123456789ABCDEFFEDCBA9876543210";

/// The test transport key as a key.
pub fn test_transport_key() -> SymmetricKey {
    let bytes = hex::decode(TEST_TRANSPORT_KEY).unwrap_or_default();
    // A 16-byte constant: always a valid TDES key.
    SymmetricKey::tdes(&bytes).unwrap_or_else(|_| unreachable!())
}

/// The test CA (PEM) that signed the simulator's certificate: what a
/// client must trust. TEST ONLY.
pub fn test_ca_pem() -> &'static str {
    certs::CA_PEM
}

/// An unrelated test CA (PEM): a client trusting only this must refuse the
/// simulator.
pub fn other_test_ca_pem() -> &'static str {
    certs::OTHER_CA_PEM
}

/// The simulator's server certificate (PEM).
pub fn server_cert_pem() -> &'static str {
    certs::SERVER_PEM
}

/// SHA-256 of the server certificate's SubjectPublicKeyInfo: the pin.
pub fn server_spki_sha256() -> [u8; 32] {
    // The embedded certificate is checked by the tests; an unusable one
    // gives a pin that matches nothing rather than a panic.
    certs::server_spki_sha256().unwrap_or([0; 32])
}

/// Where the test CA PEM is in the source tree (it may not exist when the
/// binary runs elsewhere; [`run_forever`] then writes a copy).
pub fn test_ca_pem_path() -> &'static str {
    certs::CA_PEM_SOURCE_PATH
}

/// How the simulator behaves.
#[derive(Debug, Clone)]
pub struct PlatformSimConfig {
    /// Where to listen; port 0 picks a free one. Default 127.0.0.1:0.
    pub listen: SocketAddr,
    /// Status polls answered "under review" before the verdict. Default 1.
    pub review_delay: u32,
    /// Status polls answered "pending" before a card change is confirmed.
    /// Default 1.
    pub confirm_delay: u32,
    /// Days after the first bind during which a replacement is free.
    /// Default 365.
    pub warranty_days: u32,
    /// How long a one-time code is valid. Default 300 s.
    pub otp_validity: Duration,
    /// The simulator's time (one-time code expiry, first bind day).
    pub clock: SimClock,
    /// Serve plain HTTP instead of HTTPS (for the client's plaintext mode).
    pub plaintext: bool,
}

impl Default for PlatformSimConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            review_delay: 1,
            confirm_delay: 1,
            warranty_days: 365,
            otp_validity: Duration::from_secs(300),
            clock: SimClock::system(),
            plaintext: false,
        }
    }
}

/// A running simulator. Dropping it (or [`shutdown`](Self::shutdown))
/// stops the server and closes its connections.
#[derive(Debug)]
pub struct PlatformSim {
    shared: Arc<Shared>,
    addr: SocketAddr,
    plaintext: bool,
    shutdown: watch::Sender<bool>,
}

impl PlatformSim {
    /// Binds `config.listen` and serves on the current tokio runtime.
    pub async fn start(config: PlatformSimConfig) -> io::Result<(PlatformSim, SocketAddr)> {
        let shared = Shared::new(State::new(&config), config.clock.clone());
        let (addr, shutdown) =
            crate::net::start_http(config.listen, !config.plaintext, shared.clone(), server::handle).await?;
        let sim = PlatformSim {
            shared,
            addr,
            plaintext: config.plaintext,
            shutdown,
        };
        Ok((sim, addr))
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://ADDR` (`http://ADDR` in plaintext mode).
    pub fn base_url(&self) -> String {
        let scheme = if self.plaintext { "http" } else { "https" };
        format!("{scheme}://{}", self.addr)
    }

    /// Stops serving (also done on drop).
    pub fn shutdown(&self) {
        let _ = self.shutdown.send(true);
    }

    /// The simulator's clock; [`SimClock::advance`] moves it.
    pub fn clock(&self) -> &SimClock {
        &self.shared.clock
    }

    /// The code most recently issued for (merchant, purpose), used or not.
    pub fn last_otp(&self, merchant_id: &str, purpose: OtpPurpose) -> Option<String> {
        self.shared.lock().last_otp(merchant_id, purpose)
    }

    /// Confirms every pending settlement card change; returns how many.
    pub fn confirm_all(&self) -> usize {
        self.shared.lock().confirm_all()
    }

    pub fn application(&self, application_id: &str) -> Option<ApplicationRecord> {
        self.shared.lock().applications.get(application_id).cloned()
    }

    pub fn merchant(&self, merchant_id: &str) -> Option<MerchantRecord> {
        self.shared.lock().merchants.get(merchant_id).cloned()
    }

    pub fn merchants(&self) -> Vec<MerchantRecord> {
        self.shared.lock().merchants.values().cloned().collect()
    }

    /// The enabled payment methods of a merchant, with sub-merchant ids.
    pub fn payment_methods(&self, merchant_id: &str) -> BTreeMap<PaymentMethod, String> {
        self.merchant(merchant_id)
            .map(|m| m.payment_methods)
            .unwrap_or_default()
    }

    /// The registry entry of a device serial, if bound.
    pub fn device(&self, serial: &str) -> Option<DeviceRecord> {
        self.shared.lock().devices.get(serial).cloned()
    }

    /// The whole device registry.
    pub fn devices(&self) -> Vec<DeviceRecord> {
        self.shared.lock().devices.values().cloned().collect()
    }

    /// A terminal id: its merchant, its device, its first bind day and
    /// its current master key (TEST ONLY: for an acquirer simulator or a
    /// test that checks key loading).
    pub fn terminal(&self, terminal_id: &str) -> Option<TerminalRecord> {
        self.shared.lock().terminals.get(terminal_id).cloned()
    }

    pub fn card_change(&self, request_id: &str) -> Option<CardChangeRecord> {
        self.shared.lock().card_changes.get(request_id).cloned()
    }
}

impl Drop for PlatformSim {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Runs a simulator on `addr` until the process ends (for
/// `posctl sim platform --listen ADDR`): prints the URL and where the test
/// CA to trust is.
pub fn run_forever(addr: SocketAddr, config: PlatformSimConfig) -> io::Result<()> {
    crate::net::serve_until_killed(async move {
        let plaintext = config.plaintext;
        let (sim, bound) = PlatformSim::start(PlatformSimConfig {
            listen: addr,
            ..config
        })
        .await?;
        let scheme = if plaintext { "http" } else { "https" };
        println!("merchant platform simulator listening on {scheme}://{bound}");
        if !plaintext {
            println!(
                "trust the TEST ONLY CA in {}",
                certs::ca_pem_file("poskit-platform-test-ca.pem")?
            );
            println!(
                "or pin its key (SPKI SHA-256): {}",
                hex::encode(server_spki_sha256())
            );
        }
        Ok(sim)
    })
}
