//! A card issuer for tests and demos: checks the ARQC of a virtual card
//! the way an issuer host would (from field 55 alone), answers with an ARPC
//! and an authorisation response code.

use poskit_crypto::SymmetricKey;
use poskit_emv::{OnlineRequest, OnlineResponse};
use poskit_tlv::Tag;

use crate::driver::Issuer;
use crate::virtual_card::VirtualCard;
use crate::virtual_card::crypto::{CryptogramData, arpc, cryptogram, icc_master_key, script_mac};

/// What the test issuer decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Approve,
    Decline,
    /// No answer at all: the terminal's network failed.
    Unreachable,
}

/// An issuer script the test issuer sends: PUT DATA of one data object
/// under secure messaging (Book 3 6.5.10, Book 2 9.2).
#[derive(Debug, Clone)]
pub struct PutDataScript {
    pub tag: u16,
    pub value: Vec<u8>,
    /// 72 (after the final GENERATE AC) instead of 71.
    pub after_final: bool,
    /// Send a wrong MAC, as a forged script would have.
    pub bad_mac: bool,
}

/// The issuer of one or more virtual cards, keyed by issuer master key.
#[derive(Debug, Clone)]
pub struct TestIssuer {
    master_keys: Vec<SymmetricKey>,
    /// Issuer secure-messaging integrity keys, in the same order.
    smi_keys: Vec<SymmetricKey>,
    pub verdict: Verdict,
    /// Issuer scripts (templates 71/72) to send with the answer.
    pub scripts: Vec<u8>,
    /// A script built for this very transaction (its MAC covers the ARQC).
    pub put_data: Option<PutDataScript>,
    /// Whether the last ARQC verified.
    pub last_arqc_valid: Option<bool>,
    pub requests: usize,
}

impl TestIssuer {
    pub fn new(master_keys: Vec<SymmetricKey>, verdict: Verdict) -> Self {
        Self {
            master_keys,
            smi_keys: Vec::new(),
            verdict,
            scripts: Vec::new(),
            put_data: None,
            last_arqc_valid: None,
            requests: 0,
        }
    }

    /// The issuer of `card`.
    pub fn for_card(card: &VirtualCard, verdict: Verdict) -> Self {
        let mut issuer = Self::new(vec![card.issuer_master_key().clone()], verdict);
        issuer.smi_keys = vec![card.profile().issuer_smi_key.clone()];
        issuer
    }

    /// Template 71 or 72 with one PUT DATA command for this transaction.
    fn script_for(&self, request: &OnlineRequest, atc: u16, arqc: &[u8; 8]) -> Option<Vec<u8>> {
        let script = self.put_data.as_ref()?;
        let psn = poskit_tlv::find(&request.field55, Tag(0x5F34))
            .ok()
            .flatten()
            .and_then(|t| t.value().first().copied())
            .unwrap_or(0);
        let smi = icc_master_key(self.smi_keys.first()?, &request.card.pan, psn).ok()?;
        let [p1, p2] = script.tag.to_be_bytes();
        let header = [0x04, 0xDA, p1, p2, (script.value.len() + 4) as u8];
        let mut mac = script_mac(&smi, header, atc, arqc, &script.value).ok()?;
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

    /// Checks the ARQC in field 55 and, when it is genuine, returns the
    /// ICC master key that made it.
    fn verify(&self, request: &OnlineRequest) -> Option<(SymmetricKey, u16, [u8; 8])> {
        let tlvs = poskit_tlv::primitives(&request.field55).ok()?;
        let value_of = |tag: u32| tlvs.iter().find(|t| t.tag() == Tag(tag)).map(|t| t.value());
        let data = CryptogramData::from_tags(value_of)?;
        let arqc: [u8; 8] = value_of(0x9F26)?.try_into().ok()?;
        let psn = value_of(0x5F34).and_then(|p| p.first().copied()).unwrap_or(0);
        self.master_keys.iter().find_map(|imk| {
            let mk = icc_master_key(imk, &request.card.pan, psn).ok()?;
            let expected = cryptogram(&mk, &data).ok()?;
            poskit_crypto::constant_time_eq(&expected, &arqc).then_some((mk, data.atc, arqc))
        })
    }
}

impl Issuer for TestIssuer {
    fn authorise(&mut self, request: &OnlineRequest) -> OnlineResponse {
        self.requests += 1;
        if self.verdict == Verdict::Unreachable {
            return OnlineResponse {
                unreachable: true,
                ..Default::default()
            };
        }
        let verified = self.verify(request);
        self.last_arqc_valid = Some(verified.is_some());
        let Some((mk, atc, arqc)) = verified else {
            // A cryptogram that does not verify is declined (code 05, as
            // issuers do for a failed ARQC without telling why).
            return OnlineResponse {
                approved: false,
                response_code: *b"05",
                ..Default::default()
            };
        };
        let (approved, code) = match self.verdict {
            Verdict::Approve => (true, *b"00"),
            _ => (false, *b"05"),
        };
        let issuer_authentication_data = arpc(&mk, atc, &arqc, &code)
            .ok()
            .map(|a| [&a[..], &code[..]].concat());
        let mut issuer_scripts = self.scripts.clone();
        issuer_scripts.extend(self.script_for(request, atc, &arqc).unwrap_or_default());
        OnlineResponse {
            approved,
            response_code: code,
            issuer_authentication_data,
            issuer_scripts,
            unreachable: false,
        }
    }
}
