//! The QR payment gateway simulator: the signed HTTPS JSON API of
//! docs/qr-gateway.md on loopback, with the simulators' TEST ONLY
//! certificate, standing in for the gateway and the wallets behind it.
//! Tests drive it with `poskit_host::GatewayClient` and look inside (and
//! steer the wallets) through the [`GatewaySim`] handle.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use poskit_host::GatewayClient;
//! use poskit_sim::gateway::{Behaviour, GatewaySim, GatewaySimConfig};
//! let (sim, _addr) = GatewaySim::start(GatewaySimConfig::default()).await?;
//! let client = GatewayClient::new(sim.demo_client_config())?;
//! sim.set_behaviour("20240101-0001", Behaviour::UserPaying);
//! // client.micropay(..) answers user_paying until client.cancel(..)
//! assert_eq!(sim.ledger().check(), Ok(()));
//! # let _ = client; Ok(()) }
//! ```
//!
//! # Terminals and signatures
//!
//! Terminals are registered with their gateway keys
//! ([`GatewaySimConfig::terminals`], [`GatewaySim::register_terminal`]);
//! the default configuration registers the demo terminal
//! ([`DEMO_TERMINAL_ID`], [`demo_key`]). A request from an unknown
//! terminal id is refused `unknown_terminal` (403, unsigned: there is no
//! key to sign with); one whose signature does not verify `bad_signature`
//! (401). Every other answer is signed with the terminal's key. An order
//! or refund of another terminal is as good as absent.
//!
//! # Wallets
//!
//! A payment code's wallet is recognised by prefix and length
//! ([`classify`]: 18 digits 10-15 WeChat Pay, 16-24 digits 25-30 Alipay,
//! 19 digits 62 UnionPay QR); any other code makes a `failed` order with
//! reason `code_invalid`. What happens next is the test's choice
//! ([`GatewaySim::set_behaviour`], by order number or payment code), or
//! else the amount table, by the last two digits of the amount in minor
//! units:
//!
//! | amount ends in | micropay answer |
//! |---|---|
//! | `61` | `user_paying`, then `paid` after [`GatewaySimConfig::user_paying_delay`] |
//! | `62` | `user_paying` until cancelled or closed |
//! | `63` | `failed`, `insufficient_balance` |
//! | `64` | the wallet charges, then the connection drops with **no answer**: the order is paid and only a query tells |
//! | `65` | `failed`, `code_expired` |
//! | anything else | `paid` at once |
//!
//! # Shown-code orders (`/v1/orders`)
//!
//! An order stays `created` until the customer pays it
//! ([`GatewaySim::customer_pays`]); with an amount ending in `61` the
//! customer pays by themselves after the user-paying delay. A behaviour set
//! for the order number applies at once, as if the customer had scanned
//! during creation. After `expires_at` the wallet refuses to pay the code,
//! but a query still shows `created`, as real wallets do, until the
//! terminal closes the order (closing works after expiry too). `code_url`
//! is `https://qr.poskit.test/<wallet>/<order_no>`.
//!
//! # Orders, refunds and the ledger
//!
//! Order numbers are idempotency keys: a number used before is refused
//! `duplicate_order`, whatever the order's state. Cancel stops a payment
//! still waiting and gives back what a charge has left after refunds.
//! Refunds are partial or whole up to the paid amount, idempotent by
//! refund number; a refund is `succeeded` at once, or `processing` for as
//! long as [`GatewaySim::set_refund_processing`] says. The [`Ledger`]
//! records every charge, refund and reversal, so a test can check that
//! nothing was charged twice and nothing given back beyond a charge
//! ([`Ledger::check`]).
//!
//! # Faults
//!
//! [`GatewaySim::inject_fault`] makes the next request about an order or
//! refund number go wrong ([`Fault`]): carried out then no answer, carried
//! out then answered late, `system_error` without being carried out, or an
//! answer whose signature does not verify. [`GatewaySim::set_answer_delay`]
//! delays every answer. [`GatewaySim::requests`] counts requests per
//! endpoint.

mod server;
mod state;
mod wallets;

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use poskit_host::gateway::{Endpoint, GatewayConfig, GatewayKey};
use tokio::sync::watch;

