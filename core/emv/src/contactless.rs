//! Contactless: the entry point (EMV Book B) with pre-processing, and three
//! kernels: Visa qVSDC (Book C-3), UnionPay QuickPass qPBOC (same shape,
//! with fDDA), and Mastercard M/Chip (Book C-2, with CDA).

use poskit_tlv::Tag;

use crate::apdu::{self, sw};
use crate::checks::{self, RiskInputs};
use crate::config::AidParams;
use crate::error::KernelError;
use crate::flow::OdaMethod;
use crate::kernel::{Awaiting, Kernel, Step};
use crate::outcome::{CryptogramType, Cvm, Decision};
use crate::select::{self, PPSE};
use crate::transaction::{Action, Message, PinKind, PinRequest};
use crate::tvr::{Tsi, TvrBit};

/// Book B kernel identifiers.
pub mod kernel_id {
    pub const MASTERCARD: u8 = 2;
    pub const VISA: u8 = 3;
    pub const UNIONPAY: u8 = 7;
}

/// TTQ byte 2 bits set by pre-processing (Book B 3.1.1).
const TTQ_ONLINE_CRYPTOGRAM_REQUIRED: u8 = 0x80;
const TTQ_CVM_REQUIRED: u8 = 0x40;

/// CTQ (9F6C) bits (Book C-3 Annex A).
const CTQ_ONLINE_PIN_REQUIRED: u8 = 0x80;
const CTQ_SIGNATURE_REQUIRED: u8 = 0x40;
const CTQ_GO_ONLINE_IF_ODA_FAILS: u8 = 0x20;
const CTQ_SWITCH_INTERFACE_IF_ODA_FAILS: u8 = 0x10;
const CTQ_CONSUMER_DEVICE_CVM_PERFORMED: u8 = 0x80;

/// What pre-processing found for one AID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PreProcessing {
    allowed: bool,
    online_required: bool,
    cvm_required: bool,
}

fn pre_process(aid: &AidParams, amount: u64) -> PreProcessing {
    let Some(limits) = aid.contactless else {
        return PreProcessing {
            allowed: false,
            online_required: false,
            cvm_required: false,
        };
    };
    PreProcessing {
        allowed: amount <= limits.transaction_limit,
        // A zero amount must go online too (Book B 3.1.1.6).
        online_required: amount > limits.floor_limit || amount == 0,
        cvm_required: amount >= limits.cvm_limit,
    }
}

impl Kernel {
    pub(crate) fn begin_contactless(&mut self) {
        let amount = self.txn.amount;
        let any = self.config.aids.iter().any(|a| pre_process(a, amount).allowed);
        if !any {
            // Over every contactless limit: the chip or stripe must be used.
            return self.finish(
                Decision::TryAnotherInterface,
                Some("amount above the contactless limit: insert or swipe the card".into()),
            );
        }
        self.transmit(apdu::select(PPSE, false), Step::SelectPpse);
    }

    pub(crate) fn contactless_response(
        &mut self,
        step: Step,
        data: &[u8],
        sw: u16,
    ) -> Result<(), KernelError> {
        match step {
            Step::SelectPpse => self.on_ppse(data, sw),
            Step::FinalSelect => self.cl_on_final_select(data, sw),
            Step::Gpo => self.cl_on_gpo(data, sw),
            Step::ReadRecord => self.on_record(data, sw),
            Step::GenerateAc => self.on_generate_ac(data, sw),
            _ => Err(KernelError::WrongState(
                "take this answer on the contactless interface",
            )),
        }
    }

    fn on_ppse(&mut self, data: &[u8], sw: u16) -> Result<(), KernelError> {
        let amount = self.txn.amount;
        let mut candidates = if sw == sw::OK {
            select::ppse_candidates(data, &self.config)?
        } else {
            Vec::new()
        };
        // Only AIDs pre-processing allows, and whose kernel the card names.
        candidates.retain(|c| {
            let params = &self.config.aids[c.aid_index];
            pre_process(params, amount).allowed && c.kernel_id.is_none_or(|k| k == params.kernel_id || k == 0)
        });
        if candidates.is_empty() {
            self.finish(
                Decision::TryAnotherInterface,
                Some("no contactless application accepted: insert or swipe the card".into()),
            );
            return Ok(());
        }
        select::order(&mut candidates);
        self.flow.candidates = candidates;
        let first = self.flow.candidates[0].clone();
        self.flow.selected = Some(first.clone());
        self.transmit(apdu::select(&first.aid, false), Step::FinalSelect);
        Ok(())
    }

