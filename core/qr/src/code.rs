//! Wallet payment codes: the barcode a customer's wallet shows at the
//! counter (付款码), which the terminal scans and sends as the payment's
//! auth code. The wallet is known from the prefix and length alone, as
//! the wallets document them:
//!
//! - WeChat Pay: 18 digits starting 10 to 15;
//! - Alipay: 16 to 24 digits starting 25 to 30;
//! - UnionPay QR (云闪付 and bank apps): 19 digits starting 62.
//!
//! A code is a bearer token for one payment: whoever holds it can spend.
//! It is refused with a reason before anything is sent, and it never shows
//! whole in `Debug`, `Display` or an error.

use std::fmt;

use zeroize::Zeroizing;

/// The wallet a payment code belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Wallet {
    WeChatPay,
    Alipay,
    UnionPayQr,
}

impl Wallet {
    pub fn name(self) -> &'static str {
        match self {
            Wallet::WeChatPay => "WeChat Pay",
            Wallet::Alipay => "Alipay",
            Wallet::UnionPayQr => "UnionPay QR",
        }
    }

    /// The lengths the wallet's codes have.
    fn lengths(self) -> (usize, usize, &'static str) {
        match self {
            Wallet::WeChatPay => (18, 18, "18 digits"),
            Wallet::Alipay => (16, 24, "16 to 24 digits"),
            Wallet::UnionPayQr => (19, 19, "19 digits"),
        }
    }

    fn from_prefix(prefix: u8) -> Option<Wallet> {
        match prefix {
            10..=15 => Some(Wallet::WeChatPay),
            25..=30 => Some(Wallet::Alipay),
            62 => Some(Wallet::UnionPayQr),
            _ => None,
        }
    }
}

impl fmt::Display for Wallet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a scanned code is not a payment code. Never quotes the code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodeError {
    #[error("nothing was scanned: ask the customer to show the payment code again")]
    Empty,
    #[error(
        "this is an EMVCo consumer-presented code, not a wallet payment code: decode it as one (poskit_qr::cpm)"
    )]
    EmvcoConsumerPresented,
    #[error("a payment code is digits only; character {position} is not a digit: scan it again")]
    NotDigits { position: usize },
    #[error(
        "the code starts {prefix}, which no supported wallet uses (WeChat Pay 10-15, Alipay 25-30, UnionPay QR 62): ask for another payment method"
    )]
    UnknownWallet { prefix: String },
    #[error("{wallet} payment codes are {expected}; this one has {len}: scan it again")]
    BadLength {
        wallet: Wallet,
        len: usize,
        expected: &'static str,
    },
}

/// A recognised payment code. `Debug` and `Display` show only the wallet,
/// the first two and the last four digits.
#[derive(Clone, PartialEq, Eq)]
pub struct PaymentCode {
    wallet: Wallet,
    digits: Zeroizing<String>,
}

impl PaymentCode {
    pub fn wallet(&self) -> Wallet {
        self.wallet
    }

    /// The whole code, for the payment request's auth code and nothing
    /// else: never log it, show it or keep it.
    pub fn digits(&self) -> &str {
        &self.digits
    }

    /// `13************1234`: the prefix that names the wallet and the last
    /// four digits, for receipts and logs.
    pub fn masked(&self) -> String {
        let n = self.digits.len();
        self.digits
            .char_indices()
            .map(|(i, c)| if i < 2 || i + 4 >= n { c } else { '*' })
            .collect()
    }
}

impl fmt::Debug for PaymentCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PaymentCode")
            .field("wallet", &self.wallet)
            .field("code", &self.masked())
            .finish()
    }
}

impl fmt::Display for PaymentCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.wallet, self.masked())
    }
}

/// Recognises the wallet of a scanned payment code. Spaces and line ends
/// around it (scanners add them) are ignored.
///
/// ```
/// use poskit_qr::{classify, CodeError, Wallet};
///
/// let code = classify("286012345678901234\r\n").unwrap();
/// assert_eq!(code.wallet(), Wallet::Alipay);
/// assert_eq!(code.to_string(), "Alipay 28************1234");
/// assert!(matches!(classify("99123"), Err(CodeError::UnknownWallet { .. })));
/// ```
pub fn classify(code: &str) -> Result<PaymentCode, CodeError> {
    let code = code.trim_matches(|c: char| c.is_ascii_whitespace());
    if code.is_empty() {
        return Err(CodeError::Empty);
    }
    // Base64 of 85 05 "CPV": the start of every CPM code.
    if code.starts_with("hQVDUFYw") {
        return Err(CodeError::EmvcoConsumerPresented);
    }
    if let Some(position) = code.chars().position(|c| !c.is_ascii_digit()) {
        return Err(CodeError::NotDigits {
            position: position + 1,
        });
    }
    let b = code.as_bytes();
    let wallet = match b {
        [h, l, ..] => Wallet::from_prefix((h - b'0') * 10 + (l - b'0')),
        _ => None,
    }
    .ok_or_else(|| CodeError::UnknownWallet {
        prefix: code[..code.len().min(2)].to_owned(),
    })?;
    let (min, max, expected) = wallet.lengths();
    if !(min..=max).contains(&code.len()) {
        return Err(CodeError::BadLength {
            wallet,
            len: code.len(),
            expected,
        });
    }
    Ok(PaymentCode {
        wallet,
        digits: Zeroizing::new(code.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_prefixes_and_lengths() {
        for (code, wallet) in [
            ("101234567890123456", Wallet::WeChatPay),
            ("151234567890123456", Wallet::WeChatPay),
            ("2512345678901234", Wallet::Alipay),
            ("301234567890123456789012", Wallet::Alipay),
            ("6212345678901234567", Wallet::UnionPayQr),
        ] {
            assert_eq!(classify(code).unwrap().wallet(), wallet, "{code}");
        }
    }

    #[test]
    fn refusals() {
        assert_eq!(classify(" \n"), Err(CodeError::Empty));
        assert_eq!(
            classify("16123456789012345678"),
            Err(CodeError::UnknownWallet { prefix: "16".into() })
        );
        assert_eq!(
            classify("13456789012345678"),
            Err(CodeError::BadLength {
                wallet: Wallet::WeChatPay,
                len: 17,
                expected: "18 digits"
            })
        );
        assert_eq!(
            classify("251234567890123"),
            Err(CodeError::BadLength {
                wallet: Wallet::Alipay,
                len: 15,
                expected: "16 to 24 digits"
            })
        );
        assert!(
            classify("62123456789012345678")
                .unwrap_err()
                .to_string()
                .contains("UnionPay QR payment codes are 19 digits; this one has 20")
        );
        assert_eq!(
            classify("1345678901234x5678"),
            Err(CodeError::NotDigits { position: 14 })
        );
        assert_eq!(
            classify("6"),
            Err(CodeError::UnknownWallet { prefix: "6".into() })
        );
        assert_eq!(
            classify("hQVDUFYwMWEaTweg"),
            Err(CodeError::EmvcoConsumerPresented)
        );
    }

    #[test]
    fn never_shows_the_whole_code() {
        let code = classify("134567890123456789").unwrap();
        assert_eq!(code.masked(), "13************6789");
        for shown in [format!("{code}"), format!("{code:?}")] {
            assert!(!shown.contains("4567890123"), "{shown}");
        }
        let err = classify("134567890123456").unwrap_err().to_string();
        assert!(!err.contains("4567"), "{err}");
    }
}
