//! The kernel's use of offline data authentication: which data to hand to
//! the `oda` checks, and what a failure does to the TVR (Book 3 10.3).

use poskit_tlv::Tag;

use crate::flow::OdaMethod;
use crate::kernel::Kernel;
use crate::oda::{self, IssuerPublicKey, OdaError};
use crate::tvr::TvrBit;

fn required(data: Option<&[u8]>, tag: u32) -> Result<&[u8], OdaError> {
    data.filter(|v| !v.is_empty())
        .ok_or(OdaError::MissingData(Tag(tag)))
}

impl Kernel {
    fn static_data(&self) -> Result<Vec<u8>, OdaError> {
        if self.flow.oda_records_bad {
            return Err(OdaError::InvalidData {
                tag: Tag(0x70),
                reason: "a record signed for offline data authentication is not template 70",
            });
        }
        let records: Vec<(u8, &[u8])> = self
            .flow
            .oda_records
            .iter()
            .map(|(s, r)| (*s, r.as_slice()))
            .collect();
        oda::static_data_to_authenticate(&records, self.data.get(Tag(0x9F4A)), &self.aip())
    }

    fn card_rid(&self) -> Result<[u8; 5], OdaError> {
        let aid = self.data.get(Tag(0x84)).or_else(|| self.data.get(Tag(0x4F)));
        aid.and_then(|a| a.get(..5))
            .and_then(|r| r.try_into().ok())
            .ok_or(OdaError::MissingData(Tag(0x84)))
    }

    fn issuer_key(&self) -> Result<IssuerPublicKey, OdaError> {
        let rid = self.card_rid()?;
        let ca = oda::find_ca_key(&self.config, &rid, self.data.get(Tag(0x8F)))?;
        oda::recover_issuer_key(
            ca,
            |serial| self.config.is_revoked(&ca.rid, ca.index, serial),
            required(self.data.get(Tag(0x90)), 0x90)?,
            self.data.get(Tag(0x92)),
            required(self.data.get(Tag(0x9F32)), 0x9F32)?,
            required(self.data.get(Tag(0x5A)), 0x5A)?,
            self.txn.date,
        )
    }

    pub(crate) fn perform_sda(&mut self) -> Result<(), OdaError> {
        let static_data = self.static_data()?;
        let issuer = self.issuer_key()?;
        let ssad = required(self.data.get(Tag(0x93)), 0x93)?;
        let dac = oda::verify_sda(&issuer, ssad, &static_data)?;
        self.data.set(Tag(0x9F45), dac);
        Ok(())
    }

    /// Recovers the issuer and ICC public keys (DDA, CDA, fDDA, and the key
    /// for an enciphered PIN).
    pub(crate) fn recover_icc_key(&mut self) -> Result<(), OdaError> {
        if self.flow.icc_key.is_some() {
            return Ok(());
        }
        let static_data = self.static_data()?;
        let issuer = self.issuer_key()?;
        let icc = oda::recover_icc_key(
            &issuer,
            required(self.data.get(Tag(0x9F46)), 0x9F46)?,
            self.data.get(Tag(0x9F48)),
            required(self.data.get(Tag(0x9F47)), 0x9F47)?,
            &static_data,
            required(self.data.get(Tag(0x5A)), 0x5A)?,
            self.txn.date,
        )?;
        self.flow.icc_key = Some(icc);
        Ok(())
    }

