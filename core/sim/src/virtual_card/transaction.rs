//! The transaction: GET PROCESSING OPTIONS (Book 3 6.5.8, 10.1), INTERNAL
//! AUTHENTICATE (Book 3 6.5.9, Book 2 6.5), GENERATE AC with card risk
//! management and CDA (Book 3 6.5.5, 9; Book 2 6.6), EXTERNAL AUTHENTICATE
//! (Book 3 6.5.4, Book 2 8.2).

use poskit_crypto::hash::sha1;
use poskit_tlv::{Node, Tag};

use super::apdu::{Command, Sw};
use super::certificates::signed_dynamic_data;
use super::crypto::{self, CryptogramData, DolData, lookup};
use super::profile::{ContactlessKind, Interface, Scheme};
use super::records::tlv;
use super::{Answer, CryptogramRecord, CryptogramType, IssuerAuth, Reply, Transaction, VirtualCard};

/// Authorisation response codes that mean "approved" (Book 4 A6 and the
/// ISO 8583 codes acquirers pass through).
const APPROVED: [&[u8; 2]; 3] = [b"00", b"10", b"11"];

/// Amount, authorised (n 12) as a number; garbage counts as "too much".
pub(super) fn amount(value: Option<&[u8]>) -> u64 {
    let Some(bytes) = value else {
        return 0;
    };
    let mut n: u64 = 0;
    for nibble in bytes.iter().flat_map(|b| [b >> 4, b & 0x0F]) {
        if nibble > 9 {
            return u64::MAX;
        }
        n = n.saturating_mul(10).saturating_add(u64::from(nibble));
    }
    n
}

impl VirtualCard {
    pub(super) fn get_processing_options(&mut self, cmd: &Command<'_>) -> Reply {
        if cmd.p1p2() != 0 {
            return Err(Sw::INCORRECT_P1_P2);
        }
        if self.selected_app().is_none() {
            return Err(Sw::CONDITIONS_NOT_SATISFIED);
        }
        // The command data is the 83 template holding the PDOL data, or
        // 83 00 when the card has no PDOL (Book 3 6.5.8.3).
        let objects = poskit_tlv::parse(cmd.data).map_err(|_| Sw::INCORRECT_DATA)?;
        let [template] = objects.as_slice() else {
            return Err(Sw::INCORRECT_DATA);
        };
        if template.tag() != Tag(0x83) || template.raw().len() != cmd.data.len() {
            return Err(Sw::INCORRECT_DATA);
        }
        let pdol = DolData::split(&self.profile.pdol, template.value())?;
        // One GPO per selection; a blocked application or an exhausted ATC
        // refuses it (Book 3 10.1: the terminal then tries another one).
        if self.txn.is_some() || self.app_blocked || self.atc == u16::MAX {
            return Err(Sw::CONDITIONS_NOT_SATISFIED);
        }
        // The ATC counts transactions and goes up before any cryptogram
        // uses it (Book 3 Annex A, 9F36).
        self.atc += 1;
        self.txn = Some(Transaction::new(pdol));

        let quick = self
            .profile
            .contactless
            .is_some_and(|c| matches!(c.kind, ContactlessKind::Qvsdc | ContactlessKind::Qpboc));
        if quick {
            let ttq = self.txn.as_ref().and_then(|t| t.pdol.get(0x9F66)).unwrap_or(&[]);
            // TTQ byte 1 bit 6: the reader supports qVSDC / qPBOC.
            if ttq.first().is_some_and(|b| b & 0x20 != 0) {
                return self.quick_gpo();
            }
        }
        let aip = self.profile.aip;
        let afl = self.perso.afl.clone();
        // Format 1 for Visa and UnionPay, format 2 for Mastercard and every
        // contactless card (Book 3 6.5.8.4).
        let format1 =
            self.profile.interface == Interface::Contact && self.profile.scheme != Scheme::Mastercard;
        Ok(Answer::ok(if format1 {
            tlv(0x80, &[&aip[..], &afl].concat())
        } else {
            Node::constructed(
                Tag(0x77),
                vec![Node::primitive(Tag(0x82), aip), Node::primitive(Tag(0x94), afl)],
            )
            .to_bytes()
        }))
    }

