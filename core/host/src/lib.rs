//! PosKit's network code (DESIGN rule 2: the only crate that opens sockets
//! in the product): tokio + rustls (ring provider) clients for the remote
//! systems a terminal talks to.
//!
//! Owns: [`platform`] (the merchant platform's HTTPS JSON API), [`tls`]
//! (client TLS configuration, CA bundles, public-key pinning), the typed
//! [`HostError`]. [`acquirer`] (ISO 8583 frames over TLS). Later: the QR gateway client.
//!
//! Does not own: the API types (`poskit_binding::platform`), what to do
//! with the answers (the binding state machine), or the simulators
//! (`poskit-sim`). Nothing here logs request or response bodies.

pub mod acquirer;
mod error;
pub mod platform;
pub mod tls;

pub use acquirer::{AcquirerConfig, AcquirerLink, LinkFailure, Matcher};
pub use error::HostError;
pub use platform::{PlatformClient, PlatformConfig};
