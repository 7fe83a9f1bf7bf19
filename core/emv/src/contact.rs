//! The contact flow (EMV Book 3 section 10): application selection, GPO,
//! records, offline data authentication, restrictions, cardholder
//! verification, risk management, action analysis, GENERATE AC, online
//! processing, issuer authentication and scripts.

use poskit_tlv::Tag;

use crate::apdu::{self, sw};
use crate::authentication::plaintext_pin_block;
use crate::checks::{self, IssuerActionCodes, Restrictions, RiskInputs};
use crate::cvm::{self, CvmList, Method, Situation};
use crate::error::KernelError;
use crate::flow::{OdaMethod, ScriptCommand};
use crate::kernel::{Awaiting, Kernel, Step};
use crate::outcome::{CryptogramType, Cvm, Decision};
use crate::select::{self, PSE};
use crate::transaction::{Action, Message, OnlineRequest, OnlineResponse, PinEntry, PinKind, PinRequest};
use crate::tvr::{Tsi, TvrBit};

/// A card answering SELECT next with the same application forever must not
/// keep the kernel looping (Book 1 12.3.3 has no bound of its own).
const MAX_OCCURRENCES: usize = 16;

impl Kernel {
    pub(crate) fn begin_contact(&mut self) {
        self.message(Message::Processing);
        self.transmit(apdu::select(PSE, false), Step::SelectPse);
    }

    pub(crate) fn contact_response(&mut self, step: Step, data: &[u8], sw: u16) -> Result<(), KernelError> {
        match step {
            Step::SelectPse => self.on_select_pse(data, sw),
            Step::PseRecord => self.on_pse_record(data, sw),
            Step::SelectFromList => self.on_list_select(data, sw),
            Step::FinalSelect => self.on_final_select(data, sw),
            Step::Gpo => self.on_gpo(data, sw),
            Step::ReadRecord => self.on_record(data, sw),
            Step::InternalAuthenticate => self.on_internal_authenticate(data, sw),
            Step::GetPinTryCounter => self.on_pin_try_counter(data, sw),
            Step::GetChallenge => self.on_challenge(data, sw),
            Step::Verify => self.on_verify(sw),
            Step::GetAtc => self.on_velocity_data(data, sw, Tag(0x9F36)),
            Step::GetLastOnlineAtc => self.on_velocity_data(data, sw, Tag(0x9F13)),
            Step::GenerateAc => self.on_generate_ac(data, sw),
            Step::ExternalAuthenticate => self.on_external_authenticate(sw),
            Step::Script => self.on_script_response(sw),
            Step::SelectPpse => Err(KernelError::WrongState(
                "take a PPSE answer in a contact transaction",
            )),
        }
    }

    // ---- Application selection (Book 1 section 12) ----

    fn on_select_pse(&mut self, data: &[u8], sw: u16) -> Result<(), KernelError> {
        if sw == sw::FUNCTION_NOT_SUPPORTED {
            // 6A81 on SELECT: the card is blocked or has no EMV support.
            self.finish(
                Decision::Terminated,
                Some("card blocked: the card refuses SELECT".into()),
            );
            return Ok(());
        }
        match (sw, select::pse_directory_sfi(data)) {
            (sw::OK, Ok(sfi)) => {
                self.flow.pse_sfi = sfi;
                self.flow.pse_record = 1;
                self.transmit(apdu::read_record(sfi, 1), Step::PseRecord);
            }
            _ => self.start_list_of_aids(),
        }
        Ok(())
    }

    fn on_pse_record(&mut self, data: &[u8], sw: u16) -> Result<(), KernelError> {
        match sw {
            sw::OK => match select::pse_record_candidates(data, &self.config) {
                Ok(found) => {
                    self.flow.candidates.extend(found);
                    self.flow.pse_record = self.flow.pse_record.wrapping_add(1);
                    if self.flow.pse_record == 0 {
                        return Err(KernelError::CardData("PSE directory never ends".into()));
                    }
                    let (sfi, rec) = (self.flow.pse_sfi, self.flow.pse_record);
                    self.transmit(apdu::read_record(sfi, rec), Step::PseRecord);
                }
                // A broken directory: use the list of AIDs instead (Book 1 12.3.2).
                Err(_) => self.start_list_of_aids(),
            },
            sw::RECORD_NOT_FOUND if !self.flow.candidates.is_empty() => self.choose_application(),
            _ => self.start_list_of_aids(),
        }
        Ok(())
    }

    fn start_list_of_aids(&mut self) {
        self.flow.candidates.clear();
        self.flow.list_index = 0;
        self.flow.list_next = false;
        self.select_from_list();
    }

    fn select_from_list(&mut self) {
        let Some(entry) = self.config.aids.get(self.flow.list_index) else {
            return self.choose_application();
        };
        let command = apdu::select(&entry.aid, self.flow.list_next);
        self.transmit(command, Step::SelectFromList);
    }

    fn on_list_select(&mut self, data: &[u8], sw: u16) -> Result<(), KernelError> {
        if sw == sw::FUNCTION_NOT_SUPPORTED && !self.flow.list_next {
            self.finish(
                Decision::Terminated,
                Some("card blocked: the card refuses SELECT".into()),
            );
            return Ok(());
        }
        let index = self.flow.list_index;
        let params = self.config.aids[index].clone();
        let answered = sw == sw::OK || sw == sw::SELECTED_FILE_INVALIDATED;
        if answered && let Ok(fci) = select::parse_app_fci(data) {
            let exact = fci.df_name == params.aid;
            let partial = params.partial_selection && fci.df_name.starts_with(&params.aid);
            // 6283: the application is blocked and is not a candidate.
            if sw == sw::OK && (exact || partial) {
                self.flow
                    .candidates
                    .push(select::candidate_from_fci(&fci, index, &params));
            }
            let occurrences = self
                .flow
                .candidates
                .iter()
                .filter(|c| c.aid_index == index)
                .count();
            if params.partial_selection && occurrences < MAX_OCCURRENCES {
                self.flow.list_next = true;
                self.select_from_list();
                return Ok(());
            }
        }
        self.flow.list_index += 1;
        self.flow.list_next = false;
        self.select_from_list();
        Ok(())
    }

