//! The terminal binding lifecycle: onboarding application, review, binding
//! to a merchant number and terminal id, sign-in, device replacement,
//! unbinding, settlement card changes, payment methods and the admin
//! password, as a sans-IO state machine (DESIGN rule 1).
//!
//! Owns: the rules (what is allowed when, what is validated, the limits)
//! and the platform API as data. Does not own: the network (core/host),
//! storage and the audit trail's chain (core/store): operations return a
//! [`PlatformCall`] and, with the reply, [`Effect`]s for the caller.
//! Time and randomness come in as arguments.

mod error;
mod machine;
mod password;
pub mod platform;
pub mod validate;

pub use error::BindingError;
pub use machine::{
    ApplicationForm, Binding, CardChangeVoucher, Device, Effect, Lifecycle, MethodState, PlatformCall,
    PlatformReply, Policy, SettlementCard,
};
pub use password::AdminPassword;
