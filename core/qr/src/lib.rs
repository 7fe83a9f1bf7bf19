//! QR codes at the counter: EMVCo merchant-presented codes (the terminal
//! shows one, the customer's wallet scans it), EMVCo consumer-presented
//! codes and wallet payment codes (the customer shows one, the terminal
//! scans it), and rendering a code for a screen or a terminal.
//!
//! Owns: the text and bytes of these codes, their rules, and their
//! pictures. Does not own: talking to a wallet or a gateway (core/host),
//! the order flows (core/terminal).
//!
//! Pure: no I/O, no clock. Nothing here panics on any input; every error
//! names the data object and says what is wrong. Card data from a
//! consumer-presented code and wallet payment codes (bearer tokens) never
//! show in `Debug`, `Display` or an error.
//!
//! ```
//! use poskit_qr::{classify, mpm::MerchantPresented, Wallet};
//!
//! let code = MerchantPresented::decode(
//!     "00020101021229300012D156000000000510A93FO3230Q31280012D15600000001030812345678\
//!      520441115802CN5914BEST TRANSPORT6007BEIJING64200002ZH0104最佳运输0202北京\
//!      540523.7253031565502016233030412340603***0708A60086670902ME\
//!      91320016A0112233449988770708123456786304A13A",
//! )
//! .unwrap();
//! assert_eq!(code.amount(), Some("23.72"));
//!
//! assert_eq!(classify("134567890123456789").unwrap().wallet(), Wallet::WeChatPay);
//! ```

pub mod code;
pub mod cpm;
pub mod crc;
pub mod mpm;
pub mod render;

pub use crc::crc16_ccitt_false;
pub use mpm::{MerchantPresented, MpmBuilder, MpmError};

pub use code::{CodeError, PaymentCode, Wallet, classify};
pub use cpm::{ConsumerPresented, CpmError};
pub use render::{Background, QrMatrix, RenderError};