    fn cl_on_final_select(&mut self, data: &[u8], sw: u16) -> Result<(), KernelError> {
        let selected = self
            .flow
            .selected
            .clone()
            .ok_or(KernelError::WrongState("finish selection"))?;
        let fci = match self.selected_fci(data, sw)? {
            Some(fci) => fci,
            None => {
                // Book B 3.3.3: try the next candidate.
                self.flow.candidates.retain(|c| c.aid != selected.aid);
                let Some(next) = self.flow.candidates.first().cloned() else {
                    self.finish(
                        Decision::TryAnotherInterface,
                        Some("the card's contactless application failed".into()),
                    );
                    return Ok(());
                };
                self.flow.selected = Some(next.clone());
                self.transmit(apdu::select(&next.aid, false), Step::FinalSelect);
                return Ok(());
            }
        };
        self.data.absorb(data, true)?;
        let params = self.selected_params().clone();
        let pre = pre_process(&params, self.txn.amount);
        let mut ttq = self.config.terminal.ttq;
        // An online-only terminal (or one whose risk control must see every
        // payment) asks the card for an online cryptogram whatever the
        // amount.
        if pre.online_required || self.txn.force_online {
            ttq[1] |= TTQ_ONLINE_CRYPTOGRAM_REQUIRED;
        }
        if pre.cvm_required {
            ttq[1] |= TTQ_CVM_REQUIRED;
        }
        self.data.set(Tag(0x9F66), ttq);
        self.data.set(Tag(0x9F06), params.aid.clone());
        self.data.set(Tag(0x9F09), params.app_version);
        let pdol = fci.pdol.unwrap_or_default();
        let needs_ttq = pdol.windows(2).any(|w| w == [0x9F, 0x66]);
        if matches!(params.kernel_id, kernel_id::VISA | kernel_id::UNIONPAY) && !needs_ttq {
            // qVSDC and qPBOC need the TTQ; without it the card would run
            // a magnetic-stripe profile this reader does not support.
            self.finish(
                Decision::TryAnotherInterface,
                Some("card does not support quick EMV contactless".into()),
            );
            return Ok(());
        }
        self.flow.pdol_data = self.dol_data(&pdol)?;
        let command = apdu::get_processing_options(&self.flow.pdol_data);
        self.transmit(command, Step::Gpo);
        Ok(())
    }

    fn cl_on_gpo(&mut self, data: &[u8], sw: u16) -> Result<(), KernelError> {
        match sw {
            sw::OK => {}
            // Visa: 6986 means the cardholder must act on the phone first.
            0x6986 => {
                self.finish(
                    Decision::SeePhone,
                    Some("see phone for instructions, then tap again".into()),
                );
                return Ok(());
            }
            _ => {
                self.finish(
                    Decision::TryAnotherInterface,
                    Some("the card refused the contactless transaction".into()),
                );
                return Ok(());
            }
        }
        self.absorb_gpo(data)?;
        self.flow.gpo_done = true;
        let afl = self.data.get(Tag(0x94)).map(<[u8]>::to_vec).unwrap_or_default();
        self.flow.afl = crate::afl::parse(&afl)?;
        self.flow.afl_entry = 0;
        self.flow.afl_record = self.flow.afl.first().map_or(0, |e| e.first);
        self.read_next_record()
    }

    pub(crate) fn cl_records_read(&mut self) -> Result<(), KernelError> {
        self.message(Message::RemoveCard);
        match self.selected_params().kernel_id {
            kernel_id::MASTERCARD => self.mastercard_after_records(),
            _ => self.quick_after_records(),
        }
    }

