//! Terminal verification results (95) and transaction status information
//! (9B), EMV Book 3 Annex C5 and C6.

use std::fmt;

/// One TVR condition: its byte (0-based) and bit mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TvrBit(u8, u8);

impl TvrBit {
    pub const ODA_NOT_PERFORMED: TvrBit = TvrBit(0, 0x80);
    pub const SDA_FAILED: TvrBit = TvrBit(0, 0x40);
    pub const ICC_DATA_MISSING: TvrBit = TvrBit(0, 0x20);
    pub const CARD_ON_EXCEPTION_FILE: TvrBit = TvrBit(0, 0x10);
    pub const DDA_FAILED: TvrBit = TvrBit(0, 0x08);
    pub const CDA_FAILED: TvrBit = TvrBit(0, 0x04);
    pub const SDA_SELECTED: TvrBit = TvrBit(0, 0x02);

    pub const DIFFERENT_APP_VERSIONS: TvrBit = TvrBit(1, 0x80);
    pub const EXPIRED_APPLICATION: TvrBit = TvrBit(1, 0x40);
    pub const APPLICATION_NOT_YET_EFFECTIVE: TvrBit = TvrBit(1, 0x20);
    pub const SERVICE_NOT_ALLOWED: TvrBit = TvrBit(1, 0x10);
    pub const NEW_CARD: TvrBit = TvrBit(1, 0x08);

    pub const CARDHOLDER_VERIFICATION_FAILED: TvrBit = TvrBit(2, 0x80);
    pub const UNRECOGNISED_CVM: TvrBit = TvrBit(2, 0x40);
    pub const PIN_TRY_LIMIT_EXCEEDED: TvrBit = TvrBit(2, 0x20);
    pub const PIN_PAD_NOT_WORKING: TvrBit = TvrBit(2, 0x10);
    pub const PIN_NOT_ENTERED: TvrBit = TvrBit(2, 0x08);
    pub const ONLINE_PIN_ENTERED: TvrBit = TvrBit(2, 0x04);

    pub const EXCEEDS_FLOOR_LIMIT: TvrBit = TvrBit(3, 0x80);
    pub const LOWER_OFFLINE_LIMIT_EXCEEDED: TvrBit = TvrBit(3, 0x40);
    pub const UPPER_OFFLINE_LIMIT_EXCEEDED: TvrBit = TvrBit(3, 0x20);
    pub const RANDOMLY_SELECTED_ONLINE: TvrBit = TvrBit(3, 0x10);
    pub const MERCHANT_FORCED_ONLINE: TvrBit = TvrBit(3, 0x08);

    pub const DEFAULT_TDOL_USED: TvrBit = TvrBit(4, 0x80);
    pub const ISSUER_AUTHENTICATION_FAILED: TvrBit = TvrBit(4, 0x40);
    pub const SCRIPT_FAILED_BEFORE_FINAL_AC: TvrBit = TvrBit(4, 0x20);
    pub const SCRIPT_FAILED_AFTER_FINAL_AC: TvrBit = TvrBit(4, 0x10);

