//! Pure decisions of the contact flow: processing restrictions (Book 3
//! 10.4), terminal risk management (10.6) and terminal action analysis
//! (10.7). Each takes what it needs and sets TVR bits.

use crate::config::{AidParams, yymmdd_ordinal};
use crate::outcome::CryptogramType;
use crate::tvr::{Tvr, TvrBit};

/// YYMMDD in BCD (9A, 5F24, 5F25) to a comparable number.
pub fn date_ordinal(bcd: &[u8; 3]) -> u32 {
    let digits: String = bcd.iter().map(|b| format!("{b:02X}")).collect();
    yymmdd_ordinal(&digits)
}

/// Inputs of the processing restrictions.
pub struct Restrictions<'a> {
    pub card_app_version: Option<&'a [u8]>,
    pub terminal_app_version: [u8; 2],
    /// 9F07.
    pub usage_control: Option<[u8; 2]>,
    /// 5F28.
    pub issuer_country: Option<[u8; 2]>,
    pub terminal_country: [u8; 2],
    pub transaction_type: u8,
    /// 9F35: ATMs are type x4 with cash disbursement capability.
    pub is_atm: bool,
    pub effective: Option<[u8; 3]>,
    pub expiry: Option<[u8; 3]>,
    pub today: [u8; 3],
}

pub fn processing_restrictions(r: &Restrictions<'_>, tvr: &mut Tvr) {
    if let Some(card) = r.card_app_version
        && card != r.terminal_app_version
    {
        tvr.set(TvrBit::DIFFERENT_APP_VERSIONS);
    }
    if let Some(auc) = r.usage_control {
        if !usage_allowed(&auc, r) {
            tvr.set(TvrBit::SERVICE_NOT_ALLOWED);
        }
    }
    let today = date_ordinal(&r.today);
    if r.effective.is_some_and(|d| date_ordinal(&d) > today) {
        tvr.set(TvrBit::APPLICATION_NOT_YET_EFFECTIVE);
    }
    if r.expiry.is_some_and(|d| date_ordinal(&d) < today) {
        tvr.set(TvrBit::EXPIRED_APPLICATION);
    }
}

/// Application usage control (Book 3 10.4.3, Annex C2).
fn usage_allowed(auc: &[u8; 2], r: &Restrictions<'_>) -> bool {
    if r.is_atm && auc[0] & 0x02 == 0 || !r.is_atm && auc[0] & 0x01 == 0 {
        return false;
    }
    let Some(issuer_country) = r.issuer_country else {
        return true;
    };
    let domestic = issuer_country == r.terminal_country;
    let (domestic_bit, international_bit) = match r.transaction_type {
        0x01 => (0x80, 0x40), // cash
        0x09 => {
            // Purchase with cashback: the goods/services bits and the cashback bits.
            let goods = if domestic { auc[0] & 0x20 } else { auc[0] & 0x10 };
            let cashback = if domestic { auc[1] & 0x80 } else { auc[1] & 0x40 };
            return goods != 0 && cashback != 0;
        }
        _ => (0x20 | 0x08, 0x10 | 0x04), // goods or services
    };
    let bits = if domestic { domestic_bit } else { international_bit };
    auc[0] & bits != 0
}

/// Inputs of terminal risk management.
pub struct RiskInputs<'a> {
    pub aid: &'a AidParams,
    pub amount: u64,
    /// 1..=99, drawn by the caller for random transaction selection.
    pub random: u8,
    pub on_exception_list: bool,
    /// 9F14 and 9F23, when the card has them.
    pub lower_offline_limit: Option<u8>,
    pub upper_offline_limit: Option<u8>,
    /// ATC and last online ATC from GET DATA; None when the card refused.
    pub atc: Option<u16>,
    pub last_online_atc: Option<u16>,
}