    // ---- Visa qVSDC and UnionPay qPBOC ----

    fn quick_after_records(&mut self) -> Result<(), KernelError> {
        let Some(cid) = self
            .data
            .byte(Tag(0x9F27))
            .or_else(|| self.data.contains(Tag(0x9F26)).then_some(0x80))
        else {
            // No cryptogram in the GPO answer: the card wants the full
            // contact flow.
            self.finish(
                Decision::TryAnotherInterface,
                Some("insert the card to complete the payment".into()),
            );
            return Ok(());
        };
        let kind =
            CryptogramType::from_cid(cid).ok_or(KernelError::CardData("reserved cryptogram type".into()))?;
        let ac = self
            .data
            .array::<8>(Tag(0x9F26))
            .ok_or(KernelError::MissingData(Tag(0x9F26)))?;
        self.flow.cryptogram = Some((kind, ac));
        self.tsi.set(Tsi::CARD_RISK_MANAGEMENT_PERFORMED);
        let ctq = self.data.array::<2>(Tag(0x9F6C)).unwrap_or([0, 0]);
        // The TVR stays as the card got it in the PDOL when the issuer
        // decides: its ARQC covers that value. Checks that change it are for
        // an offline approval only (Book C-3 5.3, 5.5).
        if kind == CryptogramType::Tc {
            self.processing_restrictions();
            // Offline approval needs fDDA (Book C-3 5.3) and a valid card.
            self.flow.oda = OdaMethod::Fdda;
            self.tsi.set(Tsi::ODA_PERFORMED);
            if let Err(e) = self.recover_icc_key().and_then(|_| self.check_fdda()) {
                self.oda_failed(&e);
            }
            let expired = self.tvr.is_set(TvrBit::EXPIRED_APPLICATION);
            if self.flow.oda_failed || expired {
                if ctq[0] & CTQ_SWITCH_INTERFACE_IF_ODA_FAILS != 0 {
                    self.finish(
                        Decision::TryAnotherInterface,
                        Some("card authentication failed: insert the card".into()),
                    );
                    return Ok(());
                }
                if ctq[0] & CTQ_GO_ONLINE_IF_ODA_FAILS == 0 || !self.online_capable() {
                    self.finish(
                        Decision::Declined,
                        Some("declined: the card could not be authenticated offline".into()),
                    );
                    return Ok(());
                }
            }
        }
        // Cardholder verification from the CTQ (Book C-3 5.4).
        let ttq = self.data.array::<4>(Tag(0x9F66)).unwrap_or([0; 4]);
        let cvm_required = ttq[1] & TTQ_CVM_REQUIRED != 0;
        if ctq[1] & CTQ_CONSUMER_DEVICE_CVM_PERFORMED != 0 {
            self.cvm = Cvm::ConsumerDevice;
            self.cvm_results = [0x01, 0x00, 0x02];
        } else if ctq[0] & CTQ_ONLINE_PIN_REQUIRED != 0 && kind == CryptogramType::Arqc {
            self.message(Message::EnterPin);
            let request = PinRequest {
                kind: PinKind::Online,
                tries_left: None,
            };
            self.ask(Action::NeedPin(request), Awaiting::Pin(PinKind::Online));
            return Ok(());
        } else if ctq[0] & CTQ_SIGNATURE_REQUIRED != 0 || cvm_required {
            self.cvm = Cvm::Signature;
            self.cvm_results = [0x1E, 0x00, 0x00];
        } else {
            self.cvm = Cvm::NoCvm;
            self.cvm_results = [0x1F, 0x00, 0x02];
        }
        self.cl_after_cvm()
    }

    /// After cardholder verification: decide on the card's cryptogram.
    pub(crate) fn cl_after_cvm(&mut self) -> Result<(), KernelError> {
        if self.selected_params().kernel_id == kernel_id::MASTERCARD {
            return self.mastercard_generate_ac();
        }
        match self.flow.cryptogram.map(|(k, _)| k) {
            Some(CryptogramType::Tc) if !self.flow.oda_failed => self.finish(Decision::Approved, None),
            Some(CryptogramType::Aac) => self.finish(Decision::Declined, Some("declined by the card".into())),
            _ => self.go_online(),
        }
        Ok(())
    }

