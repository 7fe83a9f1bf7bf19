//! Issuer script commands (Book 3 6.5.1-6.5.3, 6.5.10, 10.10; secure
//! messaging Book 2 9): the issuer blocks or unblocks the application,
//! blocks the card, unblocks or changes the PIN, or updates card data.
//!
//! Every one needs secure messaging (CLA 84 or 04) with the 4-byte MAC of
//! `crypto::script_mac`, and an ARQC in the current transaction: the MAC
//! covers it, so a script cannot be replayed into another transaction.

use super::apdu::{Command, Sw};
use super::crypto::{decipher_new_pin, script_mac};
use super::{Answer, Reply, VirtualCard};

/// Data objects PUT DATA may change: the consecutive offline limits and
/// the issuer's velocity parameters.
const UPDATABLE: [u32; 5] = [0x9F14, 0x9F23, 0x9F53, 0x9F58, 0x9F59];

const MAC_LEN: usize = 4;

impl VirtualCard {
    pub(super) fn issuer_script(&mut self, cmd: &Command<'_>) -> Reply {
        if self.selected_app().is_none() {
            return Err(Sw::CONDITIONS_NOT_SATISFIED);
        }
        let Some((data, mac)) = cmd.data.len().checked_sub(MAC_LEN).map(|n| cmd.data.split_at(n)) else {
            return Err(Sw::SM_DATA_INCORRECT);
        };
        // Check the parameters before the MAC: a wrong P1/P2 is 6A86
        // whatever the MAC says.
        match (cmd.ins, cmd.p1, cmd.p2) {
            (0x1E | 0x18 | 0x16, 0, 0) | (0x24, 0, 0x00 | 0x02) | (0xDA, _, _) => {}
            _ => return Err(Sw::INCORRECT_P1_P2),
        }
        let arqc = self
            .txn
            .as_ref()
            .and_then(|t| t.arqc)
            .ok_or(Sw::CONDITIONS_NOT_SATISFIED)?;
        let header = [cmd.cla, cmd.ins, cmd.p1, cmd.p2, cmd.data.len() as u8];
        let expected =
            script_mac(&self.icc_mk_smi, header, self.atc, &arqc, data).map_err(|_| Sw::NO_DIAGNOSIS)?;
        if !poskit_crypto::constant_time_eq(&expected, mac) {
            self.script_failed();
            return Err(Sw::SM_DATA_INCORRECT);
        }
        let result = self.apply_script(cmd, data, &arqc);
        match result {
            Ok(()) => {
                self.scripts_applied = self.scripts_applied.saturating_add(1);
                if let Some(txn) = self.txn.as_mut() {
                    txn.scripts_sm = txn.scripts_sm.saturating_add(1);
                }
                Ok(Answer::ok(Vec::new()))
            }
            Err(sw) => {
                self.script_failed();
                Err(sw)
            }
        }
    }

    fn script_failed(&mut self) {
        if let Some(txn) = self.txn.as_mut() {
            txn.script_failed = true;
        }
    }

    fn apply_script(&mut self, cmd: &Command<'_>, data: &[u8], arqc: &[u8]) -> Result<(), Sw> {
        match cmd.ins {
            // APPLICATION BLOCK (6.5.1): SELECT answers 6283 from now on and
            // any GENERATE AC left in this transaction gives an AAC.
            0x1E => self.app_blocked = true,
            // APPLICATION UNBLOCK (6.5.2).
            0x18 => self.app_blocked = false,
            // CARD BLOCK (6.5.3): nothing can be selected any more.
            0x16 => {
                self.card_blocked = true;
                self.app_blocked = true;
            }
            0x24 => {
                if cmd.p2 == 0x02 {
                    // PIN CHANGE without the old PIN: the new one comes
                    // enciphered under SK_SMC (Book 2 9.3).
                    self.pin = decipher_new_pin(&self.icc_mk_smc, arqc, data).ok_or(Sw::INCORRECT_DATA)?;
                } else if !data.is_empty() {
                    return Err(Sw::WRONG_LENGTH);
                }
                // PIN UNBLOCK and PIN CHANGE both reset the try counter.
                self.pin_tries = self.profile.pin_try_limit;
                self.blocked_by_pin = false;
            }
            _ => {
                let tag = u32::from(cmd.p1p2());
                if !UPDATABLE.contains(&tag) {
                    return Err(Sw::DATA_NOT_FOUND);
                }
                if data.is_empty() {
                    return Err(Sw::WRONG_LENGTH);
                }
                if tag == 0x9F14 {
                    if let [limit] = data {
                        self.profile.offline.consecutive_limit = *limit;
                    }
                }
                self.put_data.insert(tag, data.to_vec());
            }
        }
        Ok(())
    }
}