pub use state::{Fault, GatewayOrder, GatewayRefund, Ledger, LedgerEntry, LedgerKind, OrderKind, PayError};
pub use wallets::{Behaviour, classify};

use crate::platform::SimClock;
use server::Shared;
use state::State;

/// The demo terminal every default simulator knows. TEST ONLY.
pub const DEMO_TERMINAL_ID: &str = "QRDEMO01";

/// The demo terminal's gateway key (hex). TEST ONLY: never use it outside
/// tests and demos.
pub const DEMO_KEY_HEX: &str = "5d1e0f7a9c2b4e6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5";

/// The demo terminal's gateway key.
pub fn demo_key() -> GatewayKey {
    // A 32-byte constant: always a valid key.
    GatewayKey::from_hex(DEMO_KEY_HEX).unwrap_or_else(|_| unreachable!())
}

/// How the simulator behaves.
#[derive(Debug, Clone)]
pub struct GatewaySimConfig {
    /// Where to listen; port 0 picks a free one. Default 127.0.0.1:0.
    pub listen: SocketAddr,
    /// Terminals and their gateway keys. Default: the demo terminal.
    pub terminals: Vec<(String, GatewayKey)>,
    /// How long amount rule 61 keeps the customer "paying". Default 3 s.
    pub user_paying_delay: Duration,
    /// The time answers show (`paid_at`, `expires_at`); advancing it
    /// expires shown codes.
    pub clock: SimClock,
}

impl Default for GatewaySimConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            terminals: vec![(DEMO_TERMINAL_ID.to_owned(), demo_key())],
            user_paying_delay: Duration::from_secs(3),
            clock: SimClock::system(),
        }
    }
}

/// A running simulator. Dropping it (or [`shutdown`](Self::shutdown))
/// stops the server and closes its connections.
pub struct GatewaySim {
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
}