    /// Book 1 12.4: order by priority; let the cardholder choose when
    /// there are several or confirmation is required.
    pub(crate) fn choose_application(&mut self) {
        select::order(&mut self.flow.candidates);
        if self.flow.all_candidates.is_empty() {
            self.flow.all_candidates.clone_from(&self.flow.candidates);
        }
        if self.flow.candidates.is_empty() {
            self.finish(
                Decision::NotAccepted,
                Some("no application on the card is accepted here".into()),
            );
        } else if select::needs_cardholder(&self.flow.candidates) {
            let candidates = self.flow.candidates.clone();
            self.ask(Action::SelectApplication(candidates), Awaiting::Application);
        } else {
            self.final_select(0);
        }
    }

    pub(crate) fn on_application_chosen(&mut self, index: usize) -> Result<(), KernelError> {
        if index >= self.flow.candidates.len() {
            return Err(KernelError::WrongState(
                "choose an application that was not offered",
            ));
        }
        self.final_select(index);
        Ok(())
    }

    fn final_select(&mut self, index: usize) {
        let candidate = self.flow.candidates[index].clone();
        let command = apdu::select(&candidate.aid, false);
        self.flow.selected = Some(candidate);
        self.transmit(command, Step::FinalSelect);
    }

    /// The selected application cannot be used: drop it and choose again.
    pub(crate) fn reselect(&mut self) {
        if let Some(selected) = self.flow.selected.take() {
            self.flow.candidates.retain(|c| c.aid != selected.aid);
        }
        self.message(Message::TryAgain);
        self.choose_application();
    }

    /// The FCI of the application just selected, when the card answered
    /// with it (Book 1 12.4: the DF name must be the AID selected).
    pub(crate) fn selected_fci(&self, data: &[u8], sw: u16) -> Result<Option<select::AppFci>, KernelError> {
        let selected = self
            .flow
            .selected
            .as_ref()
            .ok_or(KernelError::WrongState("finish selection"))?;
        Ok(match (sw, select::parse_app_fci(data)) {
            (sw::OK, Ok(fci)) if fci.df_name == selected.aid => Some(fci),
            _ => None,
        })
    }

    fn on_final_select(&mut self, data: &[u8], sw: u16) -> Result<(), KernelError> {
        let Some(fci) = self.selected_fci(data, sw)? else {
            self.reselect();
            return Ok(());
        };
        let selected = self
            .flow
            .selected
            .clone()
            .ok_or(KernelError::WrongState("finish selection"))?;
        self.data.absorb(data, true)?;
        let params = &self.config.aids[selected.aid_index];
        self.data.set(Tag(0x9F06), params.aid.clone());
        self.data.set(Tag(0x9F09), params.app_version);
        let pdol = fci.pdol.unwrap_or_default();
        self.flow.pdol_data = self.dol_data(&pdol)?;
        let command = apdu::get_processing_options(&self.flow.pdol_data);
        self.transmit(command, Step::Gpo);
        Ok(())
    }

    // ---- Initiate application processing and read data (Book 3 10.1, 10.2) ----

    fn on_gpo(&mut self, data: &[u8], sw: u16) -> Result<(), KernelError> {
        if sw == sw::CONDITIONS_NOT_SATISFIED {
            // Book 3 10.1: this application cannot do this transaction.
            self.reselect();
            return Ok(());
        }
        if sw != sw::OK {
            return Err(KernelError::CardProtocol("GET PROCESSING OPTIONS was refused"));
        }
        self.absorb_gpo(data)?;
        self.flow.gpo_done = true;
        let afl = self.data.require(Tag(0x94))?.to_vec();
        self.flow.afl = crate::afl::parse(&afl)?;
        self.flow.afl_entry = 0;
        self.flow.afl_record = self.flow.afl.first().map_or(0, |e| e.first);
        self.read_next_record()
    }

    /// Format 1 (80: AIP then AFL) or format 2 (77 with 82 and 94).
    pub(crate) fn absorb_gpo(&mut self, data: &[u8]) -> Result<(), KernelError> {
        let top = poskit_tlv::parse(data)?;
        match top.as_slice() {
            [t] if t.tag() == Tag(0x80) => {
                let v = t.value();
                if v.len() < 2 || (v.len() - 2) % 4 != 0 {
                    return Err(KernelError::CardData("GPO response format 1 is malformed".into()));
                }
                self.data.set(Tag(0x82), v[..2].to_vec());
                self.data.set(Tag(0x94), v[2..].to_vec());
            }
            [t] if t.tag() == Tag(0x77) => self.data.absorb(t.value(), false)?,
            _ => {
                return Err(KernelError::CardData(
                    "GPO response is neither format 1 nor 2".into(),
                ));
            }
        }
        if self.data.get(Tag(0x82)).is_none_or(|a| a.len() != 2) {
            return Err(KernelError::MissingData(Tag(0x82)));
        }
        Ok(())
    }

