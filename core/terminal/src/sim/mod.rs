//! Simulated hardware and hosts, so an app (or the demo, or a test) runs a
//! whole payment with no reader, no PIN pad and no network: a reader that
//! presents virtual cards from a queue, a PIN pad that types the card's
//! PIN, a listener that keeps the events, the acquirer, merchant platform
//! and QR gateway simulators on loopback TLS, and the check that the
//! terminal's journal and the simulators' ledgers agree. TEST ONLY keys.

mod devices;
mod hosts;
mod reconcile;

pub use devices::{EventLog, Observer, PinAction, Presentation, SimPinPad, SimReader};
pub use hosts::{SimHosts, SimHostsOptions, sample_application, sample_merchant, sim_gateway_key};
pub use reconcile::Reconciliation;