/// Floor limit, random selection, velocity checking, exception file.
pub fn terminal_risk_management(r: &RiskInputs<'_>, tvr: &mut Tvr) {
    if r.on_exception_list {
        tvr.set(TvrBit::CARD_ON_EXCEPTION_FILE);
    }
    if r.amount >= r.aid.floor_limit {
        tvr.set(TvrBit::EXCEEDS_FLOOR_LIMIT);
    } else if randomly_selected(r) {
        tvr.set(TvrBit::RANDOMLY_SELECTED_ONLINE);
    }
    if let (Some(lower), Some(upper)) = (r.lower_offline_limit, r.upper_offline_limit) {
        match (r.atc, r.last_online_atc) {
            (Some(atc), Some(last)) => {
                let since = atc.saturating_sub(last);
                if since > lower as u16 {
                    tvr.set(TvrBit::LOWER_OFFLINE_LIMIT_EXCEEDED);
                }
                if since > upper as u16 {
                    tvr.set(TvrBit::UPPER_OFFLINE_LIMIT_EXCEEDED);
                }
                if last == 0 {
                    tvr.set(TvrBit::NEW_CARD);
                }
            }
            // Book 3 10.6.3: either counter unavailable sets both limits.
            _ => {
                tvr.set(TvrBit::LOWER_OFFLINE_LIMIT_EXCEEDED);
                tvr.set(TvrBit::UPPER_OFFLINE_LIMIT_EXCEEDED);
            }
        }
    }
}

/// Book 3 10.6.2: below the threshold, the target percentage; between the
/// threshold and the floor limit, a percentage rising linearly to the
/// maximum target percentage.
fn randomly_selected(r: &RiskInputs<'_>) -> bool {
    let a = r.aid;
    if a.target_percent == 0 && a.max_target_percent == 0 {
        return false;
    }
    let percent = if r.amount < a.threshold || a.floor_limit <= a.threshold {
        a.target_percent as u64
    } else {
        let span = a.max_target_percent.saturating_sub(a.target_percent) as u64;
        a.target_percent as u64 + span * (r.amount - a.threshold) / (a.floor_limit - a.threshold)
    };
    (r.random as u64) <= percent
}

/// The terminal's first decision (Book 3 10.7) from the TVR, the issuer
/// action codes (absent: denial zeros, online and default all ones) and the
/// terminal's.
pub fn terminal_action_analysis(
    tvr: &Tvr,
    iac: &IssuerActionCodes,
    aid: &AidParams,
    online_capable: bool,
    force_online: bool,
) -> CryptogramType {
    if tvr.matches(&iac.denial) || tvr.matches(&aid.tac_denial) {
        return CryptogramType::Aac;
    }
    if online_capable {
        if force_online || tvr.matches(&iac.online) || tvr.matches(&aid.tac_online) {
            return CryptogramType::Arqc;
        }
        return CryptogramType::Tc;
    }
    default_action(tvr, iac, aid)
}

/// Default action codes: what to do when going online is impossible.
pub fn default_action(tvr: &Tvr, iac: &IssuerActionCodes, aid: &AidParams) -> CryptogramType {
    if tvr.matches(&iac.default) || tvr.matches(&aid.tac_default) {
        CryptogramType::Aac
    } else {
        CryptogramType::Tc
    }
}

/// 9F0D, 9F0E, 9F0F.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IssuerActionCodes {
    pub default: [u8; 5],
    pub denial: [u8; 5],
    pub online: [u8; 5],
}