    pub(crate) fn read_next_record(&mut self) -> Result<(), KernelError> {
        while let Some(entry) = self.flow.afl.get(self.flow.afl_entry).copied() {
            if self.flow.afl_record <= entry.last && self.flow.afl_record >= entry.first {
                let command = apdu::read_record(entry.sfi, self.flow.afl_record);
                self.transmit(command, Step::ReadRecord);
                return Ok(());
            }
            self.flow.afl_entry += 1;
            self.flow.afl_record = self.flow.afl.get(self.flow.afl_entry).map_or(0, |e| e.first);
        }
        self.records_read()
    }

    /// Stores a record's data; keeps it for ODA when the AFL says so.
    pub(crate) fn take_record(&mut self, data: &[u8], sw: u16) -> Result<(), KernelError> {
        if sw != sw::OK {
            return Err(KernelError::CardProtocol(
                "READ RECORD failed for a record the AFL lists",
            ));
        }
        let entry = self.flow.afl[self.flow.afl_entry];
        let is_template = data.first() == Some(&0x70) && poskit_tlv::parse(data).is_ok_and(|t| t.len() == 1);
        if entry.sfi <= 10 && !is_template {
            return Err(KernelError::CardData(
                "a record in SFI 1 to 10 is not template 70".into(),
            ));
        }
        if is_template {
            self.data.absorb(data, false)?;
        }
        if entry.is_for_oda(self.flow.afl_record) {
            if !is_template {
                self.flow.oda_records_bad = true;
            }
            self.flow.oda_records.push((entry.sfi, data.to_vec()));
        }
        self.flow.afl_record = self.flow.afl_record.wrapping_add(1);
        if self.flow.afl_record == 0 {
            self.flow.afl_entry += 1;
        }
        Ok(())
    }

    pub(crate) fn on_record(&mut self, data: &[u8], sw: u16) -> Result<(), KernelError> {
        self.take_record(data, sw)?;
        self.read_next_record()
    }

    fn records_read(&mut self) -> Result<(), KernelError> {
        if self.flow.read_only {
            return self.read_done();
        }
        if self.txn.interface == crate::transaction::Interface::Contactless {
            return self.cl_records_read();
        }
        // Book 3 7.2: mandatory data for every EMV application.
        for tag in [0x5F24, 0x5A, 0x8C, 0x8D] {
            self.data.require(Tag(tag))?;
        }
        self.begin_oda()
    }

    // ---- Offline data authentication (Book 3 10.3) ----

    fn begin_oda(&mut self) -> Result<(), KernelError> {
        let aip = self.aip();
        let caps = self.config.terminal.capabilities[2];
        self.flow.oda = if aip[0] & 0x01 != 0 && caps & 0x08 != 0 {
            OdaMethod::Cda
        } else if aip[0] & 0x20 != 0 && caps & 0x40 != 0 {
            OdaMethod::Dda
        } else if aip[0] & 0x40 != 0 && caps & 0x80 != 0 {
            OdaMethod::Sda
        } else {
            OdaMethod::None
        };
        match self.flow.oda {
            OdaMethod::None => {
                self.tvr.set(TvrBit::ODA_NOT_PERFORMED);
                self.after_oda()
            }
            OdaMethod::Sda => {
                self.tvr.set(TvrBit::SDA_SELECTED);
                self.tsi.set(Tsi::ODA_PERFORMED);
                if let Err(e) = self.perform_sda() {
                    self.oda_failed(&e);
                }
                self.after_oda()
            }
            OdaMethod::Dda => {
                self.tsi.set(Tsi::ODA_PERFORMED);
                match self.recover_icc_key().and_then(|_| self.ddol_data()) {
                    Ok(ddol_data) => {
                        self.transmit(
                            apdu::internal_authenticate(&ddol_data),
                            Step::InternalAuthenticate,
                        );
                        self.flow.ddol_data = ddol_data;
                        Ok(())
                    }
                    Err(e) => {
                        self.oda_failed(&e);
                        self.after_oda()
                    }
                }
            }
            OdaMethod::Cda | OdaMethod::Fdda => {
                // Keys now; the signature comes with GENERATE AC.
                self.tsi.set(Tsi::ODA_PERFORMED);
                if let Err(e) = self.recover_icc_key() {
                    self.oda_failed(&e);
                }
                self.after_oda()
            }
        }
    }

    fn ddol_data(&mut self) -> Result<Vec<u8>, crate::oda::OdaError> {
        let ddol = match self.data.get(Tag(0x9F49)) {
            Some(d) => d.to_vec(),
            None => self.selected_params().default_ddol.clone(),
        };
        if ddol.is_empty() || !ddol.windows(2).any(|w| w == [0x9F, 0x37]) {
            // Book 3 10.3: the DDOL must ask for the unpredictable number.
            return Err(crate::oda::OdaError::MissingData(Tag(0x9F49)));
        }
        self.dol_data(&ddol)
            .map_err(|_| crate::oda::OdaError::MissingData(Tag(0x9F49)))
    }

    fn on_internal_authenticate(&mut self, data: &[u8], sw: u16) -> Result<(), KernelError> {
        let result = if sw == sw::OK {
            let ddol_data = std::mem::take(&mut self.flow.ddol_data);
            self.check_dda_response(data, &ddol_data)
        } else {
            Err(crate::oda::OdaError::Signature(
                "INTERNAL AUTHENTICATE was refused",
            ))
        };
        if let Err(e) = result {
            self.oda_failed(&e);
        }
        self.after_oda()
    }

    fn after_oda(&mut self) -> Result<(), KernelError> {
        self.processing_restrictions();
        self.begin_cvm()
    }

    // ---- Processing restrictions (Book 3 10.4) ----