    pub(super) fn internal_authenticate(&mut self, cmd: &Command<'_>) -> Reply {
        if cmd.p1p2() != 0 {
            return Err(Sw::INCORRECT_P1_P2);
        }
        if cmd.data.is_empty() {
            return Err(Sw::WRONG_LENGTH);
        }
        // DDA needs the card's key (AIP byte 1 bit 6) and a transaction.
        if self.profile.aip[0] & 0x20 == 0 || !self.profile.has_icc_key() {
            return Err(Sw::CONDITIONS_NOT_SATISFIED);
        }
        let Some(txn) = self.txn.as_mut() else {
            return Err(Sw::CONDITIONS_NOT_SATISFIED);
        };
        txn.dda_performed = true;
        // Book 2 table 18: ICC dynamic number length and number; the data
        // the terminal sent (DDOL data) is hashed after the block.
        let number: [u8; 8] = self.random.next_bytes();
        let mut dynamic = vec![0x08];
        dynamic.extend_from_slice(&number);
        let sdad = signed_dynamic_data(&self.profile.icc_key, &dynamic, cmd.data).ok_or(Sw::NO_DIAGNOSIS)?;
        Ok(Answer::ok(tlv(0x80, &sdad)))
    }

    pub(super) fn external_authenticate(&mut self, cmd: &Command<'_>) -> Reply {
        if cmd.p1p2() != 0 {
            return Err(Sw::INCORRECT_P1_P2);
        }
        // Issuer authentication data: ARPC (8) || ARC (2), up to 16 bytes.
        if !(10..=16).contains(&cmd.data.len()) {
            return Err(Sw::WRONG_LENGTH);
        }
        let atc = self.atc;
        let icc_mk = self.icc_mk.clone();
        let Some(txn) = self.txn.as_mut() else {
            return Err(Sw::CONDITIONS_NOT_SATISFIED);
        };
        let Some(arqc) = txn.arqc else {
            return Err(Sw::CONDITIONS_NOT_SATISFIED);
        };
        // Once per transaction, between the two GENERATE ACs (Book 3 6.5.4).
        if txn.external_auth_done || txn.second_ac.is_some() {
            return Err(Sw::CONDITIONS_NOT_SATISFIED);
        }
        txn.external_auth_done = true;
        let passed = check_arpc(&icc_mk, atc, &arqc, cmd.data);
        txn.issuer_auth = if passed {
            IssuerAuth::Passed
        } else {
            IssuerAuth::Failed
        };
        if passed {
            Ok(Answer::ok(Vec::new()))
        } else {
            Err(Sw::AUTHENTICATION_FAILED)
        }
    }

    pub(super) fn generate_ac(&mut self, cmd: &Command<'_>) -> Reply {
        // P1: bits 8-7 the cryptogram type, bit 5 CDA; the rest is RFU.
        let requested = CryptogramType::requested(cmd.p1).ok_or(Sw::INCORRECT_P1_P2)?;
        if cmd.p1 & 0x2F != 0 || cmd.p2 != 0 {
            return Err(Sw::INCORRECT_P1_P2);
        }
        let cda = cmd.p1 & 0x10 != 0 && self.profile.aip[0] & 0x01 != 0 && self.profile.has_icc_key();
        let Some(txn) = self.txn.as_ref() else {
            return Err(Sw::CONDITIONS_NOT_SATISFIED);
        };
        let contact = self.profile.interface == Interface::Contact;
        match (txn.complete, txn.first_ac, txn.second_ac) {
            (false, None, _) => self.first_generate_ac(requested, cda, cmd.data),
            (false, Some(CryptogramType::Arqc), None) if contact => {
                if requested == CryptogramType::Arqc {
                    // The second GENERATE AC ends the transaction: TC or AAC
                    // only (Book 3 9.3).
                    return Err(Sw::INCORRECT_P1_P2);
                }
                self.second_generate_ac(requested, cda, cmd.data)
            }
            _ => Err(Sw::CONDITIONS_NOT_SATISFIED),
        }
    }

    /// Offline approval allowed by card risk management (module doc).
    pub(super) fn offline_allowed(&self, amount: u64) -> bool {
        amount <= self.profile.offline.amount_limit
            && self.offline_count < self.profile.offline.consecutive_limit
            && self.pin_tries > 0
            && !self.history.online_incomplete
            && !self.history.issuer_auth_failed
    }

