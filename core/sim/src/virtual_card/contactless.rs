//! The quick contactless path of Visa qVSDC (EMV Book C-3) and UnionPay
//! qPBOC (JR/T 0025.12): the GPO response itself carries the cryptogram,
//! and for offline approvals (or when the reader asks for ODA on online
//! ones) the fDDA signature.
//!
//! Card decisions (the card's own risk management, Book C-3 Annex, VCPS):
//! - the `offline-decline` flag gives an AAC;
//! - an online cryptogram is given when the reader asks for it (TTQ byte 2
//!   bit 8), the amount is above the card's offline limit or the card has
//!   approved its consecutive offline limit of transactions since the last
//!   online one, unless the reader is offline-only (TTQ byte 1 bit 4),
//!   which gets an AAC;
//! - otherwise a TC.
//!
//! CVM: at or above the card's CVM limit the CTQ asks for online PIN
//! (byte 1 bit 8) on an online transaction when the reader supports it
//! (TTQ byte 1 bit 3), else for a signature (byte 1 bit 7) when supported.

use poskit_tlv::{Node, Tag};

use super::apdu::Sw;
use super::certificates::signed_dynamic_data;
use super::crypto::{self, CryptogramData, lookup};
use super::{Answer, CryptogramRecord, CryptogramType, Reply, VirtualCard};

/// fDDA version 01: the terminal data adds amount, currency and 9F69.
const FDDA_VERSION: u8 = 0x01;

impl VirtualCard {
    pub(super) fn quick_gpo(&mut self) -> Reply {
        let behaviour = self.profile.contactless.ok_or(Sw::CONDITIONS_NOT_SATISFIED)?;
        let txn = self.txn.as_ref().ok_or(Sw::CONDITIONS_NOT_SATISFIED)?;
        let pdol = &txn.pdol;
        let ttq = pdol.get(0x9F66).unwrap_or(&[0, 0, 0, 0]).to_vec();
        let ttq_bit = |byte: usize, mask: u8| ttq.get(byte).is_some_and(|b| b & mask != 0);
        let value = super::transaction::amount(pdol.get(0x9F02));

        let offline_only_reader = ttq_bit(0, 0x08);
        // Velocity: after the consecutive offline limit the card goes
        // online whatever the amount.
        let wants_online = ttq_bit(1, 0x80)
            || value > behaviour.offline_limit
            || self.offline_count >= self.profile.offline.consecutive_limit;
        // An offline-only reader cannot take an online cryptogram: decline.
        let kind = if self.profile.decline_offline || (wants_online && offline_only_reader) {
            CryptogramType::Aac
        } else if wants_online {
            CryptogramType::Arqc
        } else {
            CryptogramType::Tc
        };

        let mut ctq = behaviour.ctq;
        if value >= behaviour.cvm_limit {
            if kind == CryptogramType::Arqc && ttq_bit(0, 0x04) {
                ctq[0] |= 0x80;
            } else if ttq_bit(0, 0x02) {
                ctq[0] |= 0x40;
            }
        }

        let cvr = self.cvr(kind, None);
        let input = CryptogramData::from_dol_data(&[pdol], self.profile.aip, self.atc, cvr);
        let ac = crypto::cryptogram(&self.icc_mk, &input).map_err(|_| Sw::NO_DIAGNOSIS)?;
        let iad = crypto::issuer_application_data(self.profile.derivation_key_index, cvr);
        // fDDA for offline approvals, and for online ones when the reader
        // supports "ODA for online authorisations" (TTQ byte 1 bit 1).
        let fdda = self.profile.has_icc_key()
            && (kind == CryptogramType::Tc || (kind == CryptogramType::Arqc && ttq_bit(0, 0x01)));
        let terminal_fdda_data = [
            lookup(&[pdol], 0x9F37).unwrap_or(&[0; 4]).to_vec(),
            lookup(&[pdol], 0x9F02).unwrap_or(&[0; 6]).to_vec(),
            lookup(&[pdol], 0x5F2A).unwrap_or(&[0; 2]).to_vec(),
        ]
        .concat();

        let mut objects = vec![
            Node::primitive(Tag(0x82), self.profile.aip),
            Node::primitive(Tag(0x94), self.perso.afl.clone()),
            Node::primitive(Tag(0x57), self.perso.track2.clone()),
            Node::primitive(Tag(0x5F34), [self.profile.psn]),
            Node::primitive(Tag(0x9F10), iad),
            Node::primitive(Tag(0x9F26), ac),
            Node::primitive(Tag(0x9F27), [kind.cid()]),
            Node::primitive(Tag(0x9F36), self.atc.to_be_bytes()),
            Node::primitive(Tag(0x9F6C), ctq),
        ];
        if fdda {
            // 9F69 (Visa fDDA version 01): version, card unpredictable
            // number, CTQ.
            let card_un: [u8; 4] = self.random.next_bytes();
            let mut card_auth = vec![FDDA_VERSION];
            card_auth.extend_from_slice(&card_un);
            card_auth.extend_from_slice(&ctq);
            let number: [u8; 8] = self.random.next_bytes();
            // ICC dynamic data: the dynamic number, then the CTQ, which
            // version 01 signs so the reader can trust the CVM request.
            let mut dynamic = vec![0x08];
            dynamic.extend_from_slice(&number);
            dynamic.extend_from_slice(&ctq);
            let terminal_data = [&terminal_fdda_data[..], &card_auth].concat();
            let sdad = signed_dynamic_data(&self.profile.icc_key, &dynamic, &terminal_data)
                .ok_or(Sw::NO_DIAGNOSIS)?;
            objects.push(Node::primitive(Tag(0x9F69), card_auth));
            objects.push(Node::primitive(Tag(0x9F4B), sdad));
        }

        self.last_cryptogram = Some(CryptogramRecord {
            kind,
            cryptogram: ac,
            atc: self.atc,
            input: input.to_bytes(),
            generate_ac: 0,
        });
        if let Some(txn) = self.txn.as_mut() {
            txn.first_ac = Some(kind);
            txn.complete = true;
            txn.dda_performed = fdda;
            if kind == CryptogramType::Arqc {
                txn.arqc = Some(ac);
            }
        }
        if kind == CryptogramType::Tc {
            self.offline_count = self.offline_count.saturating_add(1);
        }
        self.append_log(kind);
        Ok(Answer::ok(Node::constructed(Tag(0x77), objects).to_bytes()))
    }
}
