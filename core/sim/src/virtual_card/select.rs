//! Selection and reading: SELECT (Book 1 11.3, 12.2-12.3), READ RECORD
//! (Book 1 11.2, Book 3 6.5.11), GET DATA (Book 3 6.5.7), GET CHALLENGE
//! (Book 3 6.5.6).

use super::apdu::{Command, Sw};
use super::records::{self, LOG_RECORDS, LOG_SFI, PPSE_NAME, PSE_DIRECTORY_SFI, PSE_NAME, tlv};
use super::{Answer, Interface, Reply, Selected, VirtualCard};

impl VirtualCard {
    pub(super) fn select(&mut self, cmd: &Command<'_>) -> Reply {
        // By DF name only (P1 = 04); P2 = 00 first or only occurrence,
        // 02 next occurrence, FCI returned (Book 1 11.3.2).
        if cmd.p1 != 0x04 || !matches!(cmd.p2, 0x00 | 0x02) {
            return Err(Sw::INCORRECT_P1_P2);
        }
        let name = cmd.data;
        if !(1..=16).contains(&name.len()) {
            return Err(Sw::WRONG_LENGTH);
        }
        if self.card_blocked {
            return Err(Sw::FUNCTION_NOT_SUPPORTED);
        }
        let next = cmd.p2 == 0x02;
        let previous = self.selected_app();
        self.power_off();

        if name == PSE_NAME || name == PPSE_NAME {
            if name != records::directory_name(&self.profile) || next {
                return Err(Sw::FILE_NOT_FOUND);
            }
            self.selected = Selected::Directory;
            return Ok(Answer::ok(match self.profile.interface {
                Interface::Contact => records::pse_fci(&self.profile),
                Interface::Contactless => records::ppse_fci(&self.profile),
            }));
        }

        // Partial selection (Book 1 12.3.1): the name may be the start of
        // the AID; "next" moves past the application selected last.
        let start = match (next, previous) {
            (true, Some(i)) => i + 1,
            _ => 0,
        };
        let found = self
            .profile
            .applications
            .iter()
            .enumerate()
            .skip(start)
            .find(|(_, app)| app.aid.starts_with(name))
            .map(|(i, _)| i);
        let Some(app) = found else {
            return Err(Sw::FILE_NOT_FOUND);
        };
        self.selected = Selected::Application(app);
        let fci = records::application_fci(&self.profile, app);
        // A blocked application still shows its FCI, with 6283 (Book 1
        // 12.3.2: the terminal then leaves it out of the candidate list).
        let sw = if self.app_blocked {
            Sw::SELECTED_FILE_INVALIDATED
        } else {
            Sw::OK
        };
        Ok(Answer { data: fci, sw })
    }

    pub(super) fn read_record(&mut self, cmd: &Command<'_>) -> Reply {
        // P2 = SFI << 3 | 100b: "record number in P1" (Book 1 11.2).
        let sfi = cmd.p2 >> 3;
        if cmd.p1 == 0 || cmd.p2 & 0x07 != 0x04 || sfi == 0 || !cmd.data.is_empty() {
            return Err(Sw::INCORRECT_P1_P2);
        }
        let rec = cmd.p1;
        match self.selected {
            Selected::Directory if self.profile.interface == Interface::Contact => match (sfi, rec) {
                (PSE_DIRECTORY_SFI, 1) => Ok(Answer::ok(records::pse_directory_record(&self.profile))),
                (PSE_DIRECTORY_SFI, _) => Err(Sw::RECORD_NOT_FOUND),
                _ => Err(Sw::FILE_NOT_FOUND),
            },
            Selected::Application(_) if sfi == LOG_SFI => {
                // Record 1 is the newest entry (Book 3 D2).
                if rec > LOG_RECORDS {
                    return Err(Sw::RECORD_NOT_FOUND);
                }
                self.log
                    .get(usize::from(rec) - 1)
                    .map(|entry| Answer::ok(entry.clone()))
                    .ok_or(Sw::RECORD_NOT_FOUND)
            }
            Selected::Application(_) => match self.perso.records.get(&(sfi, rec)) {
                Some(record) => Ok(Answer::ok(record.clone())),
                None if self.perso.records.keys().any(|(s, _)| *s == sfi) => Err(Sw::RECORD_NOT_FOUND),
                None => Err(Sw::FILE_NOT_FOUND),
            },
            _ => Err(Sw::FILE_NOT_FOUND),
        }
    }

    pub(super) fn get_data(&mut self, cmd: &Command<'_>) -> Reply {
        if self.selected_app().is_none() {
            return Err(Sw::CONDITIONS_NOT_SATISFIED);
        }
        if !cmd.data.is_empty() {
            return Err(Sw::WRONG_LENGTH);
        }
        let tag = u32::from(cmd.p1p2());
        let value = match tag {
            0x9F36 => self.atc.to_be_bytes().to_vec(),
            // The terminal reads the try counter before offline PIN entry
            // (Book 3 10.5.1).
            0x9F17 => vec![self.pin_tries],
            0x9F13 => self.last_online_atc.to_be_bytes().to_vec(),
            0x9F4F => records::LOG_FORMAT.to_vec(),
            // PBOC electronic cash: n12 amounts (JR/T 0025).
            0x9F79 | 0x9F77 | 0x9F6D => {
                let purse = self.electronic_cash.ok_or(Sw::DATA_NOT_FOUND)?;
                let amount = match tag {
                    0x9F79 => purse.balance,
                    0x9F77 => purse.balance_limit,
                    _ => purse.reset_threshold,
                };
                poskit_emv::data::u64_to_bcd(amount, 6)
            }
            0x9F14 => self
                .put_data
                .get(&tag)
                .cloned()
                .unwrap_or_else(|| vec![self.profile.offline.consecutive_limit]),
            _ => self.put_data.get(&tag).cloned().ok_or(Sw::DATA_NOT_FOUND)?,
        };
        Ok(Answer::ok(tlv(tag, &value)))
    }

    pub(super) fn get_challenge(&mut self, cmd: &Command<'_>) -> Reply {
        if cmd.p1p2() != 0 {
            return Err(Sw::INCORRECT_P1_P2);
        }
        if !cmd.data.is_empty() || !matches!(cmd.le, None | Some(0) | Some(8)) {
            return Err(Sw::WRONG_LENGTH);
        }
        let challenge: [u8; 8] = self.random.next_bytes();
        // Valid for the next VERIFY only (Book 2 7.2).
        self.challenge = Some(challenge);
        Ok(Answer::ok(challenge.to_vec()))
    }
}