    fn first_generate_ac(&mut self, requested: CryptogramType, cda: bool, data: &[u8]) -> Reply {
        let cdol1 = DolData::split(&self.profile.cdol1, data)?;
        let txn = self.txn.as_ref().ok_or(Sw::CONDITIONS_NOT_SATISFIED)?;
        let value = amount(lookup(&[&cdol1, &txn.pdol], 0x9F02));
        let kind = if self.profile.decline_offline {
            CryptogramType::Aac
        } else {
            match requested {
                CryptogramType::Tc if !self.offline_allowed(value) => CryptogramType::Arqc,
                other => other,
            }
        };
        let cvr = self.cvr(kind, None);
        let input = CryptogramData::from_dol_data(&[&cdol1, &txn.pdol], self.profile.aip, self.atc, cvr);
        let hashed_dol_data = [txn.pdol.raw().to_vec(), cdol1.raw().to_vec()].concat();
        let un = lookup(&[&cdol1, &txn.pdol], 0x9F37).unwrap_or(&[]).to_vec();
        let answer = self.cryptogram_response(kind, cda, &input, &hashed_dol_data, &un, 1)?;

        let contactless = self.profile.interface == Interface::Contactless;
        let txn = self.txn.as_mut().ok_or(Sw::CONDITIONS_NOT_SATISFIED)?;
        txn.first_ac = Some(kind);
        if kind == CryptogramType::Arqc {
            txn.arqc = self.last_cryptogram.as_ref().map(|c| c.cryptogram);
        }
        // Contactless M/Chip has no second GENERATE AC: the outcome is final.
        txn.complete = kind != CryptogramType::Arqc || contactless;
        txn.cdol1 = Some(cdol1);
        if kind == CryptogramType::Tc {
            self.offline_count = self.offline_count.saturating_add(1);
        }
        if kind != CryptogramType::Arqc {
            self.append_log(kind);
        }
        Ok(answer)
    }

    fn second_generate_ac(&mut self, requested: CryptogramType, cda: bool, data: &[u8]) -> Reply {
        let cdol2 = DolData::split(&self.profile.cdol2, data)?;
        let icc_mk = self.icc_mk.clone();
        let atc = self.atc;
        let app_blocked = self.app_blocked;
        let txn = self.txn.as_mut().ok_or(Sw::CONDITIONS_NOT_SATISFIED)?;
        let cdol1 = txn.cdol1.clone().unwrap_or_default();
        let arqc = txn.arqc.unwrap_or_default();

        // Issuer authentication data in CDOL2 (91): checked here unless
        // EXTERNAL AUTHENTICATE did it already; all zeros means the host
        // sent none (Book 3 10.9).
        if let Some(iad) = cdol2.get(0x91) {
            if !txn.external_auth_done && iad.iter().any(|&b| b != 0) {
                txn.issuer_auth = if check_arpc(&icc_mk, atc, &arqc, iad) {
                    IssuerAuth::Passed
                } else {
                    IssuerAuth::Failed
                };
            }
        }
        let arc = lookup(&[&cdol2, &cdol1], 0x8A).unwrap_or(&[]).to_vec();
        let value = amount(lookup(&[&cdol2, &cdol1, &txn.pdol], 0x9F02));
        let approved_online = APPROVED.iter().any(|a| arc.as_slice() == &a[..]);
        if arc == b"Y3" || arc == b"Z3" {
            txn.unable_to_go_online = true;
        }
        let issuer_auth = txn.issuer_auth;
        let kind = match requested {
            CryptogramType::Tc if app_blocked => CryptogramType::Aac,
            CryptogramType::Tc if approved_online && issuer_auth != IssuerAuth::Failed => CryptogramType::Tc,
            CryptogramType::Tc if arc == b"Y3" && self.offline_allowed(value) => CryptogramType::Tc,
            _ => CryptogramType::Aac,
        };
        let online_approval = kind == CryptogramType::Tc && approved_online;
        let txn = self.txn.as_ref().ok_or(Sw::CONDITIONS_NOT_SATISFIED)?;
        let cvr = self.cvr(CryptogramType::Arqc, Some(kind));
        let input = CryptogramData::from_dol_data(&[&cdol2, &cdol1, &txn.pdol], self.profile.aip, atc, cvr);
        let hashed_dol_data = [txn.pdol.raw(), cdol1.raw(), cdol2.raw()].concat();
        let un = lookup(&[&cdol2, &cdol1], 0x9F37).unwrap_or(&[]).to_vec();
        let answer = self.cryptogram_response(kind, cda, &input, &hashed_dol_data, &un, 2)?;

        let txn = self.txn.as_mut().ok_or(Sw::CONDITIONS_NOT_SATISFIED)?;
        txn.second_ac = Some(kind);
        txn.complete = true;
        txn.online_approved = online_approval;
        if online_approval {
            // The last online ATC register follows online approvals
            // (9F13); velocity counting starts again.
            self.last_online_atc = atc;
            self.offline_count = 0;
        } else if kind == CryptogramType::Tc {
            self.offline_count = self.offline_count.saturating_add(1);
        }
        self.append_log(kind);
        Ok(answer)
    }

