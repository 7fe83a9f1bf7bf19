//! PosKit's network code (DESIGN rule 2: the only crate that opens sockets
//! in the product): tokio + rustls (ring provider) clients for the remote
//! systems a terminal talks to.
//!
//! Owns: [`platform`] (the merchant platform's HTTPS JSON API),
//! [`gateway`] (the QR payment gateway's signed HTTPS JSON API and its wire
//! types, which the gateway simulator shares), [`acquirer`] (ISO 8583
//! frames over TLS), [`tls`] (client TLS configuration, CA bundles,
//! public-key pinning), the typed [`HostError`] and [`LinkFailure`]. The
//! HTTPS clients share one transport (one request per connection,
//! timeouts, whether a failed request may have been sent).
//!
//! Does not own: the platform's API types (`poskit_binding::platform`),
//! what to do with the answers (the binding state machine, the terminal's
//! payment flows), or the simulators (`poskit-sim`). Nothing here logs
//! request or response bodies.

pub mod acquirer;
mod connect;
mod error;
pub mod gateway;
mod https;
pub mod platform;
pub mod tls;

pub use acquirer::{AcquirerConfig, AcquirerLink, Matcher};
pub use error::{HostError, LinkFailure, describe_json_error};
pub use gateway::{GatewayClient, GatewayConfig, GatewayError, GatewayKey};
pub use platform::{PlatformClient, PlatformConfig};