    pub(crate) fn processing_restrictions(&mut self) {
        let params = self.selected_params().clone();
        let t = &self.config.terminal;
        let r = Restrictions {
            card_app_version: self.data.get(Tag(0x9F08)),
            terminal_app_version: params.app_version,
            usage_control: self.data.array(Tag(0x9F07)),
            issuer_country: self.data.array(Tag(0x5F28)),
            terminal_country: t.country_code,
            transaction_type: self.txn.transaction_type,
            is_atm: t.terminal_type & 0x0F == 4 && t.additional_capabilities[0] & 0x80 != 0,
            effective: self.data.array(Tag(0x5F25)),
            expiry: self.data.array(Tag(0x5F24)),
            today: self.txn.date,
        };
        checks::processing_restrictions(&r, &mut self.tvr);
    }

    // ---- Cardholder verification (Book 3 10.5) ----

    pub(crate) fn begin_cvm(&mut self) -> Result<(), KernelError> {
        if self.aip()[0] & 0x10 == 0 {
            self.cvm_results = cvm::NOT_PERFORMED;
            self.cvm = Cvm::NotPerformed;
            return self.after_cvm();
        }
        self.tsi.set(Tsi::CARDHOLDER_VERIFICATION_PERFORMED);
        let list = self.data.get(Tag(0x8E)).map(CvmList::parse);
        match list {
            Some(Ok(list)) if !list.rules.is_empty() => {
                self.flow.cvm_list = Some(list);
                self.flow.cvm_rule = 0;
                self.next_cvm_rule()
            }
            _ => {
                // Book 3 10.5: no usable CVM list.
                self.tvr.set(TvrBit::ICC_DATA_MISSING);
                self.cvm_results = cvm::NOT_PERFORMED;
                self.cvm = Cvm::NotPerformed;
                self.after_cvm()
            }
        }
    }

    fn cvm_situation(&self) -> Situation {
        Situation {
            transaction_type: self.txn.transaction_type,
            terminal_type: self.config.terminal.terminal_type,
            amount: self.txn.amount,
            in_application_currency: self.data.get(Tag(0x9F42))
                == Some(&self.config.terminal.currency_code[..]),
            capabilities: self.config.terminal.capabilities,
        }
    }

    fn current_rule(&self) -> Option<cvm::Rule> {
        self.flow
            .cvm_list
            .as_ref()?
            .rules
            .get(self.flow.cvm_rule)
            .copied()
    }

    pub(crate) fn next_cvm_rule(&mut self) -> Result<(), KernelError> {
        let situation = self.cvm_situation();
        let contactless = self.txn.interface == crate::transaction::Interface::Contactless;
        loop {
            let Some(list) = self.flow.cvm_list.clone() else {
                return self.after_cvm();
            };
            let Some(rule) = list.rules.get(self.flow.cvm_rule).copied() else {
                // No rule satisfied or every one failed (Book 3 10.5.5).
                self.tvr.set(TvrBit::CARDHOLDER_VERIFICATION_FAILED);
                self.cvm_results = [0x3F, 0x00, cvm::result::FAILED];
                self.cvm = Cvm::Failed;
                return self.after_cvm();
            };
            if !cvm::condition_met(&rule, &list, &situation) {
                self.flow.cvm_rule += 1;
                continue;
            }
            let method = rule.method();
            if let Method::Unrecognised(_) = method {
                self.tvr.set(TvrBit::UNRECOGNISED_CVM);
                return self.cvm_failed();
            }
            // Contactless readers take no offline PIN (Book C-2 3.9).
            let offline_pin = matches!(
                method,
                Method::PlaintextPinByIcc
                    | Method::PlaintextPinByIccAndSignature
                    | Method::EncipheredPinByIcc
                    | Method::EncipheredPinByIccAndSignature
            );
            if !method.supported_by(&self.config.terminal.capabilities) || (contactless && offline_pin) {
                return self.cvm_failed();
            }
            return match method {
                Method::Fail => self.cvm_failed(),
                Method::Signature => self.cvm_done(Cvm::Signature, cvm::result::UNKNOWN),
                Method::NoCvmRequired => self.cvm_done(Cvm::NoCvm, cvm::result::SUCCESSFUL),
                Method::EncipheredPinOnline => {
                    self.message(Message::EnterPin);
                    let request = PinRequest {
                        kind: PinKind::Online,
                        tries_left: None,
                    };
                    self.ask(Action::NeedPin(request), Awaiting::Pin(PinKind::Online));
                    Ok(())
                }
                _ => {
                    self.transmit(apdu::get_data(0x9F17), Step::GetPinTryCounter);
                    Ok(())
                }
            };
        }
    }

    fn cvm_done(&mut self, cvm: Cvm, result: u8) -> Result<(), KernelError> {
        self.cvm_results = match self.current_rule() {
            Some(rule) => rule.results(result),
            // Contactless Visa and qPBOC: the card asked through its CTQ.
            None => [0x02, 0x00, result],
        };
        self.cvm = cvm;
        self.after_cvm()
    }

    /// Cardholder verification is over; on to risk management.
    fn after_cvm(&mut self) -> Result<(), KernelError> {
        match self.txn.interface {
            crate::transaction::Interface::Contact => self.begin_risk_management(),
            crate::transaction::Interface::Contactless => self.cl_after_cvm(),
        }
    }

    /// This rule's method failed: the next rule if the rule allows it, else
    /// cardholder verification failed.
    fn cvm_failed(&mut self) -> Result<(), KernelError> {
        let Some(rule) = self.current_rule() else {
            self.tvr.set(TvrBit::CARDHOLDER_VERIFICATION_FAILED);
            self.cvm_results = [0x3F, 0x00, cvm::result::FAILED];
            self.cvm = Cvm::Failed;
            return self.after_cvm();
        };
        if rule.continue_on_failure() {
            self.flow.cvm_rule += 1;
            return self.next_cvm_rule();
        }
        self.tvr.set(TvrBit::CARDHOLDER_VERIFICATION_FAILED);
        self.cvm_results = rule.results(cvm::result::FAILED);
        self.cvm = Cvm::Failed;
        self.after_cvm()
    }

