//! What the simulated wallets do: which wallet a payment code belongs to,
//! and how a payment attempt goes (the amount table, or the test's
//! choice).

use std::time::Duration;

use poskit_host::gateway::{FailReason, Wallet};

/// How a payment attempt goes. Chosen by the test
/// ([`super::GatewaySim::set_behaviour`]) or by the amount table
/// ([`Behaviour::for_amount`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Paid at once.
    Paid,
    /// "User paying" (the customer types a password), then paid this much
    /// later.
    UserPayingThenPaid(Duration),
    /// "User paying" until the terminal cancels or closes the order.
    UserPaying,
    /// "User paying", then failed this much later (for example
    /// [`FailReason::UserCancelled`]: the customer gave up on the phone).
    UserPayingThenFailed(Duration, FailReason),
    /// Failed at once.
    Failed(FailReason),
    /// The wallet charges, then the connection drops with no answer: the
    /// order is paid and only a query tells.
    PaidThenNoAnswer,
}

impl Behaviour {
    /// The documented amount table, by the last two digits of the amount
    /// in minor units: `61` user paying then paid after `delay`, `62` user
    /// paying until cancelled, `63` failed `insufficient_balance`, `64`
    /// charged then no answer, `65` failed `code_expired`, anything else
    /// paid at once.
    pub fn for_amount(amount: u64, delay: Duration) -> Behaviour {
        match amount % 100 {
            61 => Behaviour::UserPayingThenPaid(delay),
            62 => Behaviour::UserPaying,
            63 => Behaviour::Failed(FailReason::InsufficientBalance),
            64 => Behaviour::PaidThenNoAnswer,
            65 => Behaviour::Failed(FailReason::CodeExpired),
            _ => Behaviour::Paid,
        }
    }
}

/// The wallet a customer's payment code belongs to, by its prefix and
/// length: 18 digits starting 10-15 WeChat Pay, 16 to 24 digits starting
/// 25-30 Alipay, 19 digits starting 62 UnionPay QR; `None` otherwise.
///
/// Deliberately minimal: the terminal's own recognition is
/// `poskit-qr`'s; this is only what the simulated gateway needs.
pub fn classify(auth_code: &str) -> Option<Wallet> {
    if !auth_code.bytes().all(|b| b.is_ascii_digit()) || auth_code.len() < 2 {
        return None;
    }
    let prefix: u8 = auth_code[..2].parse().ok()?;
    match (auth_code.len(), prefix) {
        (18, 10..=15) => Some(Wallet::WeChatPay),
        (16..=24, 25..=30) => Some(Wallet::Alipay),
        (19, 62) => Some(Wallet::UnionPayQr),
        _ => None,
    }
}

/// What each wallet's transaction ids start with.
pub(crate) fn txn_id_prefix(wallet: Wallet) -> &'static str {
    match wallet {
        Wallet::WeChatPay => "42",
        Wallet::Alipay => "20",
        Wallet::UnionPayQr => "62",
        Wallet::EmvcoQr => "88",
    }
}

/// What the customer scans for a shown-code order.
pub(crate) fn code_url(wallet: Wallet, order_no: &str) -> String {
    format!("https://qr.poskit.test/{}/{order_no}", wallet.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_classified_by_prefix_and_length() {
        assert_eq!(classify("134567890123456789"), Some(Wallet::WeChatPay));
        assert_eq!(classify("104567890123456789"), Some(Wallet::WeChatPay));
        assert_eq!(classify("164567890123456789"), None);
        assert_eq!(classify("13456789012345678"), None, "17 digits");
        assert_eq!(classify("2845678901234567"), Some(Wallet::Alipay));
        assert_eq!(classify("304567890123456789012345"), Some(Wallet::Alipay));
        assert_eq!(classify("3045678901234567890123456"), None, "25 digits");
        assert_eq!(classify("6212345678901234567"), Some(Wallet::UnionPayQr));
        assert_eq!(classify("621234567890123456"), None, "18 digits");
        assert_eq!(classify("13456789012345678x"), None);
        assert_eq!(classify("１３"), None, "not ASCII digits");
        assert_eq!(classify(""), None);
    }

    #[test]
    fn the_amount_table() {
        let d = Duration::from_millis(5);
        assert_eq!(Behaviour::for_amount(1061, d), Behaviour::UserPayingThenPaid(d));
        assert_eq!(Behaviour::for_amount(62, d), Behaviour::UserPaying);
        assert_eq!(
            Behaviour::for_amount(163, d),
            Behaviour::Failed(FailReason::InsufficientBalance)
        );
        assert_eq!(Behaviour::for_amount(64, d), Behaviour::PaidThenNoAnswer);
        assert_eq!(
            Behaviour::for_amount(99965, d),
            Behaviour::Failed(FailReason::CodeExpired)
        );
        assert_eq!(Behaviour::for_amount(1999, d), Behaviour::Paid);
        assert_eq!(Behaviour::for_amount(6100, d), Behaviour::Paid);
    }
}
