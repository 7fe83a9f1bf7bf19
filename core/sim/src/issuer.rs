//! A card issuer for tests and demos: checks the ARQC of a virtual card
//! the way an issuer host would (from field 55 alone), answers with an ARPC
//! and an authorisation response code.

use poskit_crypto::SymmetricKey;
use poskit_emv::{OnlineRequest, OnlineResponse};
use poskit_tlv::Tag;

use crate::driver::Issuer;
use crate::virtual_card::VirtualCard;
use crate::virtual_card::crypto::{CryptogramData, arpc, cryptogram, icc_master_key};

/// What the test issuer decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Approve,
    Decline,
    /// No answer at all: the terminal's network failed.
    Unreachable,
}

/// The issuer of one or more virtual cards, keyed by issuer master key.
#[derive(Debug, Clone)]
pub struct TestIssuer {
    master_keys: Vec<SymmetricKey>,
    pub verdict: Verdict,
    /// Issuer scripts (templates 71/72) to send with the answer.
    pub scripts: Vec<u8>,
    /// Whether the last ARQC verified.
    pub last_arqc_valid: Option<bool>,
    pub requests: usize,
}

impl TestIssuer {
    pub fn new(master_keys: Vec<SymmetricKey>, verdict: Verdict) -> Self {
        Self {
            master_keys,
            verdict,
            scripts: Vec::new(),
            last_arqc_valid: None,
            requests: 0,
        }
    }

    /// The issuer of `card`.
    pub fn for_card(card: &VirtualCard, verdict: Verdict) -> Self {
        Self::new(vec![card.issuer_master_key().clone()], verdict)
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
        OnlineResponse {
            approved,
            response_code: code,
            issuer_authentication_data,
            issuer_scripts: self.scripts.clone(),
            unreachable: false,
        }
    }
}
