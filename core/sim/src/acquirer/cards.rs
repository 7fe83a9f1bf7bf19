//! The issuer side the acquirer simulator stands in for: the virtual card
//! profiles' PINs and issuer keys by PAN, the ARQC check and the ARPC, and
//! per-transaction issuer scripts. The conventions are the virtual cards'
//! (see [`crate::virtual_card`]), the same [`crate::issuer::TestIssuer`]
//! applies; here they work from field 55 and a PAN alone.

use poskit_crypto::SymmetricKey;
use poskit_tlv::Tag;

use crate::issuer::PutDataScript;
use crate::virtual_card::Profile;
use crate::virtual_card::crypto::{CryptogramData, arpc, cryptogram, icc_master_key, script_mac};

/// What the host knows of one card account.
pub(crate) struct CardAccount {
    pub(crate) pan: String,
    pub(crate) pin: String,
    issuer_master_key: SymmetricKey,
    issuer_smi_key: SymmetricKey,
}

/// Every virtual card profile, by PAN.
pub(crate) struct CardDirectory {
    cards: Vec<CardAccount>,
}

/// A genuine ARQC: what the answer needs to authenticate the issuer and to
/// MAC scripts.
pub(crate) struct VerifiedArqc {
    icc_mk: SymmetricKey,
    smi_key: SymmetricKey,
    pub(crate) atc: u16,
    pub(crate) arqc: [u8; 8],
    psn: u8,
}

impl CardDirectory {
    pub(crate) fn virtual_cards() -> CardDirectory {
        let cards = Profile::names()
            .iter()
            .filter_map(|name| Profile::named(name))
            .map(|p| CardAccount {
                pan: p.pan.clone(),
                pin: p.pin.clone(),
                issuer_master_key: p.issuer_master_key.clone(),
                issuer_smi_key: p.issuer_smi_key.clone(),
            })
            .collect();
        CardDirectory { cards }
    }

    pub(crate) fn find(&self, pan: &str) -> Option<&CardAccount> {
        self.cards.iter().find(|c| c.pan == pan)
    }

    /// Checks the cryptogram (9F26) in `field55` for `pan`: with the issuer
    /// master key of the PAN's profile first, then with every other
    /// profile's, as an issuer host holding all of them would. `psn_field23`
    /// is field 23 (three digits) for when 5F34 is not in field 55.
    pub(crate) fn verify_arqc(
        &self,
        pan: &str,
        field55: &[u8],
        psn_field23: Option<&str>,
    ) -> Option<VerifiedArqc> {
        let tlvs = poskit_tlv::primitives(field55).ok()?;
        let value_of = |tag: u32| tlvs.iter().find(|t| t.tag() == Tag(tag)).map(|t| t.value());
        let data = CryptogramData::from_tags(value_of)?;
        let arqc: [u8; 8] = value_of(0x9F26)?.try_into().ok()?;
        let psn = match value_of(0x5F34) {
            Some(p) => *p.first()?,
            // Field 23 is n3 ("001"): its last two digits are the PSN's BCD.
            None => psn_field23
                .and_then(|d| d.get(d.len().saturating_sub(2)..))
                .and_then(|d| u8::from_str_radix(d, 16).ok())
                .unwrap_or(0),
        };
        let own = self.find(pan).into_iter();
        let others = self.cards.iter().filter(|c| c.pan != pan);
        own.chain(others).find_map(|card| {
            let icc_mk = icc_master_key(&card.issuer_master_key, pan, psn).ok()?;
            let expected = cryptogram(&icc_mk, &data).ok()?;
            poskit_crypto::constant_time_eq(&expected, &arqc).then(|| VerifiedArqc {
                icc_mk,
                smi_key: card.issuer_smi_key.clone(),
                atc: data.atc,
                arqc,
                psn,
            })
        })
    }
}

impl VerifiedArqc {
    /// Tag 91's value: ARPC (method 1) || ARC, the ARC being the response
    /// code's two characters.
    pub(crate) fn issuer_authentication_data(&self, code: &str) -> Option<Vec<u8>> {
        let arc = code.as_bytes();
        let a = arpc(&self.icc_mk, self.atc, &self.arqc, arc).ok()?;
        Some([&a[..], arc].concat())
    }

    /// Template 71 or 72 with one PUT DATA under secure messaging, MACed
    /// for this very transaction (its MAC covers ATC and ARQC).
    pub(crate) fn put_data(&self, pan: &str, script: &PutDataScript) -> Option<Vec<u8>> {
        let smi = icc_master_key(&self.smi_key, pan, self.psn).ok()?;
        let [p1, p2] = script.tag.to_be_bytes();
        let lc = u8::try_from(script.value.len() + 4).ok()?;
        let header = [0x04, 0xDA, p1, p2, lc];
        let mut mac = script_mac(&smi, header, self.atc, &self.arqc, &script.value).ok()?;
        if script.bad_mac {
            mac[0] ^= 0xFF;
        }
        let mut command = header.to_vec();
        command.extend_from_slice(&script.value);
        command.extend_from_slice(&mac);
        let mut body = poskit_tlv::encode(Tag(0x9F18), &[0, 0, 0, 1]);
        body.extend(poskit_tlv::encode(Tag(0x86), &command));
        Some(poskit_tlv::encode(
            Tag(if script.after_final { 0x72 } else { 0x71 }),
            &body,
        ))
    }
}
