//! PosKit for Kotlin and Swift, through UniFFI proc-macros.
//!
//! Owns: the exported surface, one-line wrappers over the core crates, and
//! the one flat error with stable codes ([`PosKitError`]). Does not own any
//! payment logic (DESIGN rule 3): a wrapper converts arguments, calls the
//! core and converts the result. Foreign languages put their idiomatic API
//! on top of the generated one (`bindings/kotlin`).

uniffi::setup_scaffolding!();

mod crypto;
mod error;
mod logging;
#[cfg(feature = "sim")]
mod sim;
mod terminal;
mod tlv;

pub use crypto::{decrypt_pin_block, encrypt_pin_block, key_check_value, retail_mac};
pub use error::PosKitError;
pub use logging::init_logging;
#[cfg(feature = "sim")]
pub use sim::{
    MemoryPrinter, ReconciliationResult, SimCardReader, SimEnvironment, SimPinPad, SoftwareKeystore,
    start_simulators,
};
pub use terminal::*;
pub use tlv::{TlvNode, decode_tlv};