    fn offline_pin_kind(&self) -> PinKind {
        match self.current_rule().map(|r| r.method()) {
            Some(Method::EncipheredPinByIcc | Method::EncipheredPinByIccAndSignature) => {
                PinKind::OfflineEnciphered
            }
            _ => PinKind::OfflinePlaintext,
        }
    }

    fn on_pin_try_counter(&mut self, data: &[u8], sw: u16) -> Result<(), KernelError> {
        // GET DATA 9F17 is optional for the card (Book 3 10.5.1).
        let tries = (sw == sw::OK)
            .then(|| {
                poskit_tlv::find(data, Tag(0x9F17))
                    .ok()
                    .flatten()
                    .and_then(|t| t.value().first().copied())
            })
            .flatten();
        if tries == Some(0) {
            self.tvr.set(TvrBit::PIN_TRY_LIMIT_EXCEEDED);
            return self.cvm_failed();
        }
        self.flow.pin_tries = tries;
        self.request_offline_pin();
        Ok(())
    }

    fn request_offline_pin(&mut self) {
        let kind = self.offline_pin_kind();
        if self.flow.pin_tries == Some(1) {
            self.message(Message::LastPinTry);
        }
        self.message(Message::EnterPin);
        let request = PinRequest {
            kind,
            tries_left: self.flow.pin_tries,
        };
        self.ask(Action::NeedPin(request), Awaiting::Pin(kind));
    }

    pub(crate) fn on_pin(&mut self, entry: PinEntry) -> Result<(), KernelError> {
        let Awaiting::Pin(kind) = self.awaiting else {
            return Err(KernelError::WrongState("take a PIN"));
        };
        match (kind, entry) {
            (_, PinEntry::Bypassed) => {
                self.tvr.set(TvrBit::PIN_NOT_ENTERED);
                self.cvm_failed()
            }
            (_, PinEntry::PinPadUnavailable) => {
                self.tvr.set(TvrBit::PIN_PAD_NOT_WORKING);
                self.cvm_failed()
            }
            (PinKind::Online, PinEntry::Online) => {
                // Contactless (qVSDC, qPBOC): the card's cryptogram already
                // covers the TVR sent with GPO, and field 55 must carry that
                // same value; the online PIN shows in 9F34 instead.
                if self.txn.interface == crate::transaction::Interface::Contact {
                    self.tvr.set(TvrBit::ONLINE_PIN_ENTERED);
                }
                self.cvm_done(Cvm::OnlinePin, cvm::result::UNKNOWN)
            }
            (PinKind::OfflinePlaintext, PinEntry::Offline(pin)) => {
                let block = zeroize::Zeroizing::new(plaintext_pin_block(pin.expose_secret()));
                self.transmit(apdu::verify(0x80, &block), Step::Verify);
                Ok(())
            }
            (PinKind::OfflineEnciphered, PinEntry::Offline(pin)) => {
                self.flow.pin = Some(pin);
                self.transmit(apdu::get_challenge(), Step::GetChallenge);
                Ok(())
            }
            _ => Err(KernelError::WrongState("take this kind of PIN")),
        }
    }

    fn on_challenge(&mut self, data: &[u8], sw: u16) -> Result<(), KernelError> {
        let pin = self.flow.pin.take();
        let block = match (sw, pin) {
            (sw::OK, Some(pin)) if data.len() == 8 => self.enciphered_pin_block(pin.expose_secret(), data),
            _ => None,
        };
        match block {
            Some(block) => {
                self.transmit(apdu::verify(0x88, &block), Step::Verify);
                Ok(())
            }
            // No challenge or no key to encipher with: this CVM fails.
            None => self.cvm_failed(),
        }
    }

    fn on_verify(&mut self, sw: u16) -> Result<(), KernelError> {
        let response = apdu::Response { data: &[], sw };
        if sw == sw::OK {
            self.message(Message::PinOk);
            let cvm = match self.current_rule().map(|r| r.method()) {
                Some(Method::EncipheredPinByIcc) => Cvm::OfflineEncipheredPin,
                Some(Method::PlaintextPinByIccAndSignature | Method::EncipheredPinByIccAndSignature) => {
                    Cvm::OfflinePinAndSignature
                }
                _ => Cvm::OfflinePlaintextPin,
            };
            // With a signature as well, the result stays "unknown".
            let result = if cvm == Cvm::OfflinePinAndSignature {
                cvm::result::UNKNOWN
            } else {
                cvm::result::SUCCESSFUL
            };
            return self.cvm_done(cvm, result);
        }
        match response.pin_tries_left() {
            Some(tries) if tries > 0 => {
                self.message(Message::IncorrectPin);
                self.flow.pin_tries = Some(tries);
                self.request_offline_pin();
                Ok(())
            }
            _ if sw == sw::AUTH_METHOD_BLOCKED || sw == 0x6984 || response.pin_tries_left() == Some(0) => {
                self.tvr.set(TvrBit::PIN_TRY_LIMIT_EXCEEDED);
                self.cvm_failed()
            }
            _ => self.cvm_failed(),
        }
    }

    // ---- Terminal risk management (Book 3 10.6) ----

    fn begin_risk_management(&mut self) -> Result<(), KernelError> {
        self.tsi.set(Tsi::TERMINAL_RISK_MANAGEMENT_PERFORMED);
        let velocity = self.data.contains(Tag(0x9F14)) && self.data.contains(Tag(0x9F23));
        if velocity {
            self.transmit(apdu::get_data(0x9F36), Step::GetAtc);
            return Ok(());
        }
        self.risk_management_done()
    }

