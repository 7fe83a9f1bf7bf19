//! Cardholder verification method lists (EMV Book 3 section 10.5, Annex C3).
//! This module reads the list and decides which rule applies; the kernel
//! performs the chosen method (PIN entry, VERIFY) and reports back.

use crate::error::KernelError;

/// The method a CV rule names (byte 1, bits 6-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Fail,
    PlaintextPinByIcc,
    EncipheredPinOnline,
    PlaintextPinByIccAndSignature,
    EncipheredPinByIcc,
    EncipheredPinByIccAndSignature,
    Signature,
    NoCvmRequired,
    /// A code the terminal does not know (RFU, or scheme-proprietary).
    Unrecognised(u8),
}

impl Method {
    fn from_code(code: u8) -> Self {
        match code & 0x3F {
            0x00 => Method::Fail,
            0x01 => Method::PlaintextPinByIcc,
            0x02 => Method::EncipheredPinOnline,
            0x03 => Method::PlaintextPinByIccAndSignature,
            0x04 => Method::EncipheredPinByIcc,
            0x05 => Method::EncipheredPinByIccAndSignature,
            0x1E => Method::Signature,
            0x1F => Method::NoCvmRequired,
            other => Method::Unrecognised(other),
        }
    }

    /// Whether the terminal's capabilities (9F33 byte 2) support it.
    pub fn supported_by(self, capabilities: &[u8; 3]) -> bool {
        let cvm_caps = capabilities[1];
        match self {
            Method::Fail => true,
            Method::PlaintextPinByIcc => cvm_caps & 0x80 != 0,
            Method::EncipheredPinOnline => cvm_caps & 0x40 != 0,
            Method::PlaintextPinByIccAndSignature => cvm_caps & 0x80 != 0 && cvm_caps & 0x20 != 0,
            Method::EncipheredPinByIcc => cvm_caps & 0x10 != 0,
            Method::EncipheredPinByIccAndSignature => cvm_caps & 0x10 != 0 && cvm_caps & 0x20 != 0,
            Method::Signature => cvm_caps & 0x20 != 0,
            Method::NoCvmRequired => cvm_caps & 0x08 != 0,
            Method::Unrecognised(_) => false,
        }
    }
}

/// One CV rule: method code (with the "apply succeeding rule if this one
/// fails" bit) and condition code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub code: u8,
    pub condition: u8,
}

impl Rule {
    pub fn method(&self) -> Method {
        Method::from_code(self.code)
    }

    /// Bit 7 of the method byte.
    pub fn continue_on_failure(&self) -> bool {
        self.code & 0x40 != 0
    }

    /// The CVM results (9F34) for this rule with a result byte.
    pub fn results(&self, result: u8) -> [u8; 3] {
        [self.code, self.condition, result]
    }
}

/// 9F34 byte 3.
pub mod result {
    pub const UNKNOWN: u8 = 0x00;
    pub const FAILED: u8 = 0x01;
    pub const SUCCESSFUL: u8 = 0x02;
}

/// "No CVM performed" (Book 3 Annex A, CVM Results).
pub const NOT_PERFORMED: [u8; 3] = [0x3F, 0x00, 0x00];

/// A parsed CVM list (8E): amounts X and Y, then the rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CvmList {
    pub x: u64,
    pub y: u64,
    pub rules: Vec<Rule>,
}

impl CvmList {
    pub fn parse(value: &[u8]) -> Result<Self, KernelError> {
        // Book 3 10.5: 8 bytes of amounts, then pairs; an odd tail is a format error.
        if value.len() < 8 || (value.len() - 8) % 2 != 0 {
            return Err(KernelError::CardData(
                "CVM list (8E) has a malformed length".into(),
            ));
        }
        let amount = |b: &[u8]| u32::from_be_bytes(b.try_into().expect("4 bytes")) as u64;
        Ok(CvmList {
            x: amount(&value[0..4]),
            y: amount(&value[4..8]),
            rules: value[8..]
                .chunks_exact(2)
                .map(|p| Rule {
                    code: p[0],
                    condition: p[1],
                })
                .collect(),
        })
    }
}

/// What the condition codes need to know about the transaction.
#[derive(Debug, Clone, Copy)]
pub struct Situation {
    /// 9C.
    pub transaction_type: u8,
    /// 9F35: unattended terminals are types x4 to x6.
    pub terminal_type: u8,
    pub amount: u64,
    /// The transaction is in the application currency (5F2A == 9F42), so
    /// the X and Y amounts can be compared.
    pub in_application_currency: bool,
    pub capabilities: [u8; 3],
}

impl Situation {
    fn unattended(&self) -> bool {
        matches!(self.terminal_type & 0x0F, 4..=6)
    }

    fn cash(&self) -> bool {
        self.transaction_type == 0x01
    }

    fn cashback(&self) -> bool {
        self.transaction_type == 0x09
    }
}

/// Whether a condition code is satisfied (Book 3 Annex C3 table 40). An
/// unknown code, or an amount condition in another currency, is not.
pub fn condition_met(rule: &Rule, list: &CvmList, s: &Situation) -> bool {
    match rule.condition {
        0x00 => true,
        0x01 => s.unattended() && s.cash(),
        0x02 => !s.cash() && !s.cashback(),
        0x03 => rule.method().supported_by(&s.capabilities),
        0x04 => !s.unattended() && s.cash(),
        0x05 => s.cashback(),
        0x06 => s.in_application_currency && s.amount < list.x,
        0x07 => s.in_application_currency && s.amount > list.x,
        0x08 => s.in_application_currency && s.amount < list.y,
        0x09 => s.in_application_currency && s.amount > list.y,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn situation(amount: u64) -> Situation {
        Situation {
            transaction_type: 0x00,
            terminal_type: 0x22,
            amount,
            in_application_currency: true,
            capabilities: [0xE0, 0xF8, 0xC8],
        }
    }

    #[test]
    fn parses_and_evaluates() {
        // X = 100.00, Y = 0; enciphered PIN online if over X, else signature, else no CVM.
        let list = CvmList::parse(&hex::decode("000027100000000042075E031F03").unwrap()).unwrap();
        assert_eq!(list.x, 10000);
        assert_eq!(list.rules.len(), 3);
        assert_eq!(list.rules[0].method(), Method::EncipheredPinOnline);
        assert!(list.rules[0].continue_on_failure());
        assert!(condition_met(&list.rules[0], &list, &situation(20000)));
        assert!(!condition_met(&list.rules[0], &list, &situation(5000)));
        assert!(condition_met(&list.rules[1], &list, &situation(5000)));
        assert!(CvmList::parse(&[0; 9]).is_err());
        assert_eq!(Method::from_code(0x2A), Method::Unrecognised(0x2A));
        assert!(!Method::Unrecognised(0x2A).supported_by(&[0xFF; 3]));
    }
}