    const NAMES: [(TvrBit, &'static str); 26] = [
        (
            Self::ODA_NOT_PERFORMED,
            "offline data authentication not performed",
        ),
        (Self::SDA_FAILED, "SDA failed"),
        (Self::ICC_DATA_MISSING, "ICC data missing"),
        (Self::CARD_ON_EXCEPTION_FILE, "card on exception file"),
        (Self::DDA_FAILED, "DDA failed"),
        (Self::CDA_FAILED, "CDA failed"),
        (Self::SDA_SELECTED, "SDA selected"),
        (
            Self::DIFFERENT_APP_VERSIONS,
            "ICC and terminal have different application versions",
        ),
        (Self::EXPIRED_APPLICATION, "expired application"),
        (
            Self::APPLICATION_NOT_YET_EFFECTIVE,
            "application not yet effective",
        ),
        (
            Self::SERVICE_NOT_ALLOWED,
            "requested service not allowed for card product",
        ),
        (Self::NEW_CARD, "new card"),
        (
            Self::CARDHOLDER_VERIFICATION_FAILED,
            "cardholder verification was not successful",
        ),
        (Self::UNRECOGNISED_CVM, "unrecognised CVM"),
        (Self::PIN_TRY_LIMIT_EXCEEDED, "PIN try limit exceeded"),
        (
            Self::PIN_PAD_NOT_WORKING,
            "PIN entry required and PIN pad not present or not working",
        ),
        (
            Self::PIN_NOT_ENTERED,
            "PIN entry required, PIN pad present, but PIN was not entered",
        ),
        (Self::ONLINE_PIN_ENTERED, "online PIN entered"),
        (Self::EXCEEDS_FLOOR_LIMIT, "transaction exceeds floor limit"),
        (
            Self::LOWER_OFFLINE_LIMIT_EXCEEDED,
            "lower consecutive offline limit exceeded",
        ),
        (
            Self::UPPER_OFFLINE_LIMIT_EXCEEDED,
            "upper consecutive offline limit exceeded",
        ),
        (
            Self::RANDOMLY_SELECTED_ONLINE,
            "transaction selected randomly for online processing",
        ),
        (Self::MERCHANT_FORCED_ONLINE, "merchant forced transaction online"),
        (Self::DEFAULT_TDOL_USED, "default TDOL used"),
        (Self::ISSUER_AUTHENTICATION_FAILED, "issuer authentication failed"),
        (
            Self::SCRIPT_FAILED_BEFORE_FINAL_AC,
            "script processing failed before final GENERATE AC",
        ),
    ];
}

/// Terminal verification results.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Tvr(pub [u8; 5]);

impl Tvr {
    pub fn set(&mut self, bit: TvrBit) {
        self.0[bit.0 as usize] |= bit.1;
    }

    pub fn is_set(&self, bit: TvrBit) -> bool {
        self.0[bit.0 as usize] & bit.1 != 0
    }

    /// True when any bit set here is also set in `action_code` (a TAC or IAC).
    pub fn matches(&self, action_code: &[u8; 5]) -> bool {
        self.0.iter().zip(action_code).any(|(t, a)| t & a != 0)
    }

    /// The conditions that are set, by name (for traces and receipts).
    pub fn describe(&self) -> Vec<&'static str> {
        let mut names: Vec<_> = TvrBit::NAMES
            .iter()
            .filter(|(b, _)| self.is_set(*b))
            .map(|(_, n)| *n)
            .collect();
        if self.is_set(TvrBit::SCRIPT_FAILED_AFTER_FINAL_AC) {
            names.push("script processing failed after final GENERATE AC");
        }
        names
    }
}

impl fmt::Debug for Tvr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tvr({self})")
    }
}

impl fmt::Display for Tvr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02X}"))
    }
}

/// Transaction status information.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Tsi(pub [u8; 2]);

impl Tsi {
    pub const ODA_PERFORMED: u8 = 0x80;
    pub const CARDHOLDER_VERIFICATION_PERFORMED: u8 = 0x40;
    pub const CARD_RISK_MANAGEMENT_PERFORMED: u8 = 0x20;
    pub const ISSUER_AUTHENTICATION_PERFORMED: u8 = 0x10;
    pub const TERMINAL_RISK_MANAGEMENT_PERFORMED: u8 = 0x08;
    pub const SCRIPT_PROCESSING_PERFORMED: u8 = 0x04;

    pub fn set(&mut self, bit: u8) {
        self.0[0] |= bit;
    }

    pub fn is_set(&self, bit: u8) -> bool {
        self.0[0] & bit != 0
    }
}

impl fmt::Debug for Tsi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tsi({self})")
    }
}

impl fmt::Display for Tsi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02X}{:02X}", self.0[0], self.0[1])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_and_action_codes() {
        let mut tvr = Tvr::default();
        tvr.set(TvrBit::EXPIRED_APPLICATION);
        tvr.set(TvrBit::EXCEEDS_FLOOR_LIMIT);
        assert_eq!(tvr.to_string(), "0040008000");
        assert!(tvr.matches(&[0, 0x40, 0, 0, 0]));
        assert!(!tvr.matches(&[0xFF, 0, 0, 0, 0]));
        assert_eq!(
            tvr.describe(),
            ["expired application", "transaction exceeds floor limit"]
        );
        let mut tsi = Tsi::default();
        tsi.set(Tsi::ODA_PERFORMED);
        tsi.set(Tsi::TERMINAL_RISK_MANAGEMENT_PERFORMED);
        assert_eq!(tsi.to_string(), "8800");
    }
}