    fn on_velocity_data(&mut self, data: &[u8], sw: u16, tag: Tag) -> Result<(), KernelError> {
        let value = (sw == sw::OK)
            .then(|| {
                poskit_tlv::find(data, tag)
                    .ok()
                    .flatten()
                    .and_then(|t| <[u8; 2]>::try_from(t.value()).ok())
            })
            .flatten()
            .map(u16::from_be_bytes);
        if tag == Tag(0x9F36) {
            self.flow.atc = value;
            self.transmit(apdu::get_data(0x9F13), Step::GetLastOnlineAtc);
            return Ok(());
        }
        self.flow.last_online_atc = value;
        self.risk_management_done()
    }

    fn risk_management_done(&mut self) -> Result<(), KernelError> {
        let params = self.selected_params().clone();
        let pan = self
            .data
            .get(Tag(0x5A))
            .and_then(crate::data::cn_digits)
            .unwrap_or_default();
        let inputs = RiskInputs {
            aid: &params,
            amount: self.txn.amount,
            random: self.txn.random_selection,
            on_exception_list: self.config.on_exception_list(&pan),
            lower_offline_limit: self.data.byte(Tag(0x9F14)),
            upper_offline_limit: self.data.byte(Tag(0x9F23)),
            atc: self.flow.atc,
            last_online_atc: self.flow.last_online_atc,
        };
        checks::terminal_risk_management(&inputs, &mut self.tvr);
        if self.txn.force_online {
            self.tvr.set(TvrBit::MERCHANT_FORCED_ONLINE);
        }
        self.first_generate_ac()
    }

    // ---- Terminal action analysis and the first GENERATE AC (Book 3 10.7, 10.8) ----

    pub(crate) fn issuer_action_codes(&self) -> IssuerActionCodes {
        IssuerActionCodes::new(
            self.data.array(Tag(0x9F0D)),
            self.data.array(Tag(0x9F0E)),
            self.data.array(Tag(0x9F0F)),
        )
    }

    pub(crate) fn online_capable(&self) -> bool {
        matches!(self.config.terminal.terminal_type & 0x0F, 1 | 2 | 4 | 5)
    }

