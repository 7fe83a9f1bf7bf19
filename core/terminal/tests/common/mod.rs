//! Shared set-up for the Terminal's scenario tests: the acquirer link on
//! its own ([`acquirer`], re-exported at the top), and a whole Terminal on
//! simulated devices and hosts ([`terminal`]).

#![allow(dead_code)]

mod acquirer;
pub mod terminal;

#[allow(unused_imports)]
pub use acquirer::*;