impl std::fmt::Debug for GatewaySim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewaySim")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl GatewaySim {
    /// Binds `config.listen` and serves HTTPS on the current tokio runtime.
    pub async fn start(config: GatewaySimConfig) -> io::Result<(GatewaySim, SocketAddr)> {
        let mut state = State::new(config.user_paying_delay);
        state.terminals.extend(config.terminals);
        let shared = Shared::new(state, config.clock);
        let (addr, shutdown) =
            crate::net::start_http(config.listen, true, shared.clone(), server::handle).await?;
        Ok((
            GatewaySim {
                shared,
                addr,
                shutdown,
            },
            addr,
        ))
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://ADDR`.
    pub fn base_url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// The TEST ONLY CA (PEM) a client must trust (the same as
    /// [`crate::platform::test_ca_pem`]).
    pub fn ca_pem(&self) -> &'static str {
        crate::certs::CA_PEM
    }

    /// A client configuration for a registered terminal: this simulator's
    /// URL, its CA, and short timeouts (5 s).
    pub fn client_config(&self, terminal_id: &str, key: GatewayKey) -> GatewayConfig {
        let mut config = GatewayConfig::new(self.base_url(), self.ca_pem(), terminal_id, key);
        config.connect_timeout = Duration::from_secs(5);
        config.timeout = Duration::from_secs(5);
        config
    }

    /// [`client_config`](Self::client_config) for the demo terminal.
    pub fn demo_client_config(&self) -> GatewayConfig {
        self.client_config(DEMO_TERMINAL_ID, demo_key())
    }

    /// Stops serving (also done on drop).
    pub fn shutdown(&self) {
        let _ = self.shutdown.send(true);
    }

    /// The simulator's clock; [`SimClock::advance`] moves it (and expires
    /// shown codes).
    pub fn clock(&self) -> &SimClock {
        &self.shared.clock
    }

    /// Registers a terminal, or gives a known one a new key.
    pub fn register_terminal(&self, terminal_id: &str, key: GatewayKey) {
        self.shared.lock().terminals.insert(terminal_id.to_owned(), key);
    }

    /// Forgets a terminal: its requests are refused `unknown_terminal`.
    pub fn unregister_terminal(&self, terminal_id: &str) {
        self.shared.lock().terminals.remove(terminal_id);
    }

    /// How payment attempts with this order number or payment code go,
    /// instead of the amount table. An order number wins over a code.
    pub fn set_behaviour(&self, order_no_or_auth_code: &str, behaviour: Behaviour) {
        self.shared
            .lock()
            .behaviours
            .insert(order_no_or_auth_code.to_owned(), behaviour);
    }

    pub fn clear_behaviour(&self, order_no_or_auth_code: &str) {
        self.shared.lock().behaviours.remove(order_no_or_auth_code);
    }

    /// The refund with this number answers `processing` for `for_how_long`
    /// after it is accepted, then `succeeded` (and only then gives the
    /// money back).
    pub fn set_refund_processing(&self, refund_no: &str, for_how_long: Duration) {
        self.shared
            .lock()
            .refund_delays
            .insert(refund_no.to_owned(), for_how_long);
    }

    /// The customer pays: a shown code not yet paid (refused after it
    /// expired), or a payment the wallet is waiting on ("user paying").
    pub fn customer_pays(&self, order_no: &str) -> Result<(), PayError> {
        let now = self.shared.now();
        self.shared.lock().customer_pays(order_no, now)
    }

    /// The next request about this order or refund number meets `fault`.
    /// Faults queue: inject twice to hit the next two requests.
    pub fn inject_fault(&self, order_no_or_refund_no: &str, fault: Fault) {
        self.shared
            .lock()
            .faults
            .entry(order_no_or_refund_no.to_owned())
            .or_default()
            .push_back(fault);
    }

    /// The next request about this order or refund number is carried out,
    /// then the connection closes without an answer.
    pub fn drop_next_answer(&self, order_no_or_refund_no: &str) {
        self.inject_fault(order_no_or_refund_no, Fault::NoAnswer);
    }

    /// The next request about this order or refund number is carried out
    /// and answered `by` later.
    pub fn delay_next_answer(&self, order_no_or_refund_no: &str, by: Duration) {
        self.inject_fault(order_no_or_refund_no, Fault::DelayAnswer(by));
    }

    /// Every answer waits this long (`None`: no delay).
    pub fn set_answer_delay(&self, delay: Option<Duration>) {
        self.shared.lock().answer_delay = delay;
    }

    /// Requests that reached an endpoint, refused ones included.
    pub fn requests(&self, endpoint: Endpoint) -> usize {
        self.shared.lock().requests.get(&endpoint).copied().unwrap_or(0)
    }

    /// Every order, by order number.
    pub fn orders(&self) -> Vec<GatewayOrder> {
        self.settled(|state| state.orders.values().cloned().collect())
    }

    pub fn order(&self, order_no: &str) -> Option<GatewayOrder> {
        self.settled(|state| state.orders.get(order_no).cloned())
    }

    pub fn refund(&self, refund_no: &str) -> Option<GatewayRefund> {
        self.settled(|state| state.refunds.get(refund_no).cloned())
    }

    /// Every refund, by refund number.
    pub fn refunds(&self) -> Vec<GatewayRefund> {
        self.settled(|state| state.refunds.values().cloned().collect())
    }

    /// What the wallets charged and gave back so far.
    pub fn ledger(&self) -> Ledger {
        self.settled(|state| state.ledger.clone())
    }

    /// Reads the state after applying every outcome now due.
    fn settled<T>(&self, read: impl FnOnce(&State) -> T) -> T {
        let now = self.shared.now();
        let mut state = self.shared.lock();
        state.settle(now);
        read(&state)
    }
}

impl Drop for GatewaySim {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Runs a simulator on `addr` until the process ends (for `posctl sim
/// gateway --listen ADDR`): prints the URL, the CA file to trust, and the
/// demo terminal's id and key.
pub fn run_forever(addr: SocketAddr, config: GatewaySimConfig) -> io::Result<()> {
    crate::net::serve_until_killed(async move {
        let (sim, bound) = GatewaySim::start(GatewaySimConfig {
            listen: addr,
            ..config
        })
        .await?;
        sim.register_terminal(DEMO_TERMINAL_ID, demo_key());
        println!("QR gateway simulator listening on https://{bound}");
        println!(
            "trust the TEST ONLY CA in {}",
            crate::certs::ca_pem_file("poskit-gateway-test-ca.pem")?
        );
        println!("demo terminal id: {DEMO_TERMINAL_ID}");
        println!("demo terminal gateway key (hex, TEST ONLY): {DEMO_KEY_HEX}");
        Ok(sim)
    })
}