    fn first_generate_ac(&mut self) -> Result<(), KernelError> {
        let params = self.selected_params().clone();
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

    pub(crate) fn send_generate_ac(
        &mut self,
        requested: CryptogramType,
        cdol: &[u8],
    ) -> Result<(), KernelError> {
        self.flow.requested = Some(requested);
        self.flow.cdol_data = self.dol_data(cdol)?;
        if !self.flow.second_ac {
            self.flow.cdol1_data.clone_from(&self.flow.cdol_data);
        }
        let mut p1 = requested.p1();
        if self.cda_active() && requested != CryptogramType::Aac {
            p1 |= 0x10;
        }
        let command = apdu::generate_ac(p1, &self.flow.cdol_data);
        self.transmit(command, Step::GenerateAc);
        Ok(())
    }

    pub(crate) fn cda_active(&self) -> bool {
        self.flow.oda == OdaMethod::Cda && !self.flow.oda_failed
    }

    /// Reads a GENERATE AC response (format 1 or 2) into the data store and
    /// returns the cryptogram type and value.
    /// The cryptogram is absent from a CDA answer: it is inside the signature.
    pub(crate) fn absorb_generate_ac(
        &mut self,
        data: &[u8],
    ) -> Result<(CryptogramType, Option<[u8; 8]>), KernelError> {
        let top = poskit_tlv::parse(data)?;
        match top.as_slice() {
            [t] if t.tag() == Tag(0x80) => {
                let v = t.value();
                if v.len() < 11 || v.len() > 43 {
                    return Err(KernelError::CardData(
                        "GENERATE AC format 1 response is malformed".into(),
                    ));
                }
                self.data.set(Tag(0x9F27), [v[0]]);
                self.data.set(Tag(0x9F36), v[1..3].to_vec());
                self.data.set(Tag(0x9F26), v[3..11].to_vec());
                if v.len() > 11 {
                    self.data.set(Tag(0x9F10), v[11..].to_vec());
                }
            }
            [t] if t.tag() == Tag(0x77) => self.data.absorb(t.value(), true)?,
            _ => {
                return Err(KernelError::CardData(
                    "GENERATE AC response is neither format 1 nor 2".into(),
                ));
            }
        }
        let cid = self
            .data
            .byte(Tag(0x9F27))
            .ok_or(KernelError::MissingData(Tag(0x9F27)))?;
        let kind = CryptogramType::from_cid(cid).ok_or(KernelError::CardData(
            "cryptogram information data has a reserved type".into(),
        ))?;
        let ac = self.data.array::<8>(Tag(0x9F26));
        if ac.is_none() && !self.data.contains(Tag(0x9F4B)) {
            return Err(KernelError::MissingData(Tag(0x9F26)));
        }
        if self.data.get(Tag(0x9F36)).is_none_or(|a| a.len() != 2) {
            return Err(KernelError::MissingData(Tag(0x9F36)));
        }
        Ok((kind, ac))
    }

    pub(crate) fn on_generate_ac(&mut self, data: &[u8], sw: u16) -> Result<(), KernelError> {
        if sw != sw::OK {
            return Err(KernelError::CardProtocol("GENERATE AC was refused"));
        }
        // A stale 9F26 or 9F4B from the first GENERATE AC must not stand in.
        self.data.remove(Tag(0x9F26));
        self.data.remove(Tag(0x9F4B));
        let (mut kind, mut ac) = self.absorb_generate_ac(data)?;
        let requested = self.flow.requested.unwrap_or(CryptogramType::Aac);
        let allowed = match requested {
            CryptogramType::Aac => kind == CryptogramType::Aac,
            CryptogramType::Arqc => kind != CryptogramType::Tc,
            CryptogramType::Tc => true,
        };
        if !allowed {
            return Err(KernelError::CardProtocol(
                "the card returned a cryptogram above the one requested",
            ));
        }
        if self.cda_active() && requested != CryptogramType::Aac && kind != CryptogramType::Aac {
            match self.check_cda(data) {
                Ok(signed) => ac = Some(signed),
                Err(e) => {
                    // Book 2 6.6.2: a failed CDA signature means decline.
                    self.oda_failed(&e);
                    kind = CryptogramType::Aac;
                }
            }
        }
        self.tsi.set(Tsi::CARD_RISK_MANAGEMENT_PERFORMED);
        self.flow.cryptogram = Some((kind, ac.unwrap_or_default()));
        if self.flow.second_ac {
            return self.after_second_generate_ac(kind);
        }
        match kind {
            CryptogramType::Aac => {
                let reason = if self.tvr.is_set(TvrBit::CDA_FAILED) {
                    "declined: the card's signature did not verify"
                } else {
                    "declined by the card"
                };
                self.finish(Decision::Declined, Some(reason.into()));
            }
            CryptogramType::Tc => self.finish(Decision::Approved, None),
            CryptogramType::Arqc => self.go_online(),
        }
        Ok(())
    }

    pub(crate) fn go_online(&mut self) {
        self.flow.went_online = true;
        self.sync_status();
        let request = OnlineRequest {
            field55: crate::outcome::field55(&self.data),
            card: self.cardholder_data().unwrap_or_default(),
            online_pin: self.cvm == Cvm::OnlinePin,
        };
        self.message(Message::Processing);
        self.ask(Action::NeedOnlineAuthorisation(request), Awaiting::Online);
    }

    // ---- Online processing, issuer authentication, scripts, completion (Book 3 10.9-10.11) ----

    pub(crate) fn on_online(&mut self, response: OnlineResponse) -> Result<(), KernelError> {
        if self.txn.interface == crate::transaction::Interface::Contactless {
            let approved = response.approved && !response.unreachable;
            self.flow.online = Some(response);
            self.finish(
                Decision::OnlineCompleted { approved },
                (!approved).then(|| "declined by the issuer".into()),
            );
            return Ok(());
        }
        let code = if response.unreachable {
            // Book 4 Annex A: Y3/Z3 when the terminal could not go online;
            // decided below by the default action codes.
            match checks::default_action(&self.tvr, &self.issuer_action_codes(), self.selected_params()) {
                CryptogramType::Tc => *b"Y3",
                _ => *b"Z3",
            }
        } else {
            response.response_code
        };
        self.data.set(Tag(0x8A), code);
        if let Some(iad) = &response.issuer_authentication_data {
            self.data.set(Tag(0x91), iad.clone());
        }
        self.flow.scripts = parse_scripts(&response.issuer_scripts, &mut self.flow.script_results);
        if self.flow.scripts.iter().any(|s| s.command.is_empty()) {
            self.flow.scripts.clear();
            self.tvr.set(TvrBit::SCRIPT_FAILED_BEFORE_FINAL_AC);
        }
        let wants_external_auth = response.issuer_authentication_data.is_some()
            && !response.unreachable
            && self.aip()[0] & 0x04 != 0
            && !self.cdol2_has_issuer_authentication_data();
        self.flow.online = Some(response);
        if wants_external_auth {
            let iad = self.data.require(Tag(0x91))?.to_vec();
            self.tsi.set(Tsi::ISSUER_AUTHENTICATION_PERFORMED);
            self.transmit(apdu::external_authenticate(&iad), Step::ExternalAuthenticate);
            return Ok(());
        }
        if self.cdol2_has_issuer_authentication_data() && self.data.contains(Tag(0x91)) {
            self.tsi.set(Tsi::ISSUER_AUTHENTICATION_PERFORMED);
        }
        self.run_scripts(0x71)
    }

    fn cdol2_has_issuer_authentication_data(&self) -> bool {
        self.data
            .get(Tag(0x8D))
            .and_then(|d| poskit_tlv::Dol::parse(d).ok())
            .is_some_and(|d| d.entries().iter().any(|e| e.tag == Tag(0x91)))
    }

    fn on_external_authenticate(&mut self, sw: u16) -> Result<(), KernelError> {
        if sw != sw::OK {
            self.tvr.set(TvrBit::ISSUER_AUTHENTICATION_FAILED);
        }
        self.run_scripts(0x71)
    }

    /// Sends the next command of the scripts of one kind (71 before the
    /// final GENERATE AC, 72 after), then moves on.
    fn run_scripts(&mut self, kind: u8) -> Result<(), KernelError> {
        self.flow.scripts_before_final = kind == 0x71;
        let next = self.flow.scripts.iter().position(|s| s.kind() == kind);
        if let Some(i) = next {
            let command = self.flow.scripts[i].command.clone();
            self.tsi.set(Tsi::SCRIPT_PROCESSING_PERFORMED);
            self.transmit(command, Step::Script);
            return Ok(());
        }
        if kind == 0x71 {
            self.second_generate_ac()
        } else {
            self.complete_after_scripts()
        }
    }

    fn on_script_response(&mut self, sw: u16) -> Result<(), KernelError> {
        let kind = if self.flow.scripts_before_final {
            0x71
        } else {
            0x72
        };
        let Some(i) = self.flow.scripts.iter().position(|s| s.kind() == kind) else {
            return Err(KernelError::WrongState("take a script response"));
        };
        let command = self
            .flow
            .scripts
            .remove(i)
            .ok_or(KernelError::WrongState("take a script response"))?;
        // Book 3 10.10: 90xx, 62xx and 63xx let the script go on.
        let ok = matches!(sw >> 8, 0x90 | 0x62 | 0x63);
        if !ok {
            self.tvr.set(if kind == 0x71 {
                TvrBit::SCRIPT_FAILED_BEFORE_FINAL_AC
            } else {
                TvrBit::SCRIPT_FAILED_AFTER_FINAL_AC
            });
            self.flow
                .scripts
                .retain(|s| s.script_id != command.script_id || s.kind() != kind);
            record_script_result(
                &mut self.flow.script_results,
                &command,
                0x10 | (command.sequence & 0x7F).min(0x0F),
            );
        } else if command.last_of_script {
            record_script_result(&mut self.flow.script_results, &command, 0x20);
        }
        self.run_scripts(kind)
    }

    fn second_generate_ac(&mut self) -> Result<(), KernelError> {
        let online = self.flow.online.clone().unwrap_or_default();
        let requested = if online.unreachable {
            checks::default_action(&self.tvr, &self.issuer_action_codes(), self.selected_params())
        } else if online.approved {
            CryptogramType::Tc
        } else {
            CryptogramType::Aac
        };
        self.flow.second_ac = true;
        let cdol2 = self.data.require(Tag(0x8D))?.to_vec();
        self.send_generate_ac(requested, &cdol2)
    }

    fn after_second_generate_ac(&mut self, kind: CryptogramType) -> Result<(), KernelError> {
        self.flow.final_kind = Some(kind);
        self.run_scripts(0x72)
    }

    fn complete_after_scripts(&mut self) -> Result<(), KernelError> {
        let online = self.flow.online.clone().unwrap_or_default();
        let kind = self.flow.final_kind.unwrap_or(CryptogramType::Aac);
        let host_approved = online.approved && !online.unreachable;
        match (kind, host_approved) {
            (CryptogramType::Tc, _) => self.finish(Decision::Approved, None),
            (_, true) => self.finish(
                Decision::DeclinedAfterHostApproval,
                Some("the card declined after the issuer approved: reverse the authorisation".into()),
            ),
            (_, false) => {
                let reason = if online.unreachable {
                    "declined: the issuer could not be reached"
                } else {
                    "declined by the issuer"
                };
                self.finish(Decision::Declined, Some(reason.into()));
            }
        }
        Ok(())
    }

    // ---- Small helpers ----

    pub(crate) fn aip(&self) -> [u8; 2] {
        self.data.array(Tag(0x82)).unwrap_or([0, 0])
    }

    pub(crate) fn selected_params(&self) -> &crate::config::AidParams {
        let index = self.flow.selected.as_ref().map_or(0, |c| c.aid_index);
        &self.config.aids[index]
    }
}

impl ScriptCommand {
    fn kind(&self) -> u8 {
        if self.sequence & 0x80 != 0 { 0x72 } else { 0x71 }
    }
}

/// Splits issuer script templates into commands (Book 3 10.10). A template
/// that does not parse becomes an empty command, which fails the scripts.
fn parse_scripts(raw: &[u8], results: &mut Vec<u8>) -> std::collections::VecDeque<ScriptCommand> {
    let mut out = std::collections::VecDeque::new();
    let Ok(templates) = poskit_tlv::parse(raw) else {
        out.push_back(ScriptCommand {
            script_id: [0; 4],
            command: Vec::new(),
            sequence: 0,
            last_of_script: true,
        });
        return out;
    };
    for template in templates {
        let kind_bit = match template.tag().0 {
            0x71 => 0x00,
            0x72 => 0x80,
            _ => continue,
        };
        let mut id = [0u8; 4];
        let mut commands = Vec::new();
        let mut broken = false;
        for child in template.children() {
            match child {
                Ok(c) if c.tag() == Tag(0x9F18) => id = c.value().try_into().unwrap_or([0; 4]),
                Ok(c) if c.tag() == Tag(0x86) && c.value().len() >= 4 => commands.push(c.value().to_vec()),
                Ok(_) => {}
                Err(_) => broken = true,
            }
        }
        if broken || commands.is_empty() {
            results.push(0x10);
            results.extend_from_slice(&id);
            continue;
        }
        let count = commands.len();
        for (i, command) in commands.into_iter().enumerate() {
            out.push_back(ScriptCommand {
                script_id: id,
                command,
                sequence: kind_bit | ((i + 1).min(0x7F) as u8),
                last_of_script: i + 1 == count,
            });
        }
    }
    out
}

/// 9F5B: one byte of result (high nibble) and failed command number (low
/// nibble), then the script identifier.
fn record_script_result(results: &mut Vec<u8>, command: &ScriptCommand, result: u8) {
    results.push(result);
    results.extend_from_slice(&command.script_id);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_block_for_verify() {
        assert_eq!(
            plaintext_pin_block("1234"),
            hex::decode("241234FFFFFFFFFF").unwrap()
        );
    }

    #[test]
    fn scripts_are_split_into_commands() {
        let mut results = Vec::new();
        let raw = hex::decode("7112 9F1804 00000001 8609 84240000 04 11223344".replace(' ', "")).unwrap();
        let scripts = parse_scripts(&raw, &mut results);
        assert_eq!(scripts.len(), 1);
        assert_eq!(scripts[0].script_id, [0, 0, 0, 1]);
        assert_eq!(scripts[0].kind(), 0x71);
        assert!(results.is_empty());
        let broken = parse_scripts(&[0x71, 0x05, 0x86], &mut results);
        assert!(broken[0].command.is_empty());
    }
}