    // ---- Mastercard M/Chip ----

    fn mastercard_after_records(&mut self) -> Result<(), KernelError> {
        for tag in [0x5F24, 0x5A, 0x8C] {
            self.data.require(Tag(tag))?;
        }
        let aip = self.aip();
        let caps = self.config.terminal.capabilities[2];
        self.flow.oda = if aip[0] & 0x01 != 0 && caps & 0x08 != 0 {
            OdaMethod::Cda
        } else {
            OdaMethod::None
        };
        if self.flow.oda == OdaMethod::Cda {
            self.tsi.set(Tsi::ODA_PERFORMED);
            if let Err(e) = self.recover_icc_key() {
                self.oda_failed(&e);
            }
        } else {
            self.tvr.set(TvrBit::ODA_NOT_PERFORMED);
        }
        self.processing_restrictions();
        let params = self.selected_params().clone();
        let cvm_required = pre_process(&params, self.txn.amount).cvm_required;
        if !cvm_required {
            // Under the CVM limit: no CVM (Book C-2 3.9).
            self.cvm = Cvm::NoCvm;
            self.cvm_results = [0x3F, 0x00, 0x02];
            return self.cl_after_cvm();
        }
        if aip[0] & 0x02 != 0 && self.config.terminal.ttq[0] & 0x40 != 0 {
            // On-device cardholder verification supported by both.
            self.cvm = Cvm::ConsumerDevice;
            self.cvm_results = [0x01, 0x00, 0x02];
            return self.cl_after_cvm();
        }
        self.begin_cvm()
    }

    fn mastercard_generate_ac(&mut self) -> Result<(), KernelError> {
        let mut params = self.selected_params().clone();
        if let Some(limits) = params.contactless {
            params.floor_limit = limits.floor_limit.saturating_add(1);
        }
        let pan = self
            .data
            .get(Tag(0x5A))
            .and_then(crate::data::cn_digits)
            .unwrap_or_default();
        let inputs = RiskInputs {
            aid: &params,
            amount: self.txn.amount,
            random: 99,
            on_exception_list: self.config.on_exception_list(&pan),
            lower_offline_limit: None,
            upper_offline_limit: None,
            atc: None,
            last_online_atc: None,
        };
        checks::terminal_risk_management(&inputs, &mut self.tvr);
        self.tsi.set(Tsi::TERMINAL_RISK_MANAGEMENT_PERFORMED);
        let requested = checks::terminal_action_analysis(
            &self.tvr,
            &self.issuer_action_codes(),
            &params,
            self.online_capable(),
            self.txn.force_online,
        );
        let cdol1 = self.data.require(Tag(0x8C))?.to_vec();
        self.send_generate_ac(requested, &cdol1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ContactlessLimits;

    #[test]
    fn pre_processing_limits() {
        let mut aid = AidParams {
            aid: vec![0xA0, 0, 0, 0, 3, 0x10, 0x10],
            name: String::new(),
            partial_selection: false,
            app_version: [0, 0],
            tac_default: [0; 5],
            tac_denial: [0; 5],
            tac_online: [0; 5],
            floor_limit: 0,
            target_percent: 0,
            max_target_percent: 0,
            threshold: 0,
            default_ddol: vec![],
            default_tdol: vec![],
            contactless: Some(ContactlessLimits {
                transaction_limit: 100000,
                floor_limit: 30000,
                cvm_limit: 30000,
            }),
            kernel_id: 3,
        };
        let p = pre_process(&aid, 2000);
        assert!(p.allowed && !p.online_required && !p.cvm_required);
        let p = pre_process(&aid, 50000);
        assert!(p.allowed && p.online_required && p.cvm_required);
        assert!(!pre_process(&aid, 100001).allowed);
        assert!(pre_process(&aid, 0).online_required);
        aid.contactless = None;
        assert!(!pre_process(&aid, 1).allowed);
    }
}
