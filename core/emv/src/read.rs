//! Reading a card without a transaction ([`Kernel::start_card_read`]):
//! what field engineers and `posctl card read` need. Lenient where the
//! transaction flow is strict: a recorded session (answered by command
//! header only) or an odd card should still yield its PAN and expiry.
//!
//! [`Kernel::start_card_read`]: crate::Kernel::start_card_read

use poskit_tlv::Tag;

use crate::apdu::{self, sw};
use crate::error::KernelError;
use crate::kernel::{Kernel, Step};
use crate::outcome::Decision;
use crate::select::{self, AppFci, Candidate, PSE};

/// What a SELECT answer turned out to be, whatever was asked for.
enum Selected {
    /// A directory (PPSE): its entries.
    Directory(Vec<Candidate>),
    /// A payment system environment: the SFI of its directory.
    Pse(u8),
    /// An application the terminal knows.
    Application(AppFci, Candidate),
    Nothing,
}

impl Kernel {
    fn interpret_select(&self, data: &[u8], sw: u16) -> Selected {
        // 62xx warnings still come with the FCI; 6283 (blocked) does not count.
        let answered = sw == sw::OK || (sw >> 8 == 0x62 && sw != sw::SELECTED_FILE_INVALIDATED);
        if !answered {
            return Selected::Nothing;
        }
        if let Ok(found) = select::ppse_candidates(data, &self.config)
            && !found.is_empty()
        {
            return Selected::Directory(found);
        }
        if let Ok(sfi) = select::pse_directory_sfi(data) {
            return Selected::Pse(sfi);
        }
        if let Ok(fci) = select::parse_app_fci(data)
            && let Some(index) = select::matching_aid(&self.config, &fci.df_name)
        {
            let candidate = select::candidate_from_fci(&fci, index, &self.config.aids[index]);
            return Selected::Application(fci, candidate);
        }
        Selected::Nothing
    }

    pub(crate) fn read_response(&mut self, step: Step, data: &[u8], sw: u16) -> Result<(), KernelError> {
        match step {
            Step::SelectPpse | Step::SelectPse | Step::SelectFromList | Step::FinalSelect => {
                self.read_on_select(step, data, sw)
            }
            Step::PseRecord => {
                let found = (sw == sw::OK)
                    .then(|| select::pse_record_candidates(data, &self.config).ok())
                    .flatten();
                match found {
                    Some(found) => {
                        self.flow.candidates.extend(found);
                        self.flow.pse_record = self.flow.pse_record.saturating_add(1);
                        let (sfi, rec) = (self.flow.pse_sfi, self.flow.pse_record);
                        self.transmit(apdu::read_record(sfi, rec), Step::PseRecord);
                    }
                    None => self.read_next_candidate(),
                }
                Ok(())
            }
            Step::Gpo => self.read_on_gpo(data, sw),
            Step::ReadRecord => {
                // Unreadable or odd records are skipped, not fatal.
                if sw == sw::OK && matches!(data.first(), Some(0x70 | 0x77)) {
                    let _ = self.data.absorb(data, true);
                }
                self.flow.afl_record = self.flow.afl_record.saturating_add(1);
                self.read_next_record()
            }
            _ => Err(KernelError::WrongState("take this answer while reading a card")),
        }
    }

    fn read_on_select(&mut self, step: Step, data: &[u8], sw: u16) -> Result<(), KernelError> {
        match self.interpret_select(data, sw) {
            Selected::Application(fci, candidate) => {
                if self.flow.all_candidates.is_empty() {
                    self.flow.all_candidates.push(candidate.clone());
                }
                self.flow.selected = Some(candidate);
                self.data.absorb(data, true)?;
                self.flow.pdol_data = self.dol_data(&fci.pdol.unwrap_or_default())?;
                let command = apdu::get_processing_options(&self.flow.pdol_data);
                self.transmit(command, Step::Gpo);
            }
            Selected::Directory(found) if step != Step::FinalSelect => {
                self.flow.candidates = found;
                select::order(&mut self.flow.candidates);
                self.flow.all_candidates.clone_from(&self.flow.candidates);
                self.read_next_candidate();
            }
            Selected::Pse(sfi) if step != Step::FinalSelect => {
                self.flow.pse_sfi = sfi;
                self.flow.pse_record = 1;
                self.transmit(apdu::read_record(sfi, 1), Step::PseRecord);
            }
            _ => match step {
                Step::SelectPpse => self.transmit(apdu::select(PSE, false), Step::SelectPse),
                Step::FinalSelect => self.read_next_candidate(),
                Step::SelectFromList => {
                    self.flow.list_index += 1;
                    self.read_from_list();
                }
                _ => {
                    self.flow.list_index = 0;
                    self.read_from_list();
                }
            },
        }
        Ok(())
    }

    /// Selects the next directory candidate, or falls back to the list of AIDs.
    fn read_next_candidate(&mut self) {
        if self.flow.candidates.is_empty() {
            self.flow.list_index = 0;
            return self.read_from_list();
        }
        let next = self.flow.candidates.remove(0);
        self.transmit(apdu::select(&next.aid, false), Step::FinalSelect);
    }

    fn read_from_list(&mut self) {
        match self.config.aids.get(self.flow.list_index) {
            Some(entry) => {
                let command = apdu::select(&entry.aid, false);
                self.transmit(command, Step::SelectFromList);
            }
            None => self.finish(
                Decision::NotAccepted,
                Some("no payment application found on the card".into()),
            ),
        }
    }

    fn read_on_gpo(&mut self, data: &[u8], sw: u16) -> Result<(), KernelError> {
        if sw != sw::OK {
            if !self.flow.gpo_retried {
                // A card that refuses the PDOL data may still answer with none.
                self.flow.gpo_retried = true;
                self.flow.pdol_data.clear();
                self.transmit(apdu::get_processing_options(&[]), Step::Gpo);
                return Ok(());
            }
            return Err(KernelError::CardProtocol(
                "the card refused GET PROCESSING OPTIONS",
            ));
        }
        match poskit_tlv::parse(data)?.as_slice() {
            [t] if t.tag() == Tag(0x80) && t.value().len() >= 2 => {
                self.data.set(Tag(0x82), t.value()[..2].to_vec());
                self.data.set(Tag(0x94), t.value()[2..].to_vec());
            }
            [t] if matches!(t.tag().0, 0x77 | 0x70) => self.data.absorb(data, true)?,
            _ => {
                return Err(KernelError::CardData(
                    "GET PROCESSING OPTIONS answer is not understood".into(),
                ));
            }
        }
        self.flow.gpo_done = true;
        let afl = self.data.get(Tag(0x94)).map(<[u8]>::to_vec).unwrap_or_default();
        // An AFL that breaks the rules is read as far as it makes sense.
        self.flow.afl = crate::afl::parse(&afl).unwrap_or_default();
        self.flow.afl_entry = 0;
        self.flow.afl_record = self.flow.afl.first().map_or(0, |e| e.first);
        self.read_next_record()
    }

    /// All records read: done if the card gave a PAN.
    pub(crate) fn read_done(&mut self) -> Result<(), KernelError> {
        if self.cardholder_data().is_none() {
            return Err(KernelError::CardData(
                "the card gave no PAN (5A, 57 or 9F6B)".into(),
            ));
        }
        self.finish(Decision::CardRead, None);
        Ok(())
    }
}