impl IssuerActionCodes {
    pub fn new(default: Option<[u8; 5]>, denial: Option<[u8; 5]>, online: Option<[u8; 5]>) -> Self {
        Self {
            default: default.unwrap_or([0xFF; 5]),
            denial: denial.unwrap_or([0; 5]),
            online: online.unwrap_or([0xFF; 5]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aid() -> AidParams {
        AidParams {
            aid: vec![0xA0, 0, 0, 0, 3, 0x10, 0x10],
            name: "VISA".into(),
            partial_selection: false,
            app_version: [0, 0x8C],
            tac_default: [0xDC, 0x40, 0x00, 0xA8, 0x00],
            tac_denial: [0x00, 0x10, 0x00, 0x00, 0x00],
            tac_online: [0xDC, 0x40, 0x04, 0xF8, 0x00],
            floor_limit: 10000,
            target_percent: 20,
            max_target_percent: 80,
            threshold: 5000,
            default_ddol: vec![],
            default_tdol: vec![],
            contactless: None,
            kernel_id: 3,
        }
    }

    #[test]
    fn dates_and_restrictions() {
        let mut tvr = Tvr::default();
        processing_restrictions(
            &Restrictions {
                card_app_version: Some(&[0, 0x8D]),
                terminal_app_version: [0, 0x8C],
                usage_control: Some([0xFF, 0x00]),
                issuer_country: Some([0x01, 0x56]),
                terminal_country: [0x01, 0x56],
                transaction_type: 0x00,
                is_atm: false,
                effective: Some([0x27, 0x01, 0x01]),
                expiry: Some([0x25, 0x12, 0x31]),
                today: [0x26, 0x11, 0x21],
            },
            &mut tvr,
        );
        assert!(tvr.is_set(TvrBit::DIFFERENT_APP_VERSIONS));
        assert!(tvr.is_set(TvrBit::APPLICATION_NOT_YET_EFFECTIVE));
        assert!(tvr.is_set(TvrBit::EXPIRED_APPLICATION));
        assert!(!tvr.is_set(TvrBit::SERVICE_NOT_ALLOWED));
        assert!(date_ordinal(&[0x49, 0x12, 0x31]) > date_ordinal(&[0x99, 0x01, 0x01]));
    }

    #[test]
    fn auc_refuses_international_cash() {
        let mut tvr = Tvr::default();
        processing_restrictions(
            &Restrictions {
                card_app_version: None,
                terminal_app_version: [0, 0],
                usage_control: Some([0xBF, 0x00]), // no international cash
                issuer_country: Some([0x08, 0x40]),
                terminal_country: [0x01, 0x56],
                transaction_type: 0x01,
                is_atm: false,
                effective: None,
                expiry: None,
                today: [0x26, 0x11, 0x21],
            },
            &mut tvr,
        );
        assert!(tvr.is_set(TvrBit::SERVICE_NOT_ALLOWED));
    }

    fn risk(amount: u64, random: u8) -> Tvr {
        let aid = aid();
        let mut tvr = Tvr::default();
        terminal_risk_management(
            &RiskInputs {
                aid: &aid,
                amount,
                random,
                on_exception_list: false,
                lower_offline_limit: Some(2),
                upper_offline_limit: Some(5),
                atc: Some(10),
                last_online_atc: Some(6),
            },
            &mut tvr,
        );
        tvr
    }

    #[test]
    fn floor_limit_random_selection_and_velocity() {
        let t = risk(10000, 99);
        assert!(t.is_set(TvrBit::EXCEEDS_FLOOR_LIMIT));
        assert!(t.is_set(TvrBit::LOWER_OFFLINE_LIMIT_EXCEEDED));
        assert!(!t.is_set(TvrBit::UPPER_OFFLINE_LIMIT_EXCEEDED));
        // Below the threshold: 20 %.
        assert!(risk(1000, 20).is_set(TvrBit::RANDOMLY_SELECTED_ONLINE));
        assert!(!risk(1000, 21).is_set(TvrBit::RANDOMLY_SELECTED_ONLINE));
        // Halfway between threshold and floor limit: 20 + 60/2 = 50 %.
        assert!(risk(7500, 50).is_set(TvrBit::RANDOMLY_SELECTED_ONLINE));
        assert!(!risk(7500, 51).is_set(TvrBit::RANDOMLY_SELECTED_ONLINE));
    }

    #[test]
    fn action_analysis() {
        // Absent IACs: denial none, online and default all conditions.
        let iac = IssuerActionCodes::new(None, None, None);
        let mut tvr = Tvr::default();
        assert_eq!(
            terminal_action_analysis(&tvr, &iac, &aid(), true, false),
            CryptogramType::Tc
        );
        assert_eq!(
            terminal_action_analysis(&tvr, &iac, &aid(), true, true),
            CryptogramType::Arqc
        );
        tvr.set(TvrBit::NEW_CARD);
        assert_eq!(
            terminal_action_analysis(&tvr, &iac, &aid(), true, false),
            CryptogramType::Arqc
        );
        assert_eq!(
            terminal_action_analysis(&tvr, &iac, &aid(), false, false),
            CryptogramType::Aac
        );
        let mut tvr = Tvr::default();
        let iac = IssuerActionCodes::new(Some([0; 5]), Some([0; 5]), Some([0; 5]));
        assert_eq!(
            terminal_action_analysis(&tvr, &iac, &aid(), true, false),
            CryptogramType::Tc
        );
        tvr.set(TvrBit::SERVICE_NOT_ALLOWED);
        assert_eq!(
            terminal_action_analysis(&tvr, &iac, &aid(), true, false),
            CryptogramType::Aac
        );
    }
}