    /// Computes the cryptogram and builds the GENERATE AC response: format
    /// 1 (Visa, UnionPay) or 2 (Mastercard), or the CDA format 2 with the
    /// signature instead of the cryptogram (Book 2 6.6.1). An AAC is never
    /// signed.
    fn cryptogram_response(
        &mut self,
        kind: CryptogramType,
        cda: bool,
        input: &CryptogramData,
        hashed_dol_data: &[u8],
        unpredictable_number: &[u8],
        generate_ac: u8,
    ) -> Reply {
        let ac = crypto::cryptogram(&self.icc_mk, input).map_err(|_| Sw::NO_DIAGNOSIS)?;
        self.last_cryptogram = Some(CryptogramRecord {
            kind,
            cryptogram: ac,
            atc: input.atc,
            input: input.to_bytes(),
            generate_ac,
        });
        let cid = kind.cid();
        let atc = input.atc.to_be_bytes();
        let iad = crypto::issuer_application_data(self.profile.derivation_key_index, input.cvr);

        if cda && kind != CryptogramType::Aac {
            let cid_tlv = tlv(0x9F27, &[cid]);
            let atc_tlv = tlv(0x9F36, &atc);
            let iad_tlv = tlv(0x9F10, &iad);
            // Transaction data hash code (Book 2 6.6.1): the DOL data the
            // terminal sent, then the response's objects except 9F4B, in
            // the order they appear.
            let hash = sha1(&[hashed_dol_data, &cid_tlv, &atc_tlv, &iad_tlv].concat());
            let number: [u8; 8] = self.random.next_bytes();
            // Book 2 table 19: ICC dynamic number, CID, AC, hash code.
            let mut dynamic = vec![0x08];
            dynamic.extend_from_slice(&number);
            dynamic.push(cid);
            dynamic.extend_from_slice(&ac);
            dynamic.extend_from_slice(&hash);
            let sdad = signed_dynamic_data(&self.profile.icc_key, &dynamic, unpredictable_number)
                .ok_or(Sw::NO_DIAGNOSIS)?;
            let body = [cid_tlv, atc_tlv, tlv(0x9F4B, &sdad), iad_tlv].concat();
            return Ok(Answer::ok(tlv(0x77, &body)));
        }
        let format1 =
            self.profile.interface == Interface::Contact && self.profile.scheme != Scheme::Mastercard;
        Ok(Answer::ok(if format1 {
            tlv(0x80, &[&[cid][..], &atc, &ac, &iad].concat())
        } else {
            let body = [
                tlv(0x9F27, &[cid]),
                tlv(0x9F36, &atc),
                tlv(0x9F26, &ac),
                tlv(0x9F10, &iad),
            ]
            .concat();
            tlv(0x77, &body)
        }))
    }

    /// Appends a transaction log record in the 9F4F format (Book 3 D2):
    /// values only, newest first, at most ten.
    pub(super) fn append_log(&mut self, kind: CryptogramType) {
        let Some(txn) = self.txn.as_ref() else {
            return;
        };
        let empty = DolData::default();
        let cdol1 = txn.cdol1.as_ref().unwrap_or(&empty);
        let sources = [cdol1, &txn.pdol];
        let field = |tag: u32, len: usize| {
            let mut v = lookup(&sources, tag).unwrap_or(&[]).to_vec();
            v.resize(len, 0);
            v
        };
        let mut entry = field(0x9A, 3);
        entry.extend(field(0x9F02, 6));
        entry.extend(field(0x5F2A, 2));
        entry.extend(field(0x9C, 1));
        entry.extend_from_slice(&self.atc.to_be_bytes());
        entry.push(kind.cid());
        self.log.push_front(entry);
        self.log.truncate(usize::from(super::records::LOG_RECORDS));
    }
}

/// ARPC method 1 check of issuer authentication data ARPC (8) || ARC (2).
fn check_arpc(icc_mk: &poskit_crypto::SymmetricKey, atc: u16, arqc: &[u8], data: &[u8]) -> bool {
    let (Some(arpc), Some(arc)) = (data.get(..8), data.get(8..10)) else {
        return false;
    };
    crypto::arpc(icc_mk, atc, arqc, arc)
        .is_ok_and(|expected| poskit_crypto::constant_time_eq(&expected, arpc))
}

#[cfg(test)]
mod tests {
    use super::amount;

    #[test]
    fn amounts_read_as_bcd() {
        assert_eq!(amount(Some(&[0, 0, 0, 0, 0x12, 0x34])), 1234);
        assert_eq!(amount(Some(&[0, 0, 0, 0, 0x1A, 0x34])), u64::MAX);
        assert_eq!(amount(None), 0);
    }
}