    /// INTERNAL AUTHENTICATE answered: format 1 (80, the signature) or 2
    /// (77 with 9F4B) (Book 3 6.5.9).
    pub(crate) fn check_dda_response(&mut self, data: &[u8], ddol_data: &[u8]) -> Result<(), OdaError> {
        let icc = self
            .flow
            .icc_key
            .clone()
            .ok_or(OdaError::MissingData(Tag(0x9F46)))?;
        let bad = |_| OdaError::InvalidData {
            tag: Tag(0x9F4B),
            reason: "the INTERNAL AUTHENTICATE response is not valid BER-TLV",
        };
        let top = poskit_tlv::parse(data).map_err(bad)?;
        let sdad = match top.as_slice() {
            [t] if t.tag() == Tag(0x80) => t.value().to_vec(),
            [t] if t.tag() == Tag(0x77) => poskit_tlv::find(t.value(), Tag(0x9F4B))
                .map_err(bad)?
                .map(|s| s.value().to_vec())
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        let number = oda::verify_dda(&icc, required(Some(&sdad), 0x9F4B)?, ddol_data)?;
        self.data.set(Tag(0x9F4B), sdad);
        self.data.set(Tag(0x9F4C), number);
        Ok(())
    }

    /// CDA on a GENERATE AC response (Book 2 6.6.2); returns the cryptogram
    /// recovered from the signature.
    pub(crate) fn check_cda(&mut self, response: &[u8]) -> Result<[u8; 8], OdaError> {
        let icc = self
            .flow
            .icc_key
            .clone()
            .ok_or(OdaError::MissingData(Tag(0x9F46)))?;
        let invalid = OdaError::InvalidData {
            tag: Tag(0x77),
            reason: "a CDA answer must be a format 2 (77) GENERATE AC response",
        };
        let top = poskit_tlv::parse(response).map_err(|_| invalid.clone())?;
        let [template] = top.as_slice() else {
            return Err(invalid);
        };
        if template.tag() != Tag(0x77) {
            return Err(invalid);
        }
        let sdad = required(self.data.get(Tag(0x9F4B)), 0x9F4B)?.to_vec();
        let cid = self
            .data
            .byte(Tag(0x9F27))
            .ok_or(OdaError::MissingData(Tag(0x9F27)))?;
        let cdol_data = if self.flow.second_ac {
            [&self.flow.cdol1_data[..], &self.flow.cdol_data[..]].concat()
        } else {
            self.flow.cdol_data.clone()
        };
        let input = oda::cda_hash_input(&self.flow.pdol_data, &cdol_data, template.value())?;
        let un = self.txn.unpredictable_number;
        let cda = oda::verify_cda(&icc, &sdad, &un, cid, &input)?;
        self.data.set(Tag(0x9F4C), cda.icc_dynamic_number.clone());
        self.data.set(Tag(0x9F26), cda.cryptogram);
        Ok(cda.cryptogram)
    }

    /// fDDA on a contactless GPO answer (Book C-3 5.3).
    pub(crate) fn check_fdda(&mut self) -> Result<(), OdaError> {
        let icc = self
            .flow
            .icc_key
            .clone()
            .ok_or(OdaError::MissingData(Tag(0x9F46)))?;
        let sdad = required(self.data.get(Tag(0x9F4B)), 0x9F4B)?;
        let amount: [u8; 6] = self
            .data
            .array(Tag(0x9F02))
            .ok_or(OdaError::MissingData(Tag(0x9F02)))?;
        let currency: [u8; 2] = self
            .data
            .array(Tag(0x5F2A))
            .ok_or(OdaError::MissingData(Tag(0x5F2A)))?;
        let number = oda::verify_fdda(
            &icc,
            sdad,
            &self.txn.unpredictable_number,
            &amount,
            &currency,
            self.data.get(Tag(0x9F69)),
        )?;
        self.data.set(Tag(0x9F4C), number);
        Ok(())
    }

    /// Records a failed authentication in the TVR; the transaction goes on
    /// and terminal action analysis decides (Book 3 10.3).
    pub(crate) fn oda_failed(&mut self, error: &OdaError) {
        self.flow.oda_failed = true;
        self.tvr.set(match self.flow.oda {
            OdaMethod::Sda => TvrBit::SDA_FAILED,
            OdaMethod::Cda => TvrBit::CDA_FAILED,
            _ => TvrBit::DDA_FAILED,
        });
        if error.is_icc_data_missing() {
            self.tvr.set(TvrBit::ICC_DATA_MISSING);
        }
        self.flow.oda_error = Some(error.to_string());
    }

    /// The VERIFY data for an offline enciphered PIN (Book 2 7.1): 7F, the
    /// PIN block, the card's challenge, random padding; RSA-enciphered with
    /// the ICC PIN encipherment key, or else the ICC public key.
    pub(crate) fn enciphered_pin_block(&mut self, pin: &str, challenge: &[u8]) -> Option<Vec<u8>> {
        let (modulus, exponent) = match self.pin_encipherment_key() {
            Some(key) => key,
            None => {
                self.recover_icc_key().ok()?;
                let icc = self.flow.icc_key.as_ref()?;
                (icc.modulus.clone(), icc.exponent.clone())
            }
        };
        if modulus.len() < 17 {
            return None;
        }
        let mut block = zeroize::Zeroizing::new(vec![0x7F]);
        block.extend(plaintext_pin_block(pin));
        block.extend_from_slice(challenge);
        let mut counter = 0u32;
        while block.len() < modulus.len() {
            let seed = [&self.txn.entropy[..], &counter.to_be_bytes()].concat();
            block.extend_from_slice(&poskit_crypto::hash::sha256(&seed));
            counter += 1;
        }
        block.truncate(modulus.len());
        poskit_crypto::rsa::recover(&modulus, &exponent, &block).ok()
    }

    /// The ICC PIN encipherment public key (9F2D), when the card has one.
    fn pin_encipherment_key(&self) -> Option<(Vec<u8>, Vec<u8>)> {
        let cert = self.data.get(Tag(0x9F2D))?;
        let issuer = self.issuer_key().ok()?;
        let key = oda::recover_icc_key(
            &issuer,
            cert,
            self.data.get(Tag(0x9F2F)),
            self.data.get(Tag(0x9F2E))?,
            &[],
            self.data.get(Tag(0x5A))?,
            self.txn.date,
        )
        .ok()?;
        Some((key.modulus, key.exponent))
    }
}

/// ISO 9564 format 2, which VERIFY carries (Book 3 6.5.12).
pub(crate) fn plaintext_pin_block(pin: &str) -> Vec<u8> {
    let mut nibbles = vec![0x2, pin.len() as u8];
    nibbles.extend(pin.bytes().map(|b| b - b'0'));
    nibbles.resize(16, 0xF);
    nibbles.chunks(2).map(|p| (p[0] << 4) | p[1]).collect()
}
