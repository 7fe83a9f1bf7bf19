//! Offline PIN: VERIFY with a plaintext PIN block (P2 = 80) or an
//! enciphered one (P2 = 88), Book 3 6.5.12 and Book 2 7.

use super::apdu::{Command, Sw};
use super::crypto::decode_format2_pin_block;
use super::{Answer, Reply, VirtualCard};

impl VirtualCard {
    pub(super) fn verify(&mut self, cmd: &Command<'_>) -> Reply {
        if cmd.p1 != 0 || !matches!(cmd.p2, 0x80 | 0x88) {
            return Err(Sw::INCORRECT_P1_P2);
        }
        if self.selected_app().is_none() {
            return Err(Sw::CONDITIONS_NOT_SATISFIED);
        }
        if self.pin_tries == 0 {
            return Err(Sw::PIN_BLOCKED);
        }
        // No data: ISO 7816-4 7.5.6, the answer tells the tries left.
        if cmd.data.is_empty() {
            return Err(Sw::tries_left(self.pin_tries));
        }
        let presented = match cmd.p2 {
            0x80 => {
                if cmd.data.len() != 8 {
                    return Err(Sw::WRONG_LENGTH);
                }
                // A malformed plaintext block is the terminal's fault, not
                // a wrong PIN: no try is spent on it.
                Some(decode_format2_pin_block(cmd.data).ok_or(Sw::INCORRECT_DATA)?)
            }
            _ => self.decipher_pin(cmd.data)?,
        };
        if let Some(txn) = self.txn.as_mut() {
            txn.offline_pin_performed = true;
        }
        let matches = presented
            .as_deref()
            .is_some_and(|p| poskit_crypto::constant_time_eq(p.as_bytes(), self.pin.as_bytes()));
        if matches {
            self.pin_tries = self.profile.pin_try_limit;
            return Ok(Answer::ok(Vec::new()));
        }
        self.pin_tries = self.pin_tries.saturating_sub(1);
        if let Some(txn) = self.txn.as_mut() {
            txn.offline_pin_failed = true;
        }
        if self.pin_tries == 0 {
            self.blocked_by_pin = true;
        }
        Err(Sw::tries_left(self.pin_tries))
    }

    /// Book 2 7.2: recover with the ICC private key, then check the header
    /// 7F and the challenge the card gave. Either failing counts as a wrong
    /// PIN (`None`), so nobody can probe the card without spending tries.
    fn decipher_pin(&mut self, data: &[u8]) -> Result<Option<String>, Sw> {
        let key = &self.profile.icc_key;
        if !self.profile.has_icc_key() {
            return Err(Sw::CONDITIONS_NOT_SATISFIED);
        }
        if data.len() != key.len() {
            return Err(Sw::WRONG_LENGTH);
        }
        // The challenge is good for one VERIFY only.
        let challenge = self.challenge.take();
        let Some(recovered) = key.private_operation(data) else {
            return Ok(None);
        };
        // 7F || PIN block (8) || ICC unpredictable number (8) || padding.
        let (Some(&0x7F), Some(block), Some(un)) =
            (recovered.first(), recovered.get(1..9), recovered.get(9..17))
        else {
            return Ok(None);
        };
        if challenge.is_none_or(|c| c[..] != *un) {
            return Ok(None);
        }
        Ok(decode_format2_pin_block(block))
    }
}
