//! Shared set-up for the Terminal's scenario tests.

#![allow(dead_code)]

pub mod terminal;
